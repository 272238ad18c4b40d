// The size and length limits of a real API server and its etcd (apiserver/limits.ts): a request
// body over 3 MiB is 413, an object over etcd's 1.5 MiB is the 500 a real server passes through
// from etcd, and the per-field limits are 422 with the real messages. Each refusal leaves the
// store as it was.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ETCD_MAX_REQUEST_BYTES, MAX_REQUEST_BODY_BYTES } from '../apiserver/limits.js';
import { failure, podSpec, startFixture, suffix, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
let ns: string;
const group = `limits-${suffix()}.example.com`;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  f = await startFixture();
  ns = `limits-${suffix()}`;
  await f.core.createNamespace({ body: { metadata: { name: ns } } });
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `reports.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'reports', singular: 'report', kind: 'Report' },
      versions: [{
        name: 'v1', served: true, storage: true, subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      }],
    },
  };
  const r = await f.http('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  if (r.status !== 201) throw new Error(`CRD create failed: ${r.text}`);
  for (let i = 0; i < 100 && (await f.http('GET', `/apis/${group}/v1/namespaces/${ns}/reports`)).status !== 200; i++) await new Promise((res) => setTimeout(res, 50));
});
afterAll(async () => { await f?.stop(); });

const reportsPath = () => `/apis/${group}/v1/namespaces/${ns}/reports`;
/** A status whose stored JSON is about `bytes` long. */
const bulkyStatus = (bytes: number) => ({ targets: 'x'.repeat(bytes) });

describe('request body limit', () => {
  test('a body over 3 MiB is 413 RequestEntityTooLarge with the limit, and nothing is stored', async () => {
    const body = { metadata: { name: 'huge' }, data: { a: 'x'.repeat(MAX_REQUEST_BODY_BYTES) } };
    const r = await f.http('POST', `/api/v1/namespaces/${ns}/configmaps`, body);
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'RequestEntityTooLarge', code: 413, message: 'Request entity too large: limit is 3145728' });
    expect((await f.http('GET', `/api/v1/namespaces/${ns}/configmaps/huge`)).status).toBe(404);
    // the same through client-node
    const e = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body }));
    expect(e.httpCode).toBe(413);
  });

  test('kubectl reports the 413 as the real server\'s message', async () => {
    const cm = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge-kubectl', namespace: ns }, data: { a: 'y'.repeat(MAX_REQUEST_BODY_BYTES) } });
    const r = await f.kubectl(['create', '-f', '-'], cm);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Request entity too large: limit is 3145728');
  });
});

describe('etcd object size limit', () => {
  test('a custom resource status pushed over 1.5 MiB is refused as etcd refuses it; the object and the revision stay', async () => {
    const created = await f.http('POST', reportsPath(), { apiVersion: `${group}/v1`, kind: 'Report', metadata: { name: 'grows' }, spec: {} });
    expect(created.status).toBe(201);
    const rv = created.json.metadata.resourceVersion as string;
    // a body under 3 MiB, an object over 1.5 MiB: only etcd's limit applies
    const r = await f.http('PATCH', `${reportsPath()}/grows/status`, { status: bulkyStatus(ETCD_MAX_REQUEST_BYTES) }, 'application/merge-patch+json');
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'etcdserver: request is too large', code: 500 });
    const after = await f.http('GET', `${reportsPath()}/grows`);
    expect(after.json.metadata.resourceVersion).toBe(rv);
    expect(after.json.status).toBeUndefined();
    // the refused write did not move the revision: the next write takes the next number
    const cm = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after-refusal' } } });
    expect(Number(cm.metadata!.resourceVersion)).toBe(Number(rv) + 1);
  });

  test('through client-node the refusal is an ApiException with code 500 and etcd\'s message', async () => {
    await f.custom.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'reports', body: { apiVersion: `${group}/v1`, kind: 'Report', metadata: { name: 'typed' }, spec: {} } });
    const e = await failure(f.custom.patchNamespacedCustomObjectStatus({ group, version: 'v1', namespace: ns, plural: 'reports', name: 'typed', body: { status: bulkyStatus(ETCD_MAX_REQUEST_BYTES + 10) } }, merge));
    expect(e.httpCode).toBe(500);
    expect(e.message).toBe('etcdserver: request is too large');
  });

  test('an object just under the limit is stored; creating one over it is refused and leaves nothing', async () => {
    const under = await f.http('POST', reportsPath(), { apiVersion: `${group}/v1`, kind: 'Report', metadata: { name: 'under' }, spec: { pad: 'z'.repeat(ETCD_MAX_REQUEST_BYTES - 1024) } });
    expect(under.status).toBe(201);
    const over = await f.http('POST', reportsPath(), { apiVersion: `${group}/v1`, kind: 'Report', metadata: { name: 'over' }, spec: { pad: 'z'.repeat(ETCD_MAX_REQUEST_BYTES) } });
    expect(over.status).toBe(500);
    expect(over.json.message).toBe('etcdserver: request is too large');
    expect((await f.http('GET', `${reportsPath()}/over`)).status).toBe(404);
  });
});

describe('field limits (422 Invalid, as in Kubernetes 1.32)', () => {
  test('Secret and ConfigMap data over 1 MiB', async () => {
    const mib = 1024 * 1024;
    const s = await failure(f.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'big-secret' }, data: { a: Buffer.alloc(mib + 1).toString('base64') } } }));
    expect(s).toMatchObject({ httpCode: 422, reason: 'Invalid' });
    expect(s.message).toContain('data: Too long: must have at most 1048576 bytes');
    // exactly 1 MiB is allowed
    await f.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'mib-secret' }, data: { a: Buffer.alloc(mib).toString('base64') } } });
    const c = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'big-cm' }, data: { a: 'q'.repeat(mib), b: 'q' } } }));
    expect(c).toMatchObject({ httpCode: 422, reason: 'Invalid' });
    expect(c.message).toContain('Too long: must have at most 1048576 bytes');
  });

  test('annotations over 256 KiB in all', async () => {
    const half = 'a'.repeat(128 * 1024);
    const e = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'annotated', annotations: { one: half, two: half } } } }));
    expect(e.httpCode).toBe(422);
    expect(e.message).toContain('metadata.annotations: Too long: must have at most 262144 bytes');
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'annotated', annotations: { one: half } } } });
  });

  test('label values over 63 characters, on objects and on a Job\'s pod template', async () => {
    const e = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'labelled', labels: { app: 'l'.repeat(64) } } } }));
    expect(e.httpCode).toBe(422);
    expect(e.message).toContain('must be no more than 63 characters');
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'labelled', labels: { app: 'l'.repeat(63) } } } });
    const t = await failure(f.batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'j' }, spec: { template: { metadata: { labels: { run: 'r'.repeat(64) } }, spec: { ...podSpec(), restartPolicy: 'Never' } } } } }));
    expect(t.httpCode).toBe(422);
    expect(t.message).toContain('spec.template.labels');
  });

  test('Job names over 63 and CronJob names over 52 characters', async () => {
    const job = (name: string) => ({ metadata: { name }, spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } });
    const j = await failure(f.batch.createNamespacedJob({ namespace: ns, body: job('j'.repeat(64)) }));
    expect(j.httpCode).toBe(422);
    expect(j.message).toContain('must be no more than 63 characters');
    await f.batch.createNamespacedJob({ namespace: ns, body: job('j'.repeat(63)) });
    const cron = (name: string) => ({ metadata: { name }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } } } });
    const c = await failure(f.batch.createNamespacedCronJob({ namespace: ns, body: cron('c'.repeat(53)) }));
    expect(c.httpCode).toBe(422);
    expect(c.message).toContain('metadata.name: Invalid value: "' + 'c'.repeat(53) + '": must be no more than 52 characters');
    await f.batch.createNamespacedCronJob({ namespace: ns, body: cron('c'.repeat(52)) });
  });
});
