// Every install variant the README documents, on the full dev cluster with the real kubectl (as
// `make demo` does), each checked by a capture reaching S3:
// 1. plain install (infra/default + infra/samples, with infra/dev's dev-cluster differences and the
//    images named as `make deploy REGISTRY=kind.local TAG=dev` names them): the sample endpoint is
//    a Deployment + Service, the sample SnoopyJob captures through it;
// 2. Knative installed (the Knative Service CRD, so the dev cluster's Knative stand-in runs, with
//    its queue-proxy, timeouts, port-80 front door and tag resolution), the operator restarted: the
//    same sample endpoint becomes a Knative Service on port 80 only (the seed's :51001 is gone) and
//    the sample SnoopyJob, which names it by dataEndpointRef, captures through it; the
//    kubectl-managed knative/collector Service fails as `snoopy/collector:latest` (tag resolution)
//    and, named under kind.local, takes a capture addressed to it directly on port 80;
// 3. a SnoopyDataEndpoint in another namespace (team-a, with the RoleBinding the README gives and
//    its own credentials Secret) runs its collector there and stores under its own prefix.
// Needs root (the dev cluster's kubelets); skipped otherwise.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';
import { createS3Client } from '../../lib/s3.js';
import { KNATIVE_SERVICE_CRD } from '../devcluster/harness.js';
import type { Kubectl } from '../demo/kubectl.js';
import { startDevInstallCluster, type DevInstallCluster } from './dev-install-cluster.js';
import { parseObjects, secretStrings, type K8sObject } from '../install/bundle.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const NS = 'snoopy-operator';
const TEAM = `team-${Math.random().toString(36).slice(2, 7)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Conditioned {
  metadata?: { name?: string };
  status?: { phase?: string; captureId?: string; mode?: string; address?: string; podIP?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
const cond = (o: Conditioned | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** Polls every second until `check` gives a value; names what it waited for, and the last error. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, seconds = 120): Promise<T> {
  let last = '';
  for (let i = 0; i < seconds; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message.split('\n')[0]!;
    }
    await sleep(1000);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
}

d('install variants on the dev cluster, each with a capture in S3', () => {
  let installed: DevInstallCluster | undefined;
  let kubectl: Kubectl;
  let objects: K8sObject[];
  let s3Creds: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string };

  const readyPod = async (ns: string, selector: string) => {
    const pods = await kubectl.getJson<{ items: Conditioned[] }>(['pods', '-n', ns, '-l', selector]);
    return pods.items.find((p) => p.status?.phase === 'Running' && cond(p, 'Ready')?.status === 'True');
  };
  /** Keys under a prefix, read from MinIO (the embedded S3 server) through its pod IP. */
  const objectsUnder = async (prefix: string): Promise<string[]> => {
    const minio = await readyPod(NS, 'app.kubernetes.io/name=minio');
    const s3 = createS3Client({ endpoint: `http://${minio!.status!.podIP}:9000`, forcePathStyle: true, accessKeyId: s3Creds.AWS_ACCESS_KEY_ID, secretAccessKey: s3Creds.AWS_SECRET_ACCESS_KEY });
    try {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: 'snoopy', Prefix: prefix }));
      return (res.Contents ?? []).map((o) => o.Key!).sort();
    } finally {
      s3.destroy();
    }
  };
  const endpointReady = (ns: string, name: string, mode: string) =>
    waitFor(`SnoopyDataEndpoint ${ns}/${name} ready in ${mode} mode`, async () => {
      const ep = await kubectl.getJson<Conditioned>(['snoopydataendpoints', '-n', ns, name]);
      return ep.status?.mode === mode && cond(ep, 'Ready')?.status === 'True' ? ep : undefined;
    });
  /** Applies a SnoopyJob, waits for it to finish, and returns the keys its run stored. */
  const capture = async (job: K8sObject, prefix = ''): Promise<{ phase: string; keys: string[] }> => {
    await kubectl.run(['delete', 'snoopyjob', '-n', NS, job.metadata.name, '--ignore-not-found', '--wait=true']);
    await kubectl.apply(stringify(job));
    const sj = await waitFor(`SnoopyJob ${job.metadata.name} to finish`, async () => {
      const j = await kubectl.getJson<Conditioned>(['snoopyjobs', '-n', NS, job.metadata.name]);
      return ['Completed', 'Failed', 'Invalid', 'NoTargets'].includes(j.status?.phase ?? '') ? j : undefined;
    }, 150);
    const keys = await objectsUnder(`${prefix}${NS}/${job.metadata.name}/${sj.status!.captureId}/`);
    return { phase: sj.status!.phase!, keys: keys.filter((k) => /\/\d{6}\.pcap$/.test(k)) };
  };

  beforeAll(async () => {
    // infra/dev (infra/default + infra/samples and the dev-cluster differences) with the images
    // as `make deploy REGISTRY=kind.local TAG=dev` names them
    installed = await startDevInstallCluster('variants', ['node-a', 'node-b'], NS);
    ({ kubectl, objects } = installed);
    s3Creds = secretStrings(objects, 'snoopy-s3-credentials') as typeof s3Creds;
  }, 120_000);

  afterAll(async () => {
    await installed?.stop();
  }, 120_000);

  const sampleJob = () => objects.find((o) => o.kind === 'SnoopyJob' && o.metadata.name === 'snoopy-samplejob')!;

  test('plain install: the sample endpoint is a Deployment + Service and the sample SnoopyJob captures through it', async () => {
    const found = (o: K8sObject) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition';
    await kubectl.apply(objects.filter(found).map((o) => stringify(o)).join('---\n'));
    for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
      await waitFor(`CRD ${crd.metadata.name}`, async () => (cond(await kubectl.getJson<Conditioned>(['crd', crd.metadata.name]), 'Established')?.status === 'True' ? true : undefined));
    }
    await kubectl.apply(objects.filter((o) => !found(o) && o.kind !== 'SnoopyJob').map((o) => stringify(o)).join('---\n'));
    await waitFor('the bucket Job', async () => (cond(await kubectl.getJson<Conditioned>(['job', '-n', NS, 'minio-create-bucket']), 'Complete')?.status === 'True' ? true : undefined));
    const ep = await endpointReady(NS, 'snoopydataendpoint-sample', 'deployment');
    expect(ep.status!.address).toBe('snoopy-data-svc.snoopy-operator.svc.cluster.local:51001');
    const r = await capture(sampleJob());
    expect(r.phase).toBe('Completed');
    expect(r.keys.length).toBeGreaterThanOrEqual(2); // both pinging pods
  }, 400_000);

  test('Knative installed: the sample endpoint becomes a Knative Service on port 80; the sample SnoopyJob and a direct capture to knative/collector both reach S3', async () => {
    await kubectl.apply(stringify(KNATIVE_SERVICE_CRD));
    await waitFor('serving.knative.dev served', async () => ((await kubectl.run(['api-resources', '--api-group=serving.knative.dev', '-o', 'name'])).includes('services.') ? true : undefined));
    // the operator looks for Knative once a minute; a restart makes it look now
    await kubectl.run(['delete', 'pod', '-n', NS, '-l', 'app.kubernetes.io/name=snoopy-operator', '--wait=true']);
    const ep = await endpointReady(NS, 'snoopydataendpoint-sample', 'knative');
    expect(ep.status!.address).toBe('snoopy-data-svc.snoopy-operator.svc.cluster.local:80');
    const sample = await capture(sampleJob());
    expect(sample.phase).toBe('Completed');
    expect(sample.keys.length).toBeGreaterThanOrEqual(2);

    // the seed's fixed address no longer fits: a Knative Service is served on port 80 only
    const svc = await kubectl.getJson<{ spec: { ports: { port: number }[] } }>(['service', '-n', NS, 'snoopy-data-svc']);
    expect(svc.spec.ports.map((p) => p.port)).toEqual([80]);

    // knative/collector as kubectl applies it without a registry: Knative cannot resolve the tag
    const collector = parseObjects(await kubectl.run(['kustomize', repoPath('knative/collector')]), 'knative/collector')[0]!;
    await kubectl.apply(stringify(collector));
    const failed = await waitFor('knative/collector RevisionFailed', async () => {
      const ready = cond(await kubectl.getJson<Conditioned>(['services.serving.knative.dev', '-n', NS, 'snoopy-collector']), 'Ready');
      return ready?.reason === 'RevisionFailed' ? ready : undefined;
    });
    expect(failed.message).toMatch(/Unable to fetch image "snoopy\/collector:latest"/);
    // as `make deploy REGISTRY=kind.local TAG=dev` applies it
    const spec = (collector as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec;
    spec.containers[0]!.image = 'kind.local/snoopy/collector:dev';
    await kubectl.apply(stringify(collector));
    await waitFor('knative/collector Ready', async () => (cond(await kubectl.getJson<Conditioned>(['services.serving.knative.dev', '-n', NS, 'snoopy-collector']), 'Ready')?.status === 'True' ? true : undefined));
    const direct = structuredClone(sampleJob());
    direct.metadata.name = 'direct-to-knative';
    const dspec = (direct as unknown as { spec: Record<string, unknown> }).spec;
    delete dspec.dataEndpointRef;
    dspec.dataServiceIP = 'snoopy-collector.snoopy-operator.svc.cluster.local';
    dspec.dataServicePort = '80';
    const r = await capture(direct);
    expect(r.phase).toBe('Completed');
    expect(r.keys.length).toBeGreaterThanOrEqual(2);
  }, 400_000);

  test('a SnoopyDataEndpoint in another namespace runs its collector there and stores under its prefix', async () => {
    await kubectl.run(['create', 'namespace', TEAM]);
    // what the README's `kubectl create rolebinding` makes (applied as YAML: the dev API server
    // takes RBAC objects as JSON only; it stores them but does not enforce RBAC)
    await kubectl.apply(
      stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'snoopy-operator-endpoint', namespace: TEAM },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'snoopy-operator-endpoint-workloads' },
        subjects: [{ kind: 'ServiceAccount', name: 'snoopy-operator', namespace: NS }],
      }),
    );
    await kubectl.run(['create', 'secret', 'generic', 'team-s3', '-n', TEAM, `--from-literal=AWS_ACCESS_KEY_ID=${s3Creds.AWS_ACCESS_KEY_ID}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3Creds.AWS_SECRET_ACCESS_KEY}`]);
    await kubectl.apply(
      stringify({
        apiVersion: 'data.fennecproject.io/v1alpha1',
        kind: 'SnoopyDataEndpoint',
        metadata: { name: 'team-endpoint', namespace: TEAM },
        spec: { storage: { endpoint: `http://minio.${NS}.svc.cluster.local:9000`, bucket: 'snoopy', prefix: TEAM, forcePathStyle: true, credentialsSecret: { name: 'team-s3' } } },
      }),
    );
    const ep = await endpointReady(TEAM, 'team-endpoint', 'knative');
    expect(ep.status!.address).toBe(`team-endpoint-collector.${TEAM}.svc.cluster.local:80`);
    const job = structuredClone(sampleJob());
    job.metadata.name = 'to-team-endpoint';
    (job as unknown as { spec: Record<string, unknown> }).spec.dataEndpointRef = { name: 'team-endpoint', namespace: TEAM };
    const r = await capture(job, `${TEAM}/`);
    expect(r.phase).toBe('Completed');
    expect(r.keys.length).toBeGreaterThanOrEqual(2);
  }, 400_000);
});
