// Operator benchmark on the dev cluster's API server (`snoopy-devcluster up --api-only`, its own
// process; no kubelets: pods are created bound to nodes and reported Running).
//  1. 1,000 target pods over 10 nodes; a plain client (its own fresh process, as the operator is)
//     creates the 1,000 capture Jobs the operator would (same bodies, same write concurrency) in
//     another namespace: the baseline.
//  2. The operator (its own process) gets a SnoopyJob selecting those pods: time from creating the
//     SnoopyJob until a watch has seen all 1,000 Jobs (includes the finalizer, the pod cache's LIST
//     and the token Secret). Steps 1 and 2 are repeated BENCH_ROUNDS (7) times, each with fresh
//     processes and namespaces, alternating which goes first; the median ratio is the result.
//  3. 9,000 more pods in the target namespace (not selected): the operator's RSS with 10,000 pods
//     cached, from /proc/<pid>/status.
// BENCH_PODS, BENCH_CACHED_PODS and BENCH_ROUNDS override the counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { cpuSeconds, statusKiB } from '../../lib/proc.js';
import { JOBS, MERGE_PATCH, createObject, makeKube, mapLimit, type Kube } from '../../lib/kube/client.js';
import { loadConfig } from '../config.js';
import { captureSettingsFrom, renderCaptureJob } from '../render/capture.js';
import { captureJobName, oneShotCaptureId, tokenSecretName } from '../../lib/api/names.js';
import { sleep, startDevClusterProcess, waitForLeader } from './dev-cluster-process.js';

const PODS = Number(process.env.BENCH_PODS ?? 1000);
const CACHED = Number(process.env.BENCH_CACHED_PODS ?? 10_000);
const NODES = 10;
const CONCURRENCY = loadConfig({}).writeConcurrency;
const TARGET_NS = 'bench-targets';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

/** Each named process's CPU seconds now (the benchmark itself included, by its own pid). */
const cpuNow = (pids: Record<string, number>) => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
/** "name seconds, …": the CPU each used since `before`. */
const cpuNote = (before: Record<string, number>, pids: Record<string, number>) =>
  Object.entries(pids).map(([name, pid]) => `${name} ${(cpuSeconds(pid) - before[name]!).toFixed(2)}`).join(', ');

