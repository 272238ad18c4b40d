// status and download over a per-node run whose status lists only its first targets: 1,000
// targets on 10 nodes, each target's segment and each node's manifest stored through the real
// collector (a child process over loopback, tokens required) into the embedded S3 server; the
// SnoopyJob, with the bounded status the operator writes, in the dev API server. The CLI runs as a
// child process, as a user runs it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../lib/collector-client.js';
import type { NodeManifest, NodeManifestTarget } from '../../lib/contracts/node-capture.js';
import { storeNodeManifest } from '../../lib/node-manifest-client.js';
import { createObject, makeKube, patchStatus, SNOOPYJOBS } from '../../lib/kube/client.js';
import type { SnoopyJob, TargetStatus } from '../../lib/api/schema.js';
import { LinkType, PcapWriter } from '../../lib/pcap/index.js';
import { repoPath } from '../../lib/repo-root.js';
import { signToken } from '../../lib/token.js';
import { quiet } from '../../lib/testing/quiet-logger.js';
import { kubeconfigYaml, startApiServer, type ApiServer } from '../../infra/devcluster/harness.js';
import { startS3Server, type S3ServerChild } from '../../infra/s3/child.js';
import { startCollectorChild, type CollectorChild } from '../../functions/collector/child.js';
import { cleanEnv, runCli } from './run-cli.js';

const NS = 'snoopy-operator';
const BUCKET = 'snoopy';
const PREFIX = 'captures';
const TOKEN_KEY = 'cli-manifest-test-key';
const CID = 'fleet-run-1';
const NODES = 10;
const PER_NODE = 100;
const LISTED = 100;
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

interface Target {
  node: string;
  pod: string;
  failed: boolean;
}
const nodeName = (n: number) => `worker-${n}`;
const targets: Target[] = [];
for (let n = 0; n < NODES; n++) {
  for (let i = 0; i < PER_NODE; i++) targets.push({ node: nodeName(n), pod: `web-${String(n * PER_NODE + i).padStart(4, '0')}`, failed: i % 25 === 7 });
}

/** One packet whose bytes name the target, so each downloaded file is shown to be its own. */
function segmentOf(t: Target): Buffer {
  const w = new PcapWriter({ linkType: LinkType.ETHERNET });
  return Buffer.concat([w.header(), w.record({ timestampNs: 1_700_000_000_000_000_000n, data: Buffer.from(`packet of shop/${t.pod} on ${t.node}`.padEnd(64, '.')) })]);
}

