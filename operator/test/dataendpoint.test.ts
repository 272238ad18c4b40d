// SnoopyDataEndpoint in Knative mode: the dev API server serves serving.knative.dev/v1 once its
// CRD exists; the Knative Service's readiness is reported as Knative would.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DATAENDPOINTS, KSERVICES, MERGE_PATCH, createObject, getObject } from '../../lib/kube/client.js';
import { Operator } from '../operator.js';
import type { SnoopyDataEndpoint } from '../../lib/api/schema.js';
import type { KnativeService } from '../render/collector.js';
import { COLLECTOR_TIMEOUTS, uploadTimeoutProblems } from '../../lib/knative-serving.js';
import { KNATIVE_SERVICE_CRD } from '../../infra/devcluster/harness.js';
import { quiet, startTestCluster, testConfig, waitFor, type TestCluster } from './helpers.js';

let cluster: TestCluster;
let operator: Operator;

beforeAll(async () => {
  cluster = await startTestCluster(['snoopy-operator', 'team-a']);
  await cluster.kube.custom.createClusterCustomObject({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    body: KNATIVE_SERVICE_CRD,
  });
  await waitFor('Knative served', async () => {
    const groups = await cluster.kube.apis.getAPIVersions();
    return groups.groups.some((g) => g.name === 'serving.knative.dev');
  });
  operator = new Operator({ kubeConfig: cluster.kc, config: testConfig({ K_SINK: 'http://127.0.0.1:1/' }), logger: quiet });
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await cluster?.stop();
});

