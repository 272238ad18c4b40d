// Scale benchmark: one SnoopyJob selecting many pods on many nodes, on a dev cluster with fake
// nodes (`snoopy-devcluster up --nodes '' --fake-nodes N`, its own process: API server,
// controllers, kwok-style nodes whose pods go Running with no process). For each scenario
// ("pods/nodes", default 10000/200 then 1000/10; BENCH_SCALE="1000/10,…" overrides) and each
// capture design (SNOOPY_CAPTURE_PODS per-node, then per-target; BENCH_SCALE_MODES overrides) it prints:
//  - capture Jobs created;
//  - API requests the operator made, counted at the API server by the operator's bearer token,
//    and how many were refused as too large or invalid (413, 422, 5xx: the API server's and
//    etcd's size limits among them);
//  - time from applying the SnoopyJob until every capture pod exists;
//  - the operator's peak RSS (sampled every 200 ms from /proc);
//  - the largest SnoopyJob object (spec + status) and the largest Secret the API server stored.
// Each scenario gets a fresh cluster and operator; it gives up when no capture pod came for
// 3 min. Captures on fake nodes do not run: this measures the control plane only.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Watch } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { Labels } from '../../lib/api/names.js';
import { JOBS, createObject, mapLimit, type Kube } from '../../lib/kube/client.js';
import { statusKiB } from '../../lib/proc.js';
import { FAKE_NODE_LABEL, fakeNodeNames } from '../../infra/devcluster/harness.js';
import { sleep, startDevClusterProcess, waitForLeader } from './dev-cluster-process.js';

const TARGET_NS = 'scale-targets';
const OPERATOR_NS = 'snoopy-system';
const OPERATOR_TOKEN = 'bench-operator';
/** Bound on waiting for all capture pods of one scenario: this long without a new one. */
const STALL_MS = 3 * 60_000;

interface Scenario { pods: number; nodes: number; mode: string }
const MODES = (process.env.BENCH_SCALE_MODES ?? 'per-node,per-target').split(',');

function scenarios(): Scenario[] {
  const spec = process.env.BENCH_SCALE ?? '10000/200,1000/10';
  return spec.split(',').map((s) => {
    const [pods, nodes] = s.split('/').map(Number);
    if (!Number.isInteger(pods) || !Number.isInteger(nodes) || pods! < 1 || nodes! < 1) throw new Error(`BENCH_SCALE: "${s}" is not pods/nodes`);
    return MODES.map((mode) => ({ pods: pods!, nodes: nodes!, mode }));
  }).flat();
}

/** Sums a Prometheus counter's samples whose labels contain every `match` pair. */
function metricSum(text: string, name: string, match: Record<string, string | RegExp>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const ok = Object.entries(match).every(([k, v]) => (typeof v === 'string' ? labels[k] === v : v.test(labels[k] ?? '')));
    if (ok) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function createTargetPods(kube: Kube, s: Scenario): Promise<void> {
  const nodes = fakeNodeNames(s.nodes);
  const res = await mapLimit(Array.from({ length: s.pods }, (_, i) => i), 32, (i) =>
    kube.core.createNamespacedPod({
      namespace: TARGET_NS,
      body: {
        metadata: { name: `pod-${i}`, labels: { app: 'target' } },
        spec: { nodeName: nodes[i % s.nodes]!, tolerations: [{ key: FAKE_NODE_LABEL, operator: 'Exists' }], containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }] },
      },
    }),
  );
  const failed = res.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

