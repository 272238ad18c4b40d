// Error cases that need no running capture: a cluster without the CRDs; 403 twice: the dev API
// server's own 403 (create in a terminating namespace) and, because the dev API server has no
// authorisation, a tiny express server answering an RBAC-style 403 Status to everything; an
// unreachable API server; bad flags.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';
import { makeKube } from '../../lib/kube/client.js';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/log.js';
import { kubeconfigYaml, startApiServer, type ApiServer } from '../../infra/devcluster/harness.js';
import { runCli } from './run-cli.js';
import type { SnoopyJob } from '../../lib/api/schema.js';

const quiet = createLogger('test', 'silent');
let dir: string;
let bare: ApiServer | undefined;
let withCrds: ApiServer | undefined;
let crdKubeconfig: string;
let forbidding: Server | undefined;
let bareKubeconfig: string;
let forbiddenKubeconfig: string;
let deadKubeconfig: string;
const forbiddenRequests: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'snoopy-cli-errors-'));
  bare = await startApiServer({ port: 0, logger: quiet });
  bareKubeconfig = join(dir, 'bare.kubeconfig');
  writeFileSync(bareKubeconfig, kubeconfigYaml(bare.url));

  // A second API server with the CRDs and a namespace held in Terminating by a finalizer: there
  // the dev API server itself answers a create with 403 Forbidden.
  withCrds = await startApiServer({ port: 0, logger: quiet });
  crdKubeconfig = join(dir, 'crds.kubeconfig');
  writeFileSync(crdKubeconfig, kubeconfigYaml(withCrds.url));
  const kc = new KubeConfig();
  kc.loadFromFile(crdKubeconfig);
  const kube = makeKube(kc);
  for (const file of ['job.fennecproject.io_snoopyjobs.yaml', 'data.fennecproject.io_snoopydataendpoints.yaml']) {
    await kube.custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: parse(readFileSync(repoPath('infra', 'crds', file), 'utf8')) });
  }
  await kube.core.createNamespace({ body: { metadata: { name: 'doomed', finalizers: ['example.com/hold'] } } });
  await kube.core.deleteNamespace({ name: 'doomed' });

  const app = express();
  app.use((req, res) => {
    forbiddenRequests.push(`${req.method} ${req.path}`);
    res.status(403).json({
      kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403,
      message: `snoopyjobs.job.fennecproject.io is forbidden: User "alice" cannot list resource "snoopyjobs" in API group "job.fennecproject.io" in the namespace "snoopy-operator"`,
    });
  });
  forbidding = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (forbidding.address() as { port: number }).port;
  forbiddenKubeconfig = join(dir, 'forbidden.kubeconfig');
  writeFileSync(forbiddenKubeconfig, kubeconfigYaml(`http://127.0.0.1:${port}`));

  // a port that was just free: nothing listens there
  const probe = await new Promise<Server>((resolve) => {
    const s = express().listen(0, '127.0.0.1', () => resolve(s));
  });
  const deadPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  deadKubeconfig = join(dir, 'dead.kubeconfig');
  writeFileSync(deadKubeconfig, kubeconfigYaml(`http://127.0.0.1:${deadPort}`));
});

