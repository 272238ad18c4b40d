// Benchmark of the dev cluster API server: creates N pods (default 2,000; BENCH_PODS overrides)
// through client-node while an informer-style watch receives them, then measures full and
// label-selected list latency and the server process's resident memory. The server runs as its
// own process (`snoopy-devcluster up --api-only`) so its RSS is its own.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { statusKiB } from '../../../lib/proc.js';

const N = Number(process.env.BENCH_PODS ?? 2000);
const CONCURRENCY = 16;

const rssMiB = (pid: number): number => statusKiB(pid, 'VmRSS') / 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e6, r];
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'devcluster-bench-'));
  const mainJs = fileURLToPath(new URL('../main.js', import.meta.url));
  const server = spawn(process.execPath, [mainJs, 'up', '--api-only', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  try {
    const kubeconfigPath = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0].trim()); });
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const ns = 'bench';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const rssIdle = rssMiB(server.pid!);

    const start = await core.listNamespacedPod({ namespace: ns });
    let added = 0;
    let resolveAll!: () => void;
    const allSeen = new Promise<void>((r) => { resolveAll = r; });
    const watch = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/pods`, { resourceVersion: start.metadata!.resourceVersion! }, (type) => {
      if (type === 'ADDED' && ++added === N) resolveAll();
    }, () => undefined);

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < N) {
        const i = next++;
        await core.createNamespacedPod({ namespace: ns, body: {
          metadata: { name: `pod-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
          spec: { nodeName: `node-${i % 4}`, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'I', value: String(i) }] }] },
        } });
      }
    };
    const [createMs] = await timed(() => Promise.all(Array.from({ length: CONCURRENCY }, worker)));
    const [watchMs] = await timed(() => allSeen);
    watch.abort();

    // The same creates over plain keep-alive HTTP, side by side: how much of the cost is the client's.
    await core.createNamespace({ body: { metadata: { name: 'bench-raw' } } });
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const url = kc.getCurrentCluster()!.server;
    const post = (path: string, body: unknown): Promise<number> => new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const r = request(url + path, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve(201) : reject(new Error(`create answered ${res.statusCode}`))));
      });
      r.on('error', reject);
      r.end(data);
    });
    let rawNext = 0;
    const rawWorker = async (): Promise<void> => {
      while (rawNext < N) {
        const i = rawNext++;
        await post('/api/v1/namespaces/bench-raw/pods', {
          metadata: { name: `pod-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
          spec: { nodeName: `node-${i % 4}`, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'I', value: String(i) }] }] },
        });
      }
    };
    const [rawMs] = await timed(() => Promise.all(Array.from({ length: CONCURRENCY }, rawWorker)));
    const get = (path: string): Promise<number> => new Promise((resolve, reject) => {
      request(url + path, { agent }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; });
        res.on('end', () => resolve(n));
      }).on('error', reject).end();
    });
    const rawList: number[] = [];
    let rawBytes = 0;
    for (let i = 0; i < 5; i++) {
      const [ms, bytes] = await timed(() => get(`/api/v1/namespaces/${ns}/pods`));
      rawList.push(ms);
      rawBytes = bytes;
    }
    agent.destroy();

    const full: number[] = [];
    const selected: number[] = [];
    const byNode: number[] = [];
    let fullCount = 0, selCount = 0, nodeCount = 0;
    for (let i = 0; i < 5; i++) {
      const [a, l1] = await timed(() => core.listNamespacedPod({ namespace: ns }));
      const [b, l2] = await timed(() => core.listNamespacedPod({ namespace: ns, labelSelector: 'shard=3' }));
      const [c, l3] = await timed(() => core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName=node-1' }));
      full.push(a); selected.push(b); byNode.push(c);
      fullCount = l1.items.length; selCount = l2.items.length; nodeCount = l3.items.length;
    }
    const rss = rssMiB(server.pid!);
    const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(52)} ${v}\n`);
    line('pods created', String(N));
    line('creates/s (client-node, 16 in flight)', (N / (createMs / 1000)).toFixed(0));
    line('creates/s (plain HTTP keep-alive, 16 in flight)', (N / (rawMs / 1000)).toFixed(0));
    line('watch: all ADDED received after last create', `${watchMs.toFixed(1)} ms`);
    line(`list, all ${fullCount} pods of a namespace (median of 5)`, `${median(full).toFixed(1)} ms`);
    line(`list, all pods, plain HTTP, unparsed (${(rawBytes / 1048576).toFixed(1)} MiB)`, `${median(rawList).toFixed(1)} ms`);
    line(`list, labelSelector shard=3 (${selCount} pods)`, `${median(selected).toFixed(1)} ms`);
    line(`list, fieldSelector spec.nodeName (${nodeCount} pods)`, `${median(byNode).toFixed(1)} ms`);
    line('full list / label-selected list', (median(full) / median(selected)).toFixed(1));
    line('API server RSS idle / after', `${rssIdle.toFixed(0)} MiB / ${rss.toFixed(0)} MiB`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.message}\n`);
  process.exit(1);
});
