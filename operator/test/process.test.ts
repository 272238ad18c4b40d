// The real executable as child processes against the dev cluster's API server: restart in the
// middle of a run, and two replicas electing a leader on a Lease (per-target capture Jobs).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LEASES, SNOOPYJOBS, getObject } from '../../lib/kube/client.js';
import type { SnoopyJob } from '../../lib/api/schema.js';
import { Labels } from '../../lib/api/names.js';
import { SEED_SPEC, createRunningPod, createSnoopyJob, finishJob, listJobs, startTestCluster, waitFor, type TestCluster } from './helpers.js';
import { startRecordingSink } from '../../lib/testing/event-sink-server.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const LEASE_SECONDS = 4;

interface Replica {
  name: string;
  child: ChildProcess;
  port: Promise<number>;
  exited: Promise<number | null>;
  stderr: string[];
}

let cluster: TestCluster;
let sink: Awaited<ReturnType<typeof startRecordingSink>>;
const replicas: Replica[] = [];

function startReplica(name: string): Replica {
  const child = spawn(process.execPath, [MAIN, '--metrics-port', '0'], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: cluster.kubeconfigPath,
      POD_NAME: name,
      K_SINK: sink.url,
      LOG_LEVEL: 'info',
      SNOOPY_LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
      SNOOPY_RENEW_DEADLINE_SECONDS: '3',
      SNOOPY_RETRY_PERIOD_SECONDS: '1',
      SNOOPY_RESYNC_SECONDS: '5',
      // restart and hand-over counted in capture Jobs, one per target pod: the per-target design
      // (per-node joins and restarts: node-capture.test.ts)
      SNOOPY_CAPTURE_PODS: 'per-target',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      stderr.push(line);
      try {
        const rec = JSON.parse(line) as { metricsPort?: number };
        if (rec.metricsPort) resolvePort(rec.metricsPort);
      } catch {
        // not JSON: keep it for the failure message
      }
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const replica = { name, child, port, exited, stderr };
  replicas.push(replica);
  return replica;
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await getObject<{ apiVersion: string; kind: string; spec: { holderIdentity?: string | null } }>(cluster.kube, LEASES, 'snoopy-operator', 'snoopy-operator-leader');
  return lease?.spec.holderIdentity ?? undefined;
}

async function readyz(r: Replica): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${await r.port}/readyz`);
  return `${res.status} ${await res.text()}`;
}

beforeAll(async () => {
  cluster = await startTestCluster(['snoopy-operator', 'cnf-telco']);
  sink = await startRecordingSink();
});

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await Promise.all(replicas.map((r) => r.exited));
  await sink?.close();
  await cluster?.stop();
});

describe('snoopy-operator processes', () => {
  test('--help and bad flags', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH } });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('exit', (code) => resolve({ code, out, err }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: snoopy-operator');
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toContain('--bogus');
  });

  test('restart mid-run: no duplicate Jobs, pods added meanwhile are captured, status converges, one job.started', async () => {
    const { kube } = cluster;
    const labels = { networkMonitor: 'true' };
    for (const [i, node] of [[1, 'node-a'], [2, 'node-b'], [3, 'node-c']] as const) await createRunningPod(kube, 'cnf-telco', `cnf-example-pod-${i}`, labels, node);
    const first = startReplica('replica-first');
    await waitFor('first replica leads', async () => (await leaseHolder()) === 'replica-first', 30_000);
    await createSnoopyJob(kube, 'snoopy-operator', 'snoopy-samplejob', SEED_SPEC);
    const uid = (await waitFor('sj', () => getObject<SnoopyJob>(kube, SNOOPYJOBS, 'snoopy-operator', 'snoopy-samplejob'))).metadata.uid!;
    const mine = async () => (await listJobs(kube)).filter((j) => j.metadata?.labels?.[Labels.jobUid] === uid);
    await waitFor('three Jobs', async () => (await mine()).length === 3, 30_000);
    // The run's job.started is delivered before the crash: it is sent while the status recording
    // the run's start is written, and a crash between the two would lose it (not tested here).
    await waitFor('job.started', () => sink.events.some((e) => e.headers['ce-type'] === 'io.fennecproject.snoopy.job.started'));

    first.child.kill('SIGKILL'); // a crash: no hand-over
    await first.exited;
    await createRunningPod(kube, 'cnf-telco', 'cnf-example-pod-4', labels, 'node-d');
    const second = startReplica('replica-second');
    await waitFor('second replica leads', async () => (await leaseHolder()) === 'replica-second', LEASE_SECONDS * 3000 + 10_000);
    const jobs = await waitFor('four Jobs', async () => {
      const j = await mine();
      return j.length === 4 ? j : undefined;
    }, 30_000);
    const pods = jobs.map((j) => j.metadata!.labels![Labels.targetPod]).sort();
    expect(pods).toEqual(['cnf-example-pod-1', 'cnf-example-pod-2', 'cnf-example-pod-3', 'cnf-example-pod-4']);
    // settle one resync: still exactly one Job per pod
    await new Promise((r) => setTimeout(r, 2000));
    expect(await mine()).toHaveLength(4);

    for (const j of jobs) await finishJob(kube, j, 'Complete', { segments: 1, bytes: 64, objects: ['x'], packetsDroppedByKernel: 0, toolExitCode: 0 });
    const sj = await waitFor('Completed', async () => {
      const s = await getObject<SnoopyJob>(kube, SNOOPYJOBS, 'snoopy-operator', 'snoopy-samplejob');
      return s?.status?.phase === 'Completed' ? s : undefined;
    }, 30_000);
    expect(sj.status!.targets!.map((t) => [t.pod, t.state, t.bytes])).toEqual([1, 2, 3, 4].map((i) => [`cnf-example-pod-${i}`, 'Succeeded', 64]));
    await waitFor('job.completed', () => sink.events.some((e) => e.headers['ce-type'] === 'io.fennecproject.snoopy.job.completed'));
    expect(sink.events.filter((e) => e.headers['ce-type'] === 'io.fennecproject.snoopy.job.started')).toHaveLength(1);

    // SIGTERM: clean exit, lease handed over (holder cleared)
    expect(await readyz(second)).toBe('200 ready (leader)');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await leaseHolder()).toBeUndefined();
  });

  test('two replicas: one leader; the other takes over after the leader is killed and reconciles', async () => {
    const a = startReplica('replica-a');
    const b = startReplica('replica-b');
    const leader = await waitFor('a leader', async () => {
      const h = await leaseHolder();
      return h === 'replica-a' || h === 'replica-b' ? h : undefined;
    }, 30_000);
    const [lead, standby] = leader === 'replica-a' ? [a, b] : [b, a];
    await waitFor('leader ready', async () => (await readyz(lead)) === '200 ready (leader)', 30_000);
    expect(await readyz(standby)).toBe('200 ready (standby)');
    const metrics = await (await fetch(`http://127.0.0.1:${await standby.port}/metrics`)).text();
    expect(metrics).toMatch(/^snoopy_operator_leader 0$/m);

    lead.child.kill('SIGKILL');
    const killedAt = Date.now();
    await lead.exited;
    await waitFor('standby takes over', async () => (await leaseHolder()) === standby.name, LEASE_SECONDS * 3000 + 10_000, 200);
    const tookMs = Date.now() - killedAt;
    process.stdout.write(`leader takeover after SIGKILL: ${tookMs} ms (lease ${LEASE_SECONDS} s)\n`);
    await waitFor('new leader ready', async () => (await readyz(standby)) === '200 ready (leader)', 30_000);

    // the new leader reconciles
    await createRunningPod(cluster.kube, 'cnf-telco', 'after-failover', { failover: 'yes' }, 'node-a');
    await createSnoopyJob(cluster.kube, 'snoopy-operator', 'failover', { ...SEED_SPEC, labelSelector: { failover: 'yes' } });
    await waitFor('Job from the new leader', async () => (await listJobs(cluster.kube)).some((j) => j.metadata?.labels?.[Labels.targetPod] === 'after-failover'), 30_000);
    standby.child.kill('SIGTERM');
    expect(await standby.exited).toBe(0);
  });
});