afterAll(async () => {
  await bare?.stop();
  await withCrds?.stop();
  if (forbidding) {
    forbidding.closeAllConnections();
    await new Promise<void>((r) => forbidding!.close(() => r()));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl-snoopy errors', () => {
  test('a cluster without the SnoopyJob CRD: one line naming the missing CRD, for every command', async () => {
    for (const args of [['list'], ['status', 'x'], ['capture', '-n', 'default', '-l', 'app=x', '--collector', 'c:1'], ['download', 'x']]) {
      const r = await runCli([...args, '--kubeconfig', bareKubeconfig]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('error: the SnoopyJob CRD (snoopyjobs.job.fennecproject.io) is not installed in this cluster: install Snoopy first\n');
      expect(r.stdout).toBe('');
    }
  });

  test('403 from the API server: "permission denied" with the server\'s reason', async () => {
    forbiddenRequests.length = 0;
    const r = await runCli(['list', '--kubeconfig', forbiddenKubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: permission denied looking up the SnoopyJob API: snoopyjobs\.job\.fennecproject\.io is forbidden: User "alice" cannot list/);
    expect(forbiddenRequests.length).toBeGreaterThan(0);
  });

  test('403 from the dev API server itself: creating in a terminating namespace', async () => {
    // --schedule skips the matching-pods check (no pod can be created in that namespace)
    const r = await runCli(['capture', '--job-namespace', 'doomed', '-n', 'doomed', '-l', 'app=x', '--collector', 'c:1', '--schedule', '*/5 * * * *', '--name', 'late', '--kubeconfig', crdKubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: permission denied creating SnoopyJob doomed/late: snoopyjobs.job.fennecproject.io is forbidden: unable to create new content in namespace doomed because it is being terminated\n');
  });

  test('an unreachable API server', async () => {
    const r = await runCli(['status', 'x', '--kubeconfig', deadKubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot reach the Kubernetes API server .*\(ECONNREFUSED\)/);
  });

  test('a context that is not in the kubeconfig', async () => {
    const r = await runCli(['list', '--kubeconfig', bareKubeconfig, '--context', 'prod']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: context "prod" is not in the kubeconfig\n');
  });

  test('bad input: one line, exit status 1 or 2, nothing created', async () => {
    const cases: [string[], RegExp, number][] = [
      [['capture', '-l', 'app=x', '--collector', 'c:1', '--dry-run', '--', 'bash', '-c', 'id'], /never allowed/, 1],
      [['capture', '-l', 'app=x', '--collector', 'c:1', '--dry-run', '--timer', '5x'], /spec\.timer/, 1],
      [['capture', '-l', 'app in (x)', '--collector', 'c:1', '--dry-run'], /only key=value pairs/, 1],
      [['capture', '-l', 'app=x', '--endpoint', 'a', '--collector', 'c:1', '--dry-run'], /set one of --endpoint and --collector, not both/, 1],
      [['logs', 'x', '-o', 'yaml'], /^error: -o yaml: logs prints readable lines, or JSON lines with -o json\n$/, 2],
      [['completion', 'fish'], /^error: no completion for "fish": use bash or zsh\n$/, 2],
      [['help', 'frobnicate'], /^error: no help for "frobnicate": it is not a command \(capture, list, status, logs, delete, download, summary, evidence, completion\)\n$/, 2],
      [['capture', '-l', 'app=x', '--collector', 'c:1', '--filter', 'port 53', '--dry-run', '--', 'ping', '10.0.0.1'], /--filter is a tcpdump capture filter/, 1],
      [['capture', '-l', 'app=x', '--collector', 'c:1', '--max-bytes=-3', '--dry-run'], /--max-bytes/, 1],
      [['capture', '--bogus'], /Unknown option '--bogus'/, 2],
      [['status'], /expected one SnoopyJob NAME/, 2],
      [['frobnicate'], /unknown command "frobnicate"/, 2],
    ];
    for (const [args, pattern, code] of cases) {
      const r = await runCli([...args, '--kubeconfig', deadKubeconfig]);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });

  test('--dry-run with no endpoint and no cluster to ask: the default endpoint name', async () => {
    const r = await runCli(['capture', '-n', 'shop', '-l', 'app=web', '--dry-run', '-o', 'json', '--kubeconfig', deadKubeconfig]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as SnoopyJob).spec.dataEndpointRef).toEqual({ name: 'snoopydataendpoint-sample' });
  });

  test('each command has its own help with examples; the global help lists the commands', async () => {
    for (const [args, first] of [[['capture', '--help'], 'Start a capture on the pods a label selector picks.'], [['help', 'download'], "Fetch a capture's pcaps (and evidence) from storage, checked."], [['logs', '-h'], "The capture pods' logs."]] as const) {
      const r = await runCli([...args]);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(first);
      expect(r.stdout).toContain('\nExamples:\n  # ');
    }
    const global = await runCli(['--help']);
    expect(global.stdout).toMatch(/^Commands:\n {2}capture +start a capture/m);
    expect(global.stdout).toContain('kubectl snoopy COMMAND --help');
  });

  test('--dry-run prints the YAML the operator would accept', async () => {
    const r = await runCli(['capture', '-n', 'shop', '-l', 'app=web,tier=front', '--filter', 'port 53', '--timer', '2m', '--endpoint', 'ep', '--name', 'dns', '--max-bytes', '1000', '--dry-run', '--kubeconfig', deadKubeconfig]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kind: SnoopyJob');
    expect(r.stdout).toContain('name: dns');
    expect(r.stdout).toContain('args: -i any -U -w - port 53');
    expect(r.stdout).toContain('targetNamespace: shop');
    expect(r.stdout).toContain('maxBytes: 1000');
  });

  test('--help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kubectl snoopy capture');
  });
});