describe('SnoopyDataEndpoint with Knative served', () => {
  test('mode auto: a Knative Service on h2c sized for uploads; Ready follows the Knative Service', async () => {
    const { kube } = cluster;
    await createObject(kube, DATAENDPOINTS, 'snoopy-operator', {
      apiVersion: 'data.fennecproject.io/v1alpha1',
      kind: 'SnoopyDataEndpoint',
      metadata: { name: 'snoopydataendpoint-sample', namespace: 'snoopy-operator' },
      spec: { serviceName: 'snoopy-data-svc', servicePort: 51001, scale: { min: 1, max: 4 }, storage: { bucket: 'snoopy', endpoint: 'http://minio:9000', credentialsSecret: { name: 'minio-credentials' } } },
    } as never);
    const ksvc = await waitFor('Knative Service', () => getObject<KnativeService>(kube, KSERVICES, 'snoopy-operator', 'snoopy-data-svc'));
    const tmpl = ksvc.spec.template as { metadata: { annotations: Record<string, string> }; spec: { containerConcurrency: number; timeoutSeconds: number; responseStartTimeoutSeconds: number; idleTimeoutSeconds: number; containers: { image: string; ports: { name: string }[]; env: { name: string; value?: string; valueFrom?: unknown }[] }[] } };
    expect(tmpl.metadata.annotations).toEqual({ 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '4' });
    expect(tmpl.spec.containers[0]!.ports[0]!.name).toBe('h2c');
    // the upload timeout chain: early headers, idle = request timeout, podtracer's deadline below
    const { timeoutSeconds, responseStartTimeoutSeconds, idleTimeoutSeconds } = tmpl.spec;
    expect({ timeoutSeconds, responseStartTimeoutSeconds, idleTimeoutSeconds }).toEqual(COLLECTOR_TIMEOUTS);
    expect(uploadTimeoutProblems(tmpl.spec)).toEqual([]);
    expect(tmpl.spec.containerConcurrency).toBeGreaterThan(0);
    expect(tmpl.spec.containers[0]!.image).toBe('snoopy/collector:latest');
    const env = Object.fromEntries(tmpl.spec.containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      STORAGE: 's3',
      S3_ENDPOINT: 'http://minio:9000',
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: 'minio-credentials', key: 'AWS_SECRET_ACCESS_KEY' } },
      SNOOPY_TOKEN_KEY: { secretKeyRef: { name: 'snoopy-token-key', key: 'key' } },
      K_SINK: 'http://127.0.0.1:1/',
    });
    expect(env.PORT).toBeUndefined(); // Knative sets PORT itself
    const pending = await waitFor('status', async () => {
      const d = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'snoopy-operator', 'snoopydataendpoint-sample');
      return d?.status?.mode ? d : undefined;
    });
    expect(pending.status).toMatchObject({ mode: 'knative', address: 'snoopy-data-svc.snoopy-operator.svc.cluster.local:80' });
    expect(pending.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('False');

    await kube.custom.patchNamespacedCustomObjectStatus(
      { ...KSERVICES, namespace: 'snoopy-operator', name: 'snoopy-data-svc', body: { status: { url: 'http://snoopy-data-svc.snoopy-operator.svc.cluster.local', conditions: [{ type: 'Ready', status: 'True' }] } } },
      MERGE_PATCH,
    );
    const ready = await waitFor('Ready', async () => {
      const d = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'snoopy-operator', 'snoopydataendpoint-sample');
      return d?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? d : undefined;
    }, 20_000);
    expect(ready.status!.url).toBe('http://snoopy-data-svc.snoopy-operator.svc.cluster.local');
    expect(ready.status!.observedGeneration).toBe(ready.metadata.generation);

    // switching to deployment mode replaces the Knative Service by a Deployment + Service
    await kube.custom.patchNamespacedCustomObject({ ...DATAENDPOINTS, namespace: 'snoopy-operator', name: 'snoopydataendpoint-sample', body: { spec: { mode: 'deployment' } } }, MERGE_PATCH);
    await waitFor('Knative Service removed', async () => !(await getObject(kube, KSERVICES, 'snoopy-operator', 'snoopy-data-svc')), 20_000);
    const svc = await kube.core.readNamespacedService({ namespace: 'snoopy-operator', name: 'snoopy-data-svc' });
    expect(svc.spec!.ports![0]).toMatchObject({ name: 'h2c', port: 51001 });
    const d = await waitFor('deployment mode', async () => {
      const x = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'snoopy-operator', 'snoopydataendpoint-sample');
      return x?.status?.mode === 'deployment' ? x : undefined;
    });
    expect(d.status!.address).toBe('snoopy-data-svc.snoopy-operator.svc.cluster.local:51001');
  });

  test("never adopts an object of the collector's name that it did not create: NameInUse, the object untouched", async () => {
    const { kube } = cluster;
    // the kubectl-managed collector of knative/collector/service.yaml
    const theirs = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'snoopy-collector', namespace: 'snoopy-operator', labels: { 'app.kubernetes.io/name': 'snoopy-collector' } }, spec: { template: { spec: { containers: [{ name: 'collector', image: 'snoopy/collector:v1' }] } } } };
    await createObject(kube, KSERVICES, 'snoopy-operator', theirs as never);
    const before = (await getObject<KnativeService>(kube, KSERVICES, 'snoopy-operator', 'snoopy-collector'))!;
    await createObject(kube, DATAENDPOINTS, 'snoopy-operator', { apiVersion: 'data.fennecproject.io/v1alpha1', kind: 'SnoopyDataEndpoint', metadata: { name: 'clash', namespace: 'snoopy-operator' }, spec: { serviceName: 'snoopy-collector' } } as never);
    const clash = await waitFor('NameInUse', async () => {
      const d = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'snoopy-operator', 'clash');
      return d?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'NameInUse') ? d : undefined;
    });
    expect(clash.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', message: expect.stringMatching(/^Knative Service snoopy-operator\/snoopy-collector exists and was not created for this endpoint/) });
    expect(clash.status!.address).toBeUndefined();
    const after = (await getObject<KnativeService>(kube, KSERVICES, 'snoopy-operator', 'snoopy-collector'))!;
    expect(after.metadata.ownerReferences).toBeUndefined();
    expect(after.spec).toEqual(before.spec);
    expect((after.metadata as { resourceVersion?: string }).resourceVersion).toBe((before.metadata as { resourceVersion?: string }).resourceVersion);

    // the default name is the endpoint's own, so it does not meet that Service
    await createObject(kube, DATAENDPOINTS, 'snoopy-operator', { apiVersion: 'data.fennecproject.io/v1alpha1', kind: 'SnoopyDataEndpoint', metadata: { name: 'plain', namespace: 'snoopy-operator' }, spec: {} } as never);
    const own = await waitFor('plain-collector', () => getObject<KnativeService>(kube, KSERVICES, 'snoopy-operator', 'plain-collector'));
    expect(own.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'SnoopyDataEndpoint', name: 'plain', controller: true });
  });

  test('an endpoint in another namespace gets its collector, and a copy of the token key, in that namespace', async () => {
    const { kube } = cluster;
    await createObject(kube, DATAENDPOINTS, 'team-a', { apiVersion: 'data.fennecproject.io/v1alpha1', kind: 'SnoopyDataEndpoint', metadata: { name: 'team', namespace: 'team-a' }, spec: {} } as never);
    const ksvc = await waitFor('team-collector', () => getObject<KnativeService>(kube, KSERVICES, 'team-a', 'team-collector'));
    const env = (ksvc.spec.template as { spec: { containers: { env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[] } }).spec.containers[0]!.env;
    const keyRef = env.find((e) => e.name === 'SNOOPY_TOKEN_KEY')!.valueFrom!.secretKeyRef!.name;
    expect(keyRef).toBe('snoopy-token-key-team');
    const secret = await kube.core.readNamespacedSecret({ namespace: 'team-a', name: keyRef });
    expect(secret.metadata!.ownerReferences![0]).toMatchObject({ kind: 'SnoopyDataEndpoint', name: 'team' });
    const d = await waitFor('status', async () => {
      const x = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'team-a', 'team');
      return x?.status?.address ? x : undefined;
    });
    expect(d.status!.address).toBe('team-collector.team-a.svc.cluster.local:80');
  });
});