describe('kubectl snoopy status/download read the run manifest when the status lists only the first targets', () => {
  let dir: string;
  let api: ApiServer;
  let s3: S3ServerChild;
  let s3client: S3Client;
  let collector: CollectorChild;
  let kubeconfig: string;
  let env: NodeJS.ProcessEnv;
  const stored = new Map<string, string>(); // pod → its segment's key
  const manifests = new Map<string, NodeManifest>();

  async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-cli-manifest-'));
    api = await startApiServer({ port: 0, logger: quiet });
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(api.url));
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const kube = makeKube(kc);
    await kube.custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: parse(readFileSync(repoPath('infra', 'crds', 'job.fennecproject.io_snoopyjobs.yaml'), 'utf8')) });
    await kube.core.createNamespace({ body: { metadata: { name: NS } } });

    s3 = await startS3Server({ dir: join(dir, 's3'), buckets: [BUCKET] });
    s3client = s3.client();
    collector = await startCollectorChild({ ...s3.env(BUCKET), S3_PREFIX: PREFIX, SNOOPY_TOKEN_KEY: TOKEN_KEY });
    env = cleanEnv({ ...s3.env(BUCKET), S3_PREFIX: PREFIX });

    // every target's segment, each with its own capture token, as its podtracer sends it
    const client: CollectorClient = createCollectorClient(collector.address);
    try {
      await pool(targets.filter((t) => !t.failed), 16, async (t) => {
        const token = signToken(TOKEN_KEY, { cid: CID, ns: 'shop', pod: t.pod, exp: inAnHour(), job: `${NS}/fleet` });
        const reply = await uploadSegment(client, { captureId: CID, snoopyJob: 'fleet', snoopyJobNamespace: NS, pod: t.pod, podNamespace: 'shop', node: t.node, format: 'FORMAT_PCAP', sequence: 0, last: false, token }, segmentOf(t));
        stored.set(t.pod, reply.key);
      });
    } finally {
      client.close();
    }
    // every node's manifest, with the node's own token, as its capture pod stores it at the end
    for (let n = 0; n < NODES; n++) {
      const node = nodeName(n);
      const manifest: NodeManifest = {
        node,
        captureId: CID,
        job: { namespace: NS, name: 'fleet' },
        targets: targets
          .filter((t) => t.node === node)
          .map((t): NodeManifestTarget => (t.failed
            ? { namespace: 'shop', pod: t.pod, uid: `uid-${t.pod}`, container: 'app', state: 'Failed', message: 'tcpdump: The interface disappeared', toolExitCode: 1, objects: [] }
            : { namespace: 'shop', pod: t.pod, uid: `uid-${t.pod}`, container: 'app', state: 'Succeeded', stopReason: 'timer', bytes: segmentOf(t).length, segments: 1, objects: [stored.get(t.pod)!] })),
      };
      await storeNodeManifest(collector.address, signToken(TOKEN_KEY, { cid: CID, job: `${NS}/fleet`, node, exp: inAnHour() }), manifest);
      manifests.set(node, manifest);
    }

    // the bounded status: rollups aside, the first LISTED targets, failed ones first
    const asStatus = (t: Target): TargetStatus => {
      const m = manifests.get(t.node)!.targets.find((x) => x.pod === t.pod)!;
      return { namespace: 'shop', pod: t.pod, node: t.node, job: `fleet-${t.node}`, state: m.state, captureId: CID, objects: m.objects, ...(m.bytes !== undefined ? { bytes: m.bytes, segments: 1 } : { message: m.message! }) };
    };
    const listed = [...targets.filter((t) => t.failed), ...targets.filter((t) => !t.failed)].slice(0, LISTED).map(asStatus);
    const spec = { command: 'tcpdump', args: '-i any -U -w -', labelSelector: { app: 'web' }, targetNamespace: 'shop', timer: '1m' };
    await createObject(kube, SNOOPYJOBS, NS, { apiVersion: 'job.fennecproject.io/v1alpha1', kind: 'SnoopyJob', metadata: { name: 'fleet', namespace: NS }, spec } as never);
    await patchStatus(kube, SNOOPYJOBS, NS, 'fleet', { phase: 'Completed', captureId: CID, targetCount: targets.length, targets: listed });
    // a small run whose status lists every target: read as before, storage untouched
    await createObject(kube, SNOOPYJOBS, NS, { apiVersion: 'job.fennecproject.io/v1alpha1', kind: 'SnoopyJob', metadata: { name: 'small', namespace: NS }, spec } as never);
    await patchStatus(kube, SNOOPYJOBS, NS, 'small', { phase: 'Completed', captureId: 'small-1', targetCount: 2, targets: listed.slice(0, 2) });
  }, 240_000);

  afterAll(async () => {
    if (collector) {
      collector.child.kill('SIGTERM');
      await collector.exited;
    }
    s3client?.destroy();
    await s3?.stop();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const podRows = (out: string) => out.split('\n').filter((l) => /^shop\/web-\d{4}\s/.test(l));

  test('status: every target from the run manifest, and per-node rollups', async () => {
    const r = await runCli(['status', 'fleet', '--kubeconfig', kubeconfig], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Target count: 1000 (the status lists ${LISTED}; run manifest: 10 nodes)`);
    for (let n = 0; n < NODES; n++) expect(r.stdout).toMatch(new RegExp(`^worker-${n}\\s+100\\s+96 Succeeded, 4 Failed\\s+\\S+ KiB\\s+manifest$`, 'm'));
    const rows = podRows(r.stdout);
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((l) => l.split(/\s+/)[0])).size).toBe(1000);
    expect(rows.filter((l) => /\sFailed\s/.test(l))).toHaveLength(40);
    // the node's capture Job, which only the status names, carried over to the targets it does not list
    const wide = await runCli(['status', 'fleet', '-o', 'wide', '--kubeconfig', kubeconfig], env);
    expect(podRows(wide.stdout).filter((l) => /\sfleet-worker-9\s/.test(l))).toHaveLength(100);
    // -o json is the SnoopyJob as the API has it
    const json = JSON.parse((await runCli(['status', 'fleet', '-o', 'json', '--kubeconfig', kubeconfig], env)).stdout) as SnoopyJob;
    expect(json.status?.targets).toHaveLength(LISTED);
  }, 120_000);

  test('status: a node whose manifest is not stored yet shows the targets the status lists for it', async () => {
    const key = `${PREFIX}/${NS}/fleet/${CID}/_nodes/worker-0.json`;
    const body = await (await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();
    await s3client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    try {
      const r = await runCli(['status', 'fleet', '--kubeconfig', kubeconfig], env);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('run manifest: 9 nodes)');
      // the first 100 listed: the 40 failed ones (4 on worker-0), then worker-0's first 60 others
      expect(r.stdout).toMatch(/^worker-0\s+64\s+60 Succeeded, 4 Failed\s+.*status \(partial\)$/m);
      expect(podRows(r.stdout)).toHaveLength(900 + 64);
    } finally {
      // back as the collector stored it, its sha256 tag and all
      await s3client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, Tagging: `sha256=${createHash('sha256').update(body).digest('hex')}` }));
    }
  }, 120_000);

  test('status: storage out of reach still prints the status, saying why the manifest is missing', async () => {
    const r = await runCli(['status', 'fleet', '--s3-endpoint', 'http://127.0.0.1:1', '--kubeconfig', kubeconfig], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Target count: 1000 \(the status lists 100; run manifest not read: cannot reach storage at http:\/\/127\.0\.0\.1:1 bucket snoopy \(ECONNREFUSED\)/m);
    expect(podRows(r.stdout)).toHaveLength(LISTED);
  }, 60_000);

  test('a status that lists every target is shown as before, without reading storage', async () => {
    const r = await runCli(['status', 'small', '--s3-endpoint', 'http://127.0.0.1:1', '--kubeconfig', kubeconfig], env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('run manifest');
    expect(r.stdout).not.toMatch(/^NODE\s/m);
    expect(podRows(r.stdout)).toHaveLength(2);
  }, 60_000);

  test('download: every target of the manifest, each file its own packet, all verified', async () => {
    const out = join(dir, 'dl');
    const r = await runCli(['download', 'fleet', '-o', out, '--kubeconfig', kubeconfig], env, 300_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = readdirSync(join(out, CID)).sort();
    const captured = targets.filter((t) => !t.failed);
    expect(files).toEqual(captured.map((t) => `shop_${t.pod}.pcap`).sort());
    for (const t of [captured[0]!, captured[500]!, captured[captured.length - 1]!]) {
      expect(readFileSync(join(out, CID, `shop_${t.pod}.pcap`))).toEqual(segmentOf(t));
    }
    expect(readFileSync(join(out, 'SHA256SUMS'), 'utf8').trim().split('\n')).toHaveLength(captured.length);
  }, 300_000);

  test('download: an object the run manifest lists but storage lacks fails the download, naming it', async () => {
    // a target beyond the first 100: only the manifest knows its object
    const t = targets.filter((x) => !x.failed)[900]!;
    const key = stored.get(t.pod)!;
    await s3client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const r = await runCli(['download', 'fleet', '-o', join(dir, 'dl-missing'), '--kubeconfig', kubeconfig], env, 300_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: 1 objects listed in the run manifest are not in storage (${s3.env(BUCKET).S3_ENDPOINT} bucket ${BUCKET}), e.g. ${key}\n`);
  }, 300_000);
});
