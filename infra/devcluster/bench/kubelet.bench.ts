// Benchmark of the dev cluster's kubelet: how fast pods start and stop as processes. Runs an
// in-process API server, the controllers and two kubelets, then, side by side in one run, starts
// BENCH_KUBELET_PODS (default 20) pods with their own network namespace and as many hostNetwork
// pods, and prints create→Running latencies (median, max), start throughput, deletion time and
// the ratio between the two kinds (the cost of the sandbox: netns, veth, nft rules, private root).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../../lib/log.js';
import { startApiServer } from '../apiserver/index.js';
import { startControllers } from '../controllers/index.js';
import { apiPath, Kube, startInformer } from '../controllers/kube-client.js';
import { startKubelet } from '../kubelet/index.js';

const N = Number(process.env.BENCH_KUBELET_PODS ?? 20);
const log = createLogger('kubelet-bench', process.env.LOG_LEVEL ?? 'warn');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the kubelet benchmark needs root (network namespaces, cgroups)');
  const stateDir = mkdtempSync(join(tmpdir(), 'kubelet-bench-'));
  const api = await startApiServer({ logger: log, stateDir });
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, `apiVersion: v1\nkind: Config\nclusters: [{name: b, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: b, user: {token: t}}]\ncontexts: [{name: b, context: {cluster: b, user: b}}]\ncurrent-context: b\n`);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const kube = new Kube(kc);
  const controllers = await startControllers({ kubeConfig: kc, logger: log });
  const kubelets = [
    await startKubelet({ kubeConfig: kc, nodeName: 'bench-a', stateDir, kubeconfigPath, logger: log }),
    await startKubelet({ kubeConfig: kc, nodeName: 'bench-b', stateDir, kubeconfigPath, logger: log }),
  ];
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  const pods = startInformer<V1Pod>(kube, '/api/v1/pods', {}, log);
  const onPod = (p: V1Pod) => {
    if (p.status?.phase === 'Running' && !running.has(p.metadata!.name!)) running.set(p.metadata!.name!, performance.now());
  };
  pods.on('add', onPod);
  pods.on('update', onPod);
  await pods.started;
  try {
    const result: Record<string, Record<string, number>> = {};
    for (const kind of ['netns', 'hostNetwork'] as const) {
      const names = Array.from({ length: N }, (_, i) => `${kind.toLowerCase()}-${i}`);
      const t0 = performance.now();
      await Promise.all(
        names.map(async (name, i) => {
          created.set(name, performance.now());
          await kube.create(apiPath('v1', 'pods', 'default'), {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name },
            spec: { nodeName: i % 2 ? 'bench-b' : 'bench-a', hostNetwork: kind === 'hostNetwork', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '600'] }] },
          });
        }),
      );
      for (let i = 0; i < 1200 && names.some((n) => !running.has(n)); i++) await new Promise((r) => setTimeout(r, 50));
      const lat = names.map((n) => (running.get(n) ?? NaN) - created.get(n)!);
      const all = Math.max(...names.map((n) => running.get(n) ?? NaN)) - t0;
      const d0 = performance.now();
      await Promise.all(names.map((n) => kube.delete(apiPath('v1', 'pods', 'default', n))));
      for (let i = 0; i < 1200 && names.some((n) => pods.get(n, 'default')); i++) await new Promise((r) => setTimeout(r, 50));
      const del = performance.now() - d0;
      result[kind] = { pods: N, medianStartMs: Math.round(median(lat)), maxStartMs: Math.round(Math.max(...lat)), podsPerSecond: Number((N / (all / 1000)).toFixed(1)), deleteAllMs: Math.round(del) };
      console.log(JSON.stringify({ kind, ...result[kind] }));
    }
    console.log(
      JSON.stringify({
        sandboxCostRatio: {
          medianStart: Number((result.netns!.medianStartMs! / result.hostNetwork!.medianStartMs!).toFixed(2)),
          throughput: Number((result.hostNetwork!.podsPerSecond! / result.netns!.podsPerSecond!).toFixed(2)),
        },
      }),
    );
  } finally {
    await pods.stop();
    await controllers.stop();
    for (const k of kubelets) await k.stop();
    await api.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`kubelet bench: ${e.message}`);
  process.exit(1);
});
