// startDevCluster in-process: the API server, controllers and a kubelet meet over the API; a Job
// runs to completion on the node, kubectl reads its logs, and stop() shuts everything down.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from '@jest/globals';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../cluster.js';
import { log, suffix, until } from './apiserver-helpers.js';

const stateDir = mkdtempSync(join(tmpdir(), 'devcluster-it-'));
let cluster: DevCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', cluster!.kubeconfigPath, ...args], { env: { ...process.env, HOME: stateDir } }, (err, stdout, stderr) => {
      resolve({ code: err ? 1 : 0, stdout, stderr });
    });
  });
}

test('a dev cluster runs a Job on its node and stops cleanly', async () => {
  const node = `it-${suffix()}`;
  cluster = await startDevCluster({ nodes: [node], stateDir, logger: log });
  expect(readFileSync(cluster.kubeconfigPath, 'utf8')).toContain(cluster.url);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
  const n = await until(async () => {
    const list = await core.listNode({ labelSelector: `kubernetes.io/hostname=${node}` });
    return list.items.find((x) => x.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }, 'the node to be Ready', 300, 100);
  expect(n.metadata!.name).toBe(node);
  await batch.createNamespacedJob({ namespace: 'default', body: {
    metadata: { name: 'it-job' },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo it works'] }] } } },
  } });
  const job = await until(async () => {
    const j = await batch.readNamespacedJob({ name: 'it-job', namespace: 'default' });
    return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
  }, 'the job to complete', 600, 100);
  expect(job.status!.succeeded).toBe(1);
  const logs = await kubectl(['logs', 'job/it-job']);
  expect(logs.stdout).toBe('it works\n');
  const url = cluster.url;
  await cluster.stop();
  cluster = undefined;
  await expect(fetch(`${url}/healthz`)).rejects.toThrow();
}, 120000);
