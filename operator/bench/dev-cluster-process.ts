// What the operator benchmarks share: the dev cluster as its own process (so its CPU is apart from
// the operator's and the benchmark's) with Snoopy's CRDs installed, and waiting for an operator
// process to lead.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { makeKube, type Kube } from '../../lib/kube/client.js';
import { repoPath } from '../../lib/repo-root.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DevClusterProcess {
  server: ChildProcess;
  stateDir: string;
  kubeconfigPath: string;
  kc: KubeConfig;
  kube: Kube;
  /** SIGTERM, wait for the exit, remove the state directory */
  stop(): Promise<void>;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
    });
    child.once('exit', (code) => reject(new Error(`dev cluster exited with ${code}`)));
  });
}

/** `snoopy-devcluster up <upArgs>` in a new state directory; `nodeArgs` go to node itself. */
export async function startDevClusterProcess(prefix: string, upArgs: string[], nodeArgs: string[] = []): Promise<DevClusterProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), prefix));
  const devcluster = fileURLToPath(new URL('../../infra/devcluster/main.js', import.meta.url));
  const server = spawn(process.execPath, [...nodeArgs, devcluster, 'up', ...upArgs, '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  const stop = async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const kubeconfigPath = await firstLine(server);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const kube = makeKube(kc);
    for (const file of ['job.fennecproject.io_snoopyjobs.yaml', 'data.fennecproject.io_snoopydataendpoints.yaml']) {
      await kube.custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: parse(readFileSync(repoPath('infra', 'crds', file), 'utf8')) });
    }
    return { server, stateDir, kubeconfigPath, kc, kube, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Resolves once the operator's leader Lease in `namespace` names `identity`; throws after 30 s. */
export async function waitForLeader(kube: Kube, namespace: string, identity: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const lease = await kube.custom.getNamespacedCustomObject({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace, name: 'snoopy-operator-leader' }).catch(() => undefined);
    if ((lease as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity === identity) return;
    await sleep(100);
  }
  throw new Error(`${identity} did not take the leader Lease in ${namespace} within 30 s`);
}
