// Test fixtures: the dev cluster's API server over real HTTP, CRDs applied from infra/crds, and
// pods/Jobs driven the way kubelets and the Job controller would drive them.
import { readFileSync } from 'node:fs';
import type { KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';
import { quiet } from '../../lib/testing/quiet-logger.js';
import { waitFor } from '../../lib/testing/wait-for.js';
import { startApiServerWithKubeconfig, type ApiServer, type ApiServerWithKubeconfig } from '../../infra/devcluster/harness.js';
import { JOBS, MERGE_PATCH, createObject, makeKube, plain, type Kube } from '../../lib/kube/client.js';

export { quiet, waitFor };

export interface TestCluster {
  api: ApiServer;
  kc: KubeConfig;
  kube: Kube;
  dir: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

export async function startTestCluster(namespaces: string[] = ['snoopy-operator', 'cnf-telco']): Promise<TestCluster> {
  const t = await startApiServerWithKubeconfig('snoopy-operator-test-', quiet);
  try {
    return await prepare(t, namespaces);
  } catch (err) {
    // a failed setup leaves nothing behind either
    await t.stop();
    throw err;
  }
}

async function prepare(t: ApiServerWithKubeconfig, namespaces: string[]): Promise<TestCluster> {
  const kube = makeKube(t.kc);
  for (const file of ['job.fennecproject.io_snoopyjobs.yaml', 'data.fennecproject.io_snoopydataendpoints.yaml']) {
    const crd = parse(readFileSync(repoPath('infra', 'crds', file), 'utf8'));
    await kube.custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crd });
  }
  for (const ns of namespaces) await kube.core.createNamespace({ body: { metadata: { name: ns } } });
  await waitFor('CRDs served', async () => {
    try {
      await kube.custom.listClusterCustomObject({ group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' });
      return true;
    } catch {
      return false;
    }
  });
  return { api: t.api, kc: t.kc, kube, dir: t.stateDir, kubeconfigPath: t.kubeconfigPath, stop: () => t.stop() };
}

export { testConfig } from '../harness.js';

/** A running pod bound to `node`, as a kubelet would report it. */
export async function createRunningPod(kube: Kube, ns: string, name: string, labels: Record<string, string>, node: string): Promise<V1Pod> {
  const pod = await kube.core.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, namespace: ns, labels }, spec: { nodeName: node, containers: [{ name: 'ping', image: 'nicolaka/netshoot:latest', command: ['ping', '127.0.0.1'] }] } },
  });
  await kube.core.patchNamespacedPodStatus(
    {
      namespace: ns,
      name,
      body: {
        status: {
          phase: 'Running',
          startTime: new Date().toISOString(),
          containerStatuses: [{ name: 'ping', ready: true, restartCount: 0, image: 'nicolaka/netshoot:latest', imageID: '', containerID: `containerd://${name}`, state: { running: { startedAt: new Date().toISOString() } } }],
        },
      },
    },
    MERGE_PATCH,
  );
  return plain(pod);
}

export async function listJobs(kube: Kube, ns = 'snoopy-operator'): Promise<V1Job[]> {
  const list = (await kube.custom.listNamespacedCustomObject({ ...JOBS, namespace: ns })) as { items: V1Job[] };
  return list.items;
}

/** What the Job controller and the kubelet would report for a finished capture. */
export async function finishJob(kube: Kube, job: V1Job, outcome: 'Complete' | 'Failed', summary: Record<string, unknown>): Promise<void> {
  const ns = job.metadata!.namespace!;
  const name = job.metadata!.name!;
  const now = new Date().toISOString();
  const podName = `${name}-x1`;
  await kube.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: podName, namespace: ns, labels: { ...job.spec!.template.metadata!.labels, 'job-name': name } },
      spec: job.spec!.template.spec!,
    },
  });
  await kube.core.patchNamespacedPodStatus(
    {
      namespace: ns,
      name: podName,
      body: {
        status: {
          phase: outcome === 'Complete' ? 'Succeeded' : 'Failed',
          containerStatuses: [
            { name: 'podtracer', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: outcome === 'Complete' ? 0 : 1, reason: outcome === 'Complete' ? 'Completed' : 'Error', message: JSON.stringify(summary), finishedAt: now } } },
          ],
        },
      },
    },
    MERGE_PATCH,
  );
  await kube.custom.patchNamespacedCustomObjectStatus(
    {
      ...JOBS,
      namespace: ns,
      name,
      body: {
        status: {
          startTime: now,
          ...(outcome === 'Complete' ? { completionTime: now, succeeded: 1 } : { failed: 1 }),
          conditions: [{ type: outcome, status: 'True', lastTransitionTime: now, lastProbeTime: now, ...(outcome === 'Failed' ? { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' } : {}) }],
        },
      },
    },
    MERGE_PATCH,
  );
}

export async function createSnoopyJob(kube: Kube, ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await createObject(kube, { group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' }, ns, { apiVersion: 'job.fennecproject.io/v1alpha1', kind: 'SnoopyJob', metadata: { name, namespace: ns }, spec } as never);
}

export const SEED_SPEC = {
  command: 'tcpdump',
  args: '-i eth0 -U -w -',
  labelSelector: { networkMonitor: 'true' },
  targetNamespace: 'cnf-telco',
  timer: '2m',
  dataServiceIP: 'snoopy-data-svc.snoopy-operator.svc.cluster.local',
  dataServicePort: '51001',
};

