// `podtracer node` for real: target pods read from a Kubernetes API (the dev cluster's API
// server), each pod's "container" a process in a network namespace of its own placed in a cgroup
// named after its container ID, real tcpdump in each, the real collector (checking every
// target's own token) and S3 server over loopback. Each target gets a distinct ping pattern (its
// own count and size), so its stored pcap must hold exactly its own traffic.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { startCollectorChild, type CollectorChild } from '../../functions/collector/child.js';
import { startApiServerWithKubeconfig, writeVolumeAtomically, type ApiServerWithKubeconfig, type VolumeFile } from '../../infra/devcluster/harness.js';
import { startS3Server, type S3ServerChild } from '../../infra/s3/child.js';
import { ASSIGNMENT_KEY, NODE_TOKEN_KEY, parseNodeManifest, parseNodeReport, renderAssignment, type AssignedTarget } from '../../lib/contracts/node-capture.js';
import { nodeManifestKey } from '../../lib/storage-keys.js';
import { quiet } from '../../lib/testing/quiet-logger.js';
import { signToken } from '../../lib/token.js';
import { ContainerCgroups, TargetNetns, countPackets, run, runningContainerStatus, startPodtracer, suffix, waitFor, type PodtracerProcess } from './helpers.js';

const BUCKET = 'captures';
const TOKEN_KEY = 'node-test-token-key';
const JOB = { namespace: 'snoopy-operator', name: 'web-job' };

/** One target pod: its namespace pair, UID, container ID, and the ping pattern it gets. */
interface Pod {
  name: string;
  net: TargetNetns;
  uid: string;
  containerId: string;
  pings: number;
  size: number;
}

let work: string;
let api: ApiServerWithKubeconfig;
let s3: S3ServerChild;
let s3client: S3Client;
let collector: CollectorChild;
const cgroups = new ContainerCgroups();
const pods: Pod[] = [];

/** The pod's interface is eth0, as in a real pod: one tool command line serves every target. */
async function renameToEth0(net: TargetNetns): Promise<void> {
  await run('ip', ['-n', net.a, 'link', 'set', net.vethA, 'down']);
  await run('ip', ['-n', net.a, 'link', 'set', net.vethA, 'name', 'eth0']);
  await run('ip', ['-n', net.a, 'link', 'set', 'eth0', 'up']);
}

async function makePod(i: number): Promise<Pod> {
  const net = new TargetNetns(`nd${i}`);
  await net.create();
  await renameToEth0(net);
  const name = `web-${i}`;
  const containerId = randomBytes(32).toString('hex');
  const core = api.kc.makeApiClient(CoreV1Api);
  const created = await core.createNamespacedPod({ namespace: 'shop', body: { metadata: { name, namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } } });
  await core.replaceNamespacedPodStatus({ name, namespace: 'shop', body: { ...created, status: { phase: 'Running', containerStatuses: [runningContainerStatus('app', containerId)] } } });
  // the assignment carries the pod's UID, which the child checks against the API (target-gone)
  const pod: Pod = { name, net, uid: created.metadata!.uid!, containerId, pings: 4 + 3 * i, size: 100 + 100 * i };
  cgroups.place(pod.uid, pod.containerId, net.targetPid);
  return pod;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'podtracer-node-'));
  api = await startApiServerWithKubeconfig('podtracer-node-api-', quiet);
  await api.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'shop' } } });
  for (let i = 0; i < 4; i++) pods.push(await makePod(i));
  s3 = await startS3Server({ dir: join(work, 's3'), buckets: [BUCKET] });
  s3client = s3.client();
  collector = await startCollectorChild({ ...s3.env(BUCKET), SNOOPY_TOKEN_KEY: TOKEN_KEY });
}, 60_000);