async function runScenario(s: Scenario): Promise<void> {
  const cluster = await startDevClusterProcess('snoopy-scale-bench-', ['--nodes', '', '--fake-nodes', String(s.nodes)], ['--max-old-space-size=8192']);
  const { stateDir, kubeconfigPath, kc, kube } = cluster;
  const metrics = async () => (await fetch(`${kc.getCurrentCluster()!.server}/metrics`)).text();
  let operator: ChildProcess | undefined;
  try {
    for (const name of [TARGET_NS, OPERATOR_NS]) await kube.core.createNamespace({ body: { metadata: { name } } });
    let t = performance.now();
    await createTargetPods(kube, s);
    for (let i = 0; ; i++) {
      const running = (await kube.core.listNamespacedPod({ namespace: TARGET_NS, fieldSelector: 'status.phase=Running' })).items.length;
      if (running === s.pods) break;
      if (i >= 1200) throw new Error(`only ${running} of ${s.pods} target pods Running after 10 minutes`);
      await sleep(500);
    }
    console.log(`[${s.pods} pods / ${s.nodes} nodes / ${s.mode}] ${s.pods} target pods Running in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // the operator, its own process, with its own token so the API server counts its requests
    const opKubeconfig = join(stateDir, 'operator-kubeconfig');
    const cfg = parse(readFileSync(kubeconfigPath, 'utf8')) as { users: Array<{ user: { token: string } }> };
    cfg.users[0]!.user.token = OPERATOR_TOKEN;
    writeFileSync(opKubeconfig, stringify(cfg), { mode: 0o600 });
    operator = spawn(process.execPath, [fileURLToPath(new URL('../main.js', import.meta.url)), '--metrics-port', '0'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { PATH: process.env.PATH, KUBECONFIG: opKubeconfig, LOG_LEVEL: 'warn', SNOOPY_NAMESPACE: OPERATOR_NS, POD_NAME: 'bench-operator', SNOOPY_CAPTURE_PODS: s.mode },
    });
    await waitForLeader(kube, OPERATOR_NS, 'bench-operator');
    await sleep(1000);
    const before = await metrics();
    const requests0 = metricSum(before, 'devcluster_requests_by_token_total', { token: OPERATOR_TOKEN });
    const refused0 = metricSum(before, 'devcluster_requests_by_token_total', { token: OPERATOR_TOKEN, code: /^(413|422|5\d\d)$/ });

    let peakRss = 0;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, statusKiB(operator!.pid!, 'VmRSS') / 1024); }, 200);
    // per-target: one capture Job (and pod) per target pod; per-node: one per node with targets
    const expectedCapturePods = s.mode === 'per-node' ? Math.min(s.nodes, s.pods) : s.pods;
    // every capture pod: pods in the operator's namespace carrying the SnoopyJob's labels
    let capturePods = 0;
    let allCreated!: () => void;
    const created = new Promise<void>((r) => (allCreated = r));
    const seen = new Set<string>();
    const watch = await new Watch(kc).watch(`/api/v1/namespaces/${OPERATOR_NS}/pods`, { labelSelector: `${Labels.jobName}=scale` }, (type, obj: { metadata?: { uid?: string } }) => {
      if (type === 'ADDED' && obj.metadata?.uid && !seen.has(obj.metadata.uid)) {
        seen.add(obj.metadata.uid);
        if (++capturePods === expectedCapturePods) allCreated();
      }
    }, () => undefined);
    t = performance.now();
    await createObject(kube, { group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' }, OPERATOR_NS, {
      apiVersion: 'job.fennecproject.io/v1alpha1', kind: 'SnoopyJob',
      metadata: { name: 'scale', namespace: OPERATOR_NS },
      spec: { command: 'tcpdump', args: '-i eth0 -U -w -', labelSelector: { app: 'target' }, targetNamespace: TARGET_NS, timer: '10m', dataServiceIP: 'collector', dataServicePort: '8080' },
    } as never);
    // wait for every capture pod, or give up when none came for STALL_MS (the operator stuck)
    let timedOut = false;
    for (let last = -1, since = performance.now(); ; ) {
      const done = await Promise.race([created.then(() => true), sleep(1000).then(() => false)]);
      if (done) break;
      if (capturePods !== last) { last = capturePods; since = performance.now(); }
      if (performance.now() - since > STALL_MS) { timedOut = true; break; }
    }
    const ms = performance.now() - t;
    // let the status catch up with what was created, then read the figures
    await sleep(5000);
    clearInterval(sampler);
    watch.abort();
    const after = await metrics();
    const jobs = ((await kube.custom.listNamespacedCustomObject({ ...JOBS, namespace: OPERATOR_NS, labelSelector: `${Labels.jobName}=scale` })) as { items: unknown[] }).items.length;
    const requests = metricSum(after, 'devcluster_requests_by_token_total', { token: OPERATOR_TOKEN }) - requests0;
    const refused = metricSum(after, 'devcluster_requests_by_token_total', { token: OPERATOR_TOKEN, code: /^(413|422|5\d\d)$/ }) - refused0;
    const largestSj = metricSum(after, 'devcluster_largest_object_bytes', { resource: 'job.fennecproject.io/snoopyjobs' });
    const largestSecret = metricSum(after, 'devcluster_largest_object_bytes', { resource: /(^|\/)secrets$/ });
    const p = `[${s.pods} pods / ${s.nodes} nodes / ${s.mode}]`;
    console.log(`${p} capture Jobs created: ${jobs}`);
    console.log(`${p} capture pods created: ${capturePods} of ${expectedCapturePods}${timedOut ? ` (gave up: none for ${STALL_MS / 60_000} min)` : ''} in ${(ms / 1000).toFixed(1)} s from apply`);
    console.log(`${p} API requests by the operator: ${requests} (${refused} refused with 413/422/5xx)`);
    console.log(`${p} operator peak RSS: ${peakRss.toFixed(0)} MiB`);
    console.log(`${p} largest SnoopyJob stored: ${(largestSj / 1024).toFixed(1)} KiB (etcd refuses objects over 1536 KiB)`);
    console.log(`${p} largest Secret stored: ${(largestSecret / 1024).toFixed(1)} KiB (token or assignment Secrets; a Secret holds at most 1 MiB)`);
  } finally {
    if (operator && operator.exitCode === null) {
      operator.kill('SIGTERM');
      await new Promise((r) => operator!.once('exit', r));
    }
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  for (const s of scenarios()) await runScenario(s);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