const rssMiB = (pid: number) => statusKiB(pid, 'VmRSS') / 1024;
async function createPods(kube: Kube, from: number, to: number, labels: (i: number) => Record<string, string>, running: boolean): Promise<void> {
  const idx = Array.from({ length: to - from }, (_, k) => from + k);
  const results = await mapLimit(idx, 32, async (i) => {
    const name = `pod-${i}`;
    await kube.core.createNamespacedPod({
      namespace: TARGET_NS,
      body: { metadata: { name, labels: labels(i) }, spec: { nodeName: `node-${i % NODES}`, containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }] } },
    });
    if (running) {
      await kube.core.patchNamespacedPodStatus({ namespace: TARGET_NS, name, body: { status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'busybox', imageID: '', containerID: `containerd://${name}` }] } } }, MERGE_PATCH);
    }
  });
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when `n` ADDED events for Jobs in `ns` were seen. */
async function watchJobs(kc: KubeConfig, ns: string, n: number): Promise<{ done: Promise<number>; stop: () => void }> {
  let seen = 0;
  let resolve!: (t: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  const ctl = await new Watch(kc).watch(`/apis/batch/v1/namespaces/${ns}/jobs`, {}, (type) => {
    if (type === 'ADDED' && ++seen === n) resolve(performance.now());
  }, () => undefined);
  return { done, stop: () => ctl.abort() };
}

async function main(): Promise<void> {
  const cluster = await startDevClusterProcess('snoopy-operator-bench-', ['--api-only']);
  const { server, kubeconfigPath, kc, kube } = cluster;
  let operator: ChildProcess | undefined;
  try {
    await kube.core.createNamespace({ body: { metadata: { name: TARGET_NS } } });
    await sleep(500);

    const t = performance.now();
    await createPods(kube, 0, PODS, () => ({ app: 'target' }), true);
    console.log(`created ${PODS} running target pods over ${NODES} nodes in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const metricsPort = await freePort();
    // --- baseline: a plain client, its own fresh process like the operator's, creating the same
    // Jobs at the operator's write concurrency (a process's first thousand requests cost about twice
    // the CPU of later ones while V8 warms up, so both sides start equally cold)
    const runPlain = async (round: number): Promise<{ ms: number; cpu: string }> => {
      const ns = `bench-plain-${round}`;
      await kube.core.createNamespace({ body: { metadata: { name: ns } } });
      const plain = spawn(process.execPath, [fileURLToPath(import.meta.url), PLAIN_CLIENT_FLAG, kubeconfigPath, ns], { stdio: ['pipe', 'pipe', 'inherit'] });
      const exited = new Promise((r) => plain.once('exit', r));
      const lines = createInterface({ input: plain.stdout! });
      const nextLine = () => new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        plain.once('exit', (code) => reject(new Error(`plain client exited with ${code}`)));
      });
      if ((await nextLine()) !== 'ready') throw new Error('plain client did not start');
      const watch = await watchJobs(kc, ns, PODS);
      const pids = { 'API server': server.pid!, 'plain client': plain.pid!, bench: process.pid };
      const cpu0 = cpuNow(pids);
      const t0 = performance.now();
      plain.stdin!.write('go\n');
      const done = nextLine();
      const ms = (await watch.done) - t0;
      const cpu = cpuNote(cpu0, pids);
      watch.stop();
      if ((await done) !== 'done 0') throw new Error('plain client: a create failed');
      plain.stdin!.end();
      await exited;
      return { ms, cpu };
    };
    // --- the operator, its own process (one per round, each with its own namespace and Lease)
    const runOperator = async (round: number): Promise<{ ms: number; cpu: string; child: ChildProcess }> => {
      const ns = `snoopy-operator-${round}`;
      await kube.core.createNamespace({ body: { metadata: { name: ns } } });
      const child = spawn(process.execPath, [fileURLToPath(new URL('../main.js', import.meta.url)), '--metrics-port', String(metricsPort)], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { PATH: process.env.PATH, KUBECONFIG: kubeconfigPath, LOG_LEVEL: 'warn', SNOOPY_RESYNC_SECONDS: '2', SNOOPY_NAMESPACE: ns, POD_NAME: 'bench-operator' },
      });
      operator = child;
      await waitForLeader(kube, ns, 'bench-operator');
      await sleep(1000); // caches synced (nothing to reconcile yet)
      const watch = await watchJobs(kc, ns, PODS);
      const pids = { 'API server': server.pid!, operator: child.pid!, bench: process.pid };
      const cpu0 = cpuNow(pids);
      const t0 = performance.now();
      await createObject(kube, { group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' }, ns, {
        apiVersion: 'job.fennecproject.io/v1alpha1',
        kind: 'SnoopyJob',
        metadata: { name: 'bench', namespace: ns },
        spec: { command: 'tcpdump', args: '-i eth0 -U -w -', labelSelector: { app: 'target' }, targetNamespace: TARGET_NS, timer: '2m', dataServiceIP: 'collector', dataServicePort: '8080' },
      } as never);
      const ms = (await watch.done) - t0;
      const cpu = cpuNote(cpu0, pids);
      watch.stop();
      return { ms, cpu, child };
    };

    // Rounds alternate which side goes first, so the API server's growing store weighs on both alike.
    const ratios: number[] = [];
    const sums = { plain: 0, operator: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      let plainRun: { ms: number; cpu: string } | undefined;
      let opRun: { ms: number; cpu: string; child: ChildProcess } | undefined;
      if (round % 2 === 0) {
        plainRun = await runPlain(round);
        opRun = await runOperator(round);
      } else {
        opRun = await runOperator(round);
        plainRun = await runPlain(round);
      }
      console.log(`round ${round}: plain client, ${PODS} Jobs at concurrency ${CONCURRENCY}: ${(plainRun.ms / 1000).toFixed(2)} s (CPU s: ${plainRun.cpu})`);
      console.log(`round ${round}: operator, SnoopyJob → ${PODS} Jobs seen:          ${(opRun.ms / 1000).toFixed(2)} s (CPU s: ${opRun.cpu})`);
      ratios.push(opRun.ms / plainRun.ms);
      sums.plain += plainRun.ms;
      sums.operator += opRun.ms;
      if (round < ROUNDS - 1) {
        opRun.child.kill('SIGTERM');
        await new Promise((r) => opRun!.child.once('exit', r));
      }
    }
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
    console.log(`ratio operator/plain per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
    console.log(`ratio operator/plain: ${median.toFixed(2)} (median of ${ROUNDS} rounds; total time ratio ${(sums.operator / sums.plain).toFixed(2)}; target ≤ 1.3)`);
    if (!operator) throw new Error('no operator ran');

    // --- memory with 10,000 pods cached
    const rssBefore = rssMiB(operator.pid!);
    const t2 = performance.now();
    await createPods(kube, PODS, CACHED, () => ({ app: 'bystander' }), false);
    console.log(`created ${CACHED - PODS} more pods (not selected) in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
    // the operator's own count of cached target pods (updated at every resync)
    let cachedPods = 0;
    for (let i = 0; i < 120 && cachedPods < CACHED; i++) {
      await sleep(1000);
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      cachedPods = Number(/^snoopy_operator_cached_objects\{resource="pods"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    console.log(`operator reports ${cachedPods} target-namespace pods cached`);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(rssMiB(operator.pid!));
      await sleep(1000);
    }
    console.log(`operator RSS with ${PODS} Jobs cached: ${rssBefore.toFixed(0)} MiB; with ${CACHED} pods and ${PODS} Jobs cached: ${Math.max(...samples).toFixed(0)} MiB (max of ${samples.length} samples; target < 250 MB)`);
  } finally {
    if (operator && operator.exitCode === null) {
      operator.kill('SIGTERM');
      await new Promise((r) => operator!.once('exit', r));
    }
    await cluster.stop();
  }
}

/** The baseline client's process: renders the Jobs, says "ready", creates them on "go", says "done <failures>". */
async function plainClient(kubeconfigPath: string, namespace: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const kube = makeKube(kc);
  // the operator's own settings (defaults, as the benchmark runs it), so the bodies are the same
  const settings = captureSettingsFrom({ ...loadConfig({}), namespace });
  const sj = { name: 'bench', namespace: namespace.replace('bench-plain', 'snoopy-operator'), uid: '00000000-0000-4000-8000-000000000000' };
  const bodies = Array.from({ length: PODS }, (_, i) => {
    const target = { pod: `pod-${i}`, namespace: TARGET_NS, uid: `uid-${i}`, node: `node-${i % NODES}`, container: 'app' };
    const name = captureJobName(sj, { namespace: TARGET_NS, name: target.pod });
    return renderCaptureJob(name, { sj, command: 'tcpdump', argv: ['-i', 'eth0', '-U', '-w', '-'], timer: '2m', timerSeconds: 120, collector: 'collector:8080', target, tokenSecret: tokenSecretName(sj), tokenKey: name, captureId: oneShotCaptureId(sj) }, settings);
  });
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  process.stdout.write('ready\n');
  await go;
  const res = await mapLimit(bodies, CONCURRENCY, (b) => createObject(kube, JOBS, namespace, b));
  process.stdout.write(`done ${res.filter((r) => r.status === 'rejected').length}\n`);
  lines.close();
}

const PLAIN_CLIENT_FLAG = '--plain-client';
(process.argv[2] === PLAIN_CLIENT_FLAG ? plainClient(process.argv[3]!, process.argv[4]!) : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
