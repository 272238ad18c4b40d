// End to end on the full dev cluster (API server, controllers, two kubelets running pods as local
// processes in their own network namespaces; needs root): the seed's pinging workload, the seed's
// data endpoint (collector as a Deployment, storing to its own volume) and the seed's tcpdump
// SnoopyJob with a short timer. The capture Jobs run the real podtracer against the real pods;
// the SnoopyJob's status must carry what podtracer reported.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';
import { cleanupStateDir, ensureClusterNetwork, startDevCluster, type DevCluster } from '../../infra/devcluster/harness.js';
import { DATAENDPOINTS, SNOOPYJOBS, createObject, getObject, makeKube, type Kube } from '../../lib/kube/client.js';
import { Operator } from '../operator.js';
import type { SnoopyDataEndpoint, SnoopyJob } from '../../lib/api/schema.js';
import { SEED_SPEC, listJobs, quiet, testConfig, waitFor } from './helpers.js';
import { startRecordingSink } from '../../lib/testing/event-sink-server.js';

const exec = promisify(execFile);
let stateDir: string;
let cluster: DevCluster | undefined;
let kube: Kube;
let operator: Operator | undefined;
let sink: Awaited<ReturnType<typeof startRecordingSink>>;

/** Awaits one setup step; one that takes long says so, so a hook timeout shows where it hung. */
async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  const slow = setTimeout(() => process.stderr.write(`e2e setup: ${what} has taken more than 20 s\n`), 20_000);
  try {
    return await work();
  } finally {
    clearTimeout(slow);
  }
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'snoopy-operator-e2e-'));
  const net = await step('the cluster network', () => ensureClusterNetwork(stateDir));
  cluster = await step('the dev cluster', () => startDevCluster({ nodes: ['node-a', 'node-b'], stateDir, host: net.gateway, logger: quiet }));
  const c = cluster;
  kube = makeKube(c.kubeConfig);
  await step('the CRDs, namespace and service account', async () => {
    for (const file of ['job.fennecproject.io_snoopyjobs.yaml', 'data.fennecproject.io_snoopydataendpoints.yaml']) {
      await kube.custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: parse(readFileSync(repoPath('infra', 'crds', file), 'utf8')) });
    }
    await kube.core.createNamespace({ body: { metadata: { name: 'snoopy-operator' } } });
    await kube.core.createNamespacedServiceAccount({ namespace: 'snoopy-operator', body: { metadata: { name: 'snoopy-capture' } } });
  });
  // the seed's workload, as the repository ships it
  await step('kubectl apply -k infra/samples/workload', () => exec('kubectl', ['--kubeconfig', c.kubeconfigPath, 'apply', '-k', repoPath('infra', 'samples', 'workload')]));
  sink = await step('the event sink', () => startRecordingSink());
  operator = new Operator({ kubeConfig: c.kubeConfig, config: testConfig({ K_SINK: sink.url }), logger: quiet });
  await step('the operator start', () => operator!.start());
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await cluster?.stop();
  await sink?.close();
  if (stateDir) {
    await cleanupStateDir(stateDir).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}, 120_000);

describe('seed samples on the full dev cluster', () => {
  test('captures from every pinging pod; status carries podtracer\'s figures', async () => {
    const seedEndpoint = parse(readFileSync(repoPath('infra', 'samples', 'snoopy', 'data_v1alpha1_snoopydataendpoint.yaml'), 'utf8')) as SnoopyDataEndpoint;
    await createObject(kube, DATAENDPOINTS, 'snoopy-operator', { ...seedEndpoint, metadata: { ...seedEndpoint.metadata, namespace: 'snoopy-operator' } } as never);
    await waitFor('the collector ready', async () => {
      const de = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'snoopy-operator', 'snoopydataendpoint-sample');
      return de?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 90_000, 500);
    const deployment = (await kube.custom.getNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'deployments', namespace: 'cnf-telco', name: 'cnf-example-pod' })) as { spec: { replicas: number } };
    const targets = await waitFor('every cnf-example pod running', async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace: 'cnf-telco', labelSelector: 'networkMonitor=true' })).items as V1Pod[];
      const running = pods.filter((p) => p.status?.phase === 'Running');
      return running.length === deployment.spec.replicas ? running : undefined;
    }, 90_000, 500);

    await createObject(kube, SNOOPYJOBS, 'snoopy-operator', {
      apiVersion: 'job.fennecproject.io/v1alpha1',
      kind: 'SnoopyJob',
      metadata: { name: 'snoopy-samplejob', namespace: 'snoopy-operator' },
      spec: { ...SEED_SPEC, timer: '8s' },
    } as never);
    const sj = await waitFor('Completed or Failed', async () => {
      const s = await getObject<SnoopyJob>(kube, SNOOPYJOBS, 'snoopy-operator', 'snoopy-samplejob');
      return s?.status?.phase === 'Completed' || s?.status?.phase === 'Failed' ? s : undefined;
    }, 150_000, 1000);
    const jobs = await listJobs(kube);
    process.stdout.write(`e2e targets: ${JSON.stringify(sj.status!.targets!.map((t) => ({ pod: t.pod, node: t.node, state: t.state, bytes: t.bytes, segments: t.segments, objects: t.objects })))}\n`);
    expect(sj.status!.phase).toBe('Completed');
    expect(sj.status!.targets!.length).toBe(targets.length);
    expect(jobs.length).toBe(new Set(targets.map((p) => p.spec!.nodeName)).size);
    for (const t of sj.status!.targets!) {
      const pod = targets.find((p) => p.metadata!.name === t.pod)!;
      expect(t).toMatchObject({ state: 'Succeeded', node: pod.spec!.nodeName, podUID: pod.metadata!.uid, toolExitCode: 0 });
      expect(t.bytes).toBeGreaterThan(24); // more than a pcap global header: packets were captured
      expect(t.segments).toBeGreaterThanOrEqual(1);
      // one capture Job per node (the default design), named in each of its targets; the objects
      // themselves are listed in the run manifest in storage, not in the bounded status
      expect(jobs.find((j) => j.metadata!.name === t.job)).toBeDefined();
    }
    await waitFor('job.completed CloudEvent', () => sink.events.find((e) => e.headers['ce-type'] === 'io.fennecproject.snoopy.job.completed'), 10_000);
  }, 300_000);
});