afterAll(async () => {
  collector?.child.kill('SIGKILL');
  await s3?.kill();
  for (const p of pods) await p.net.destroy();
  await cgroups.remove();
  await api?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const assigned = (p: Pod): AssignedTarget => ({ namespace: 'shop', pod: p.name, uid: p.uid, container: 'app', tokenKey: `token-${p.name}` });

/** Writes the assignment the way a kubelet updates a mounted Secret (a `..data` symlink swapped in). */
async function writeAssignment(dir: string, cid: string, members: Pod[]): Promise<void> {
  const files: VolumeFile[] = [{ path: ASSIGNMENT_KEY, data: Buffer.from(renderAssignment({ node: 'node-a', targets: members.map(assigned) })), mode: 0o644 }];
  for (const p of members) {
    const token = signToken(TOKEN_KEY, { cid, ns: 'shop', pod: p.name, exp: Math.floor(Date.now() / 1000) + 3600, job: `${JOB.namespace}/${JOB.name}` });
    files.push({ path: `token-${p.name}`, data: Buffer.from(token), mode: 0o644 });
  }
  const nodeToken = signToken(TOKEN_KEY, { cid, job: `${JOB.namespace}/${JOB.name}`, node: 'node-a', exp: Math.floor(Date.now() / 1000) + 3600 });
  files.push({ path: NODE_TOKEN_KEY, data: Buffer.from(nodeToken), mode: 0o644 });
  writeVolumeAtomically(dir, files);
}

const started: PodtracerProcess[] = [];

/** A test that failed midway leaves its node running: stop it, its children and their tools. */
afterEach(async () => {
  for (const node of started.splice(0)) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
    node.child.kill('SIGTERM');
    node.child.kill('SIGTERM');
    await Promise.race([node.result, new Promise((r) => setTimeout(r, 20_000))]);
    for (const r of logLines(node, 'target capture started')) {
      try {
        process.kill(r.pid as number, 'SIGKILL');
      } catch {
        // ended
      }
    }
    node.child.kill('SIGKILL');
    await node.result;
  }
});

/** Starts `podtracer node` with a temporary directory of its own (work/tmp-<cid>), to see it cleaned up. */
function startNode(dir: string, cid: string, extra: string[], terminationLog: string): PodtracerProcess {
  mkdirSync(join(work, `tmp-${cid}`));
  const node = startPodtracer(
    [
      'node', '--assignment-dir', dir, '--collector', collector.address, '--capture-id', cid, '--job', JOB.name, '--job-namespace', JOB.namespace,
      '--proc-root', '/proc', '--target-poll', '200ms', '--upload-grace', '30s', ...extra, '--', 'tcpdump', '-i', 'eth0', '-U', '-n', '-w', '-', 'icmp',
    ],
    { env: { KUBECONFIG: api.kubeconfigPath, NODE_NAME: 'node-a', TMPDIR: join(work, `tmp-${cid}`) }, terminationLog },
  );
  started.push(node);
  return node;
}

/** The node's log lines of one kind, parsed. */
function logLines(p: PodtracerProcess, msg: string): Array<Record<string, unknown>> {
  return p
    .stderr()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const listening = (p: PodtracerProcess, pod: Pod) => logLines(p, 'tool stderr').some((r) => r.target === `shop/${pod.name}` && String(r.stderr).includes('listening on'));

/** Waits for what the node's log shows; a timeout says what the node logged. */
function until(p: PodtracerProcess, fn: () => boolean, what: string): Promise<unknown> {
  return waitFor(fn, what, 30_000).catch((err: Error) => {
    throw new Error(`${err.message}; podtracer node logged:\n${p.stderr()}`);
  });
}

async function keysOf(cid: string, pod: Pod): Promise<string[]> {
  const res = await s3client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${JOB.namespace}/${JOB.name}/${cid}/shop/${pod.name}/` }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

/** Echo requests in a target's stored pcaps: all of them, and those of the given ping size. */
async function echoRequests(cid: string, pod: Pod, size: number): Promise<{ all: number; sized: number; keys: string[] }> {
  const keys = await keysOf(cid, pod);
  let all = 0;
  let sized = 0;
  for (const key of keys) {
    const res = await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const file = join(work, key.replace(/\//g, '_'));
    await writeFile(file, Buffer.from(await res.Body!.transformToByteArray()));
    all += await countPackets(file, 'icmp[icmptype] == icmp-echo');
    // IP total length: the ping payload, 8 bytes of ICMP header, 20 of IP
    sized += await countPackets(file, `icmp[icmptype] == icmp-echo and ip[2:2] == ${size + 28}`);
  }
  return { all, sized, keys };
}

/** PIDs of the processes in a network namespace (`ip netns pids`) whose command is `comm`. */
async function processesIn(ns: string, comm: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]);
  const out: number[] = [];
  for (const pid of stdout.split('\n').filter((l) => l.trim() !== '').map(Number)) {
    try {
      if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() === comm) out.push(pid);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

describe('podtracer node', () => {
  test('3 targets, one joining mid-run, one tool killed, then SIGTERM: each stores exactly its own traffic, only the killed one fails', async () => {
    const cid = `node-${suffix()}`;
    const dir = join(work, `assign-${cid}`);
    const term = join(work, `${cid}.report`);
    const [p0, p1, p2, joiner] = pods as [Pod, Pod, Pod, Pod];
    await writeAssignment(dir, cid, [p0, p1, p2]);
    const node = startNode(dir, cid, ['--timer', '10m'], term);
    for (const p of [p0, p1, p2]) await until(node, () => listening(node, p), `${p.name}'s tcpdump`);

    // a pod joins: the operator rewrites the assignment Secret and the kubelet swaps it in
    await writeAssignment(dir, cid, [p0, p1, p2, joiner]);
    await until(node, () => listening(node, joiner), `the joining ${joiner.name}'s tcpdump`);

    for (const p of [p1, p2, joiner]) await p.net.ping(p.pings, '0.02', p.size);
    await new Promise((r) => setTimeout(r, 2500)); // tcpdump hands over its last ring block within its 1 s timeout

    // p1's tool dies: only p1 fails, and p0 still captures afterwards
    const [tool] = await processesIn(p1.net.a, 'tcpdump');
    expect(tool).toBeDefined();
    process.kill(tool!, 'SIGKILL');
    await until(node, () => logLines(node, 'target capture ended').some((r) => r.target === `shop/${p1.name}`), `${p1.name}'s capture to end`);
    await p0.net.ping(p0.pings, '0.02', p0.size);
    await new Promise((r) => setTimeout(r, 2500));

    const childPids = logLines(node, 'target capture started').map((r) => r.pid as number);
    expect(childPids).toHaveLength(4);
    node.child.kill('SIGTERM');
    const r = await node.result;
    expect(r.code).toBe(0);

    // the termination message: the rollup and every target
    const report = parseNodeReport(await readFile(term, 'utf8'))!;
    expect(report.node).toBe('node-a');
    expect(report.truncated).toBeUndefined();
    const byPod = new Map(report.targets.map((t) => [t.pod, t]));
    expect(report.targets).toHaveLength(4);
    expect(byPod.get(p1.name)).toMatchObject({ state: 'Failed', stopReason: 'tool-exit' });
    expect(byPod.get(p1.name)!.message).toBeTruthy();
    for (const p of [p0, p2, joiner]) expect(byPod.get(p.name)).toMatchObject({ state: 'Succeeded', stopReason: 'signal', packetsDroppedByKernel: 0 });
    expect(report.targets[0]!.pod).toBe(p1.name); // failures first
    const bytes = report.targets.reduce((n, t) => n + (t.bytes ?? 0), 0);
    expect(bytes).toBeGreaterThan(0);
    expect(report.rollup).toEqual({ Running: 0, Succeeded: 3, Failed: 1, bytes });

    // the node manifest, stored through the collector with the node's token: every target whole
    const manifestKey = nodeManifestKey({ snoopyJobNamespace: JOB.namespace, snoopyJob: JOB.name, captureId: cid, node: 'node-a' });
    const stored = await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
    const manifest = parseNodeManifest(await stored.Body!.transformToString());
    expect(manifest).toMatchObject({ node: 'node-a', captureId: cid, job: JOB });
    expect(manifest.targets.map((t) => t.pod).sort()).toEqual(pods.map((p) => p.name));
    const inManifest = new Map(manifest.targets.map((t) => [t.pod, t]));

    // each target's objects hold exactly its own pings (its count, all of its size)
    for (const p of [p0, p1, p2, joiner]) {
      const got = await echoRequests(cid, p, p.size);
      expect({ pod: p.name, all: got.all, sized: got.sized }).toEqual({ pod: p.name, all: p.pings, sized: p.pings });
      expect(byPod.get(p.name)!.segments).toBe(got.keys.length);
      const m = inManifest.get(p.name)!;
      expect(m).toMatchObject({ ...byPod.get(p.name), uid: p.uid, container: 'app', objects: got.keys });
      expect(Date.parse(m.completionTime!)).toBeGreaterThan(Date.parse(m.startTime!));
    }

    // nothing is left: no child, no tool in any target's namespace, no spool
    for (const pid of childPids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    for (const p of pods) expect(await processesIn(p.net.a, 'tcpdump')).toEqual([]);
    expect(readdirSync(join(work, `tmp-${cid}`))).toEqual([]);
  }, 180_000);

  test('the timer is the node run\'s: a target that joins later gets what is left, and the run ends on its own', async () => {
    const cid = `timer-${suffix()}`;
    const dir = join(work, `assign-${cid}`);
    const term = join(work, `${cid}.report`);
    const [p0, p1] = pods as [Pod, Pod];
    await writeAssignment(dir, cid, [p0]);
    const node = startNode(dir, cid, ['--timer', '8s'], term);
    await until(node, () => listening(node, p0), `${p0.name}'s tcpdump`);
    await writeAssignment(dir, cid, [p0, p1]);
    const r = await node.result;
    expect(r.code).toBe(0);
    const started = logLines(node, 'target capture started');
    const timers = new Map(started.map((s) => [s.target, s.timerMs as number]));
    expect(timers.get(`shop/${p0.name}`)).toBeLessThanOrEqual(8000);
    expect(timers.get(`shop/${p1.name}`)).toBeLessThan(timers.get(`shop/${p0.name}`)!);
    const report = parseNodeReport(await readFile(term, 'utf8'))!;
    expect(report.rollup).toMatchObject({ Succeeded: 2, Failed: 0 });
    for (const t of report.targets) expect(t.stopReason).toBe('timer');
  }, 120_000);

  test('an unreadable assignment is the agent\'s failure: exit 2, the reason in the termination log', async () => {
    const dir = join(work, 'assign-bad');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, ASSIGNMENT_KEY), JSON.stringify({ node: 'node-a', targets: [{ namespace: 'shop', pod: 'x' }] }));
    const term = join(work, 'bad.report');
    const r = await startNode(dir, 'bad', [], term).result;
    expect(r.code).toBe(2);
    expect(JSON.parse(await readFile(term, 'utf8'))).toEqual({ error: 'assignment.targets[0].uid must be a non-empty string', exitCode: 2 });
  });
});
