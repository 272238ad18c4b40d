// Custom resources served from CRDs: establishment, discovery, structural schema validation
// (422 with field paths), pruning, defaulting, the status subresource, versions, printer columns,
// cluster scope, and removal with the CRD — through client-node and kubectl.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { failure, startFixture, suffix, until, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
let ns: string;
const group = `widgets-${suffix()}.example.com`;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- custom objects are untyped JSON

const widgetSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1, maximum: 10 },
        color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
        port: { 'x-kubernetes-int-or-string': true },
        note: { type: 'string', nullable: true },
        tags: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z]+$' }, weight: { type: 'integer', default: 1 } } } },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    status: { type: 'object', properties: { phase: { type: 'string' }, count: { type: 'integer' } } },
  },
};

function widgetCrd(): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wg'], categories: ['all'] },
      versions: [
        { name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: widgetSchema }, subresources: { status: {}, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.count' } },
          additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }, { name: 'Phase', type: 'string', jsonPath: '.status.phase' }, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }] },
        { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: widgetSchema }, subresources: { status: {} } },
      ],
    },
  };
}

beforeAll(async () => {
  f = await startFixture();
  ns = `crd-${suffix()}`;
  await f.core.createNamespace({ body: { metadata: { name: ns } } });
  await installCrd(widgetCrd());
});

/** CRDs are posted as raw JSON, as kubectl does: client-node's typed model renames schema keys (`default`, `x-kubernetes-*`). */
async function installCrd(crd: Obj): Promise<void> {
  const r = await f.http('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  if (r.status !== 201) throw new Error(`CRD create failed: ${r.text}`);
}
afterAll(async () => { await f?.stop(); });

const create = (body: Obj, version = 'v1alpha1') => f.custom.createNamespacedCustomObject({ group, version, namespace: ns, plural: 'widgets', body: { apiVersion: `${group}/${version}`, kind: 'Widget', ...body } }) as Promise<Obj>;
const get = (name: string, version = 'v1alpha1') => f.custom.getNamespacedCustomObject({ group, version, namespace: ns, plural: 'widgets', name }) as Promise<Obj>;

describe('CustomResourceDefinition', () => {
  test('is Established with NamesAccepted, and its resource appears in discovery with shortNames and status', async () => {
    const crd = await f.ext.readCustomResourceDefinition({ name: `widgets.${group}` });
    const conds = Object.fromEntries(crd.status!.conditions!.map((c) => [c.type, c.status]));
    expect(conds).toEqual({ NamesAccepted: 'True', Established: 'True' });
    expect(crd.status!.acceptedNames).toMatchObject({ plural: 'widgets', kind: 'Widget', shortNames: ['wg'] });
    expect(crd.status!.storedVersions).toEqual(['v1alpha1']);
    expect(crd.metadata!.finalizers).toContain('customresourcecleanup.apiextensions.k8s.io');
    const rl = await f.http('GET', `/apis/${group}/v1alpha1`);
    expect(rl.json.resources).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'widgets', kind: 'Widget', namespaced: true, shortNames: ['wg'], categories: ['all'] }),
      expect.objectContaining({ name: 'widgets/status', verbs: ['get', 'patch', 'update'] }),
    ]));
    const g = await f.http('GET', `/apis/${group}`);
    expect(g.json.preferredVersion.version).toBe('v1alpha1');
    expect(g.json.versions.map((v: { version: string }) => v.version)).toEqual(['v1beta1', 'v1alpha1']);
  });

  test('an invalid CRD is 422 with the field path', async () => {
    const bad = widgetCrd();
    bad.metadata.name = `gadgets.${group}`;
    const r = await failure(f.ext.createCustomResourceDefinition({ body: bad as never }));
    expect(r).toMatchObject({ httpCode: 422, reason: 'Invalid' });
    expect(r.details!.causes!.map((c) => c.field)).toContain('metadata.name');
  });
});

describe('custom resources', () => {
  test('invalid objects are rejected with 422 and every failing field path', async () => {
    const r = await failure(create({ metadata: { name: 'bad' }, spec: { size: 'big', color: 'green', tags: [{ name: 'UPPER' }, {}] } }));
    expect(r).toMatchObject({ httpCode: 422, reason: 'Invalid', details: { name: 'bad', group, kind: 'Widget' } });
    const fields = r.details!.causes!.map((c) => c.field).sort();
    expect(fields).toEqual(['spec.color', 'spec.size', 'spec.tags[0].name', 'spec.tags[1].name'].sort());
    expect(r.details!.causes!.find((c) => c.field === 'spec.size')!.message).toContain('must be of type integer');
    expect(r.details!.causes!.find((c) => c.field === 'spec.color')!.message).toContain('Unsupported value: "green"');
    expect(r.details!.causes!.find((c) => c.field === 'spec.tags[1].name')!.reason).toBe('FieldValueRequired');
    const missing = await failure(create({ metadata: { name: 'bad2' }, spec: {} }));
    expect(missing.details!.causes![0]).toMatchObject({ field: 'spec.size', reason: 'FieldValueRequired' });
    const range = await failure(create({ metadata: { name: 'bad3' }, spec: { size: 11 } }));
    expect(range.details!.causes![0].field).toBe('spec.size');
  });

  test('unknown fields are pruned (except under preserve-unknown-fields), defaults applied, int-or-string and nullable accepted', async () => {
    const w = await create({ metadata: { name: 'w1', labels: { app: 'w' } }, spec: { size: 3, port: 'http', note: null, bogus: true, tags: [{ name: 'a', junk: 1 }], extra: { anything: { goes: 1 } }, labels: { k: 'v' } }, topLevelJunk: 1 });
    expect(w.spec).toEqual({ size: 3, color: 'red', port: 'http', note: null, tags: [{ name: 'a', weight: 1 }], extra: { anything: { goes: 1 } }, labels: { k: 'v' } });
    expect(w.topLevelJunk).toBeUndefined();
    expect(w.metadata.generation).toBe(1);
    const numeric = await create({ metadata: { name: 'w-port' }, spec: { size: 1, port: 8080 } });
    expect(numeric.spec.port).toBe(8080);
    const strict = await f.http('POST', `/apis/${group}/v1alpha1/namespaces/${ns}/widgets?fieldValidation=Strict`, { apiVersion: `${group}/v1alpha1`, kind: 'Widget', metadata: { name: 'w-strict' }, spec: { size: 1, bogus: 1 } });
    expect(strict.status).toBe(400);
    expect(strict.json.message).toContain('unknown field "spec.bogus"');
    const warn = await f.http('POST', `/apis/${group}/v1alpha1/namespaces/${ns}/widgets?fieldValidation=Warn`, { apiVersion: `${group}/v1alpha1`, kind: 'Widget', metadata: { name: 'w-warn' }, spec: { size: 1, bogus: 1 } });
    expect(warn.status).toBe(201);
    expect(warn.headers.get('warning')).toContain('unknown field \\"spec.bogus\\"');
  });

  test('status changes only through /status; the main resource ignores status; generation follows spec', async () => {
    const w = await create({ metadata: { name: 'w2' }, spec: { size: 2 }, status: { phase: 'Sneaky' } });
    expect(w.status).toBeUndefined();
    const upd = await f.custom.replaceNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'widgets', name: 'w2', body: { ...w, status: { phase: 'Ignored' } } }) as Obj;
    expect(upd.status).toBeUndefined();
    expect(upd.metadata.generation).toBe(1);
    const st = await f.custom.patchNamespacedCustomObjectStatus({ group, version: 'v1alpha1', namespace: ns, plural: 'widgets', name: 'w2', body: { status: { phase: 'Ready', count: 2 }, spec: { size: 9 } } }, merge) as Obj;
    expect(st.status).toEqual({ phase: 'Ready', count: 2 });
    expect(st.spec.size).toBe(2);
    expect(st.metadata.generation).toBe(1);
    const badStatus = await failure(f.custom.patchNamespacedCustomObjectStatus({ group, version: 'v1alpha1', namespace: ns, plural: 'widgets', name: 'w2', body: { status: { count: 'many' } } }, merge));
    expect(badStatus.details!.causes![0].field).toBe('status.count');
    const spec = await f.custom.patchNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'widgets', name: 'w2', body: { spec: { size: 5 } } }, merge) as Obj;
    expect(spec.metadata.generation).toBe(2);
    expect(spec.status.phase).toBe('Ready');
    const smp = await failure(f.custom.patchNamespacedCustomObject({ group, version: 'v1alpha1', namespace: ns, plural: 'widgets', name: 'w2', body: { spec: { size: 6 } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)));
    expect(smp).toMatchObject({ httpCode: 415, reason: 'UnsupportedMediaType' });
  });

  test('scale subresource maps Scale.spec.replicas to the declared path; invalid replicas are 422', async () => {
    await create({ metadata: { name: 'ws' }, spec: { size: 2 } });
    const sc = await f.http('GET', `/apis/${group}/v1alpha1/namespaces/${ns}/widgets/ws/scale`);
    expect(sc.json).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { replicas: 0 } });
    const patched = await f.http('PATCH', `/apis/${group}/v1alpha1/namespaces/${ns}/widgets/ws/scale`, { spec: { replicas: 7 } }, 'application/merge-patch+json');
    expect(patched.json.spec.replicas).toBe(7);
    expect((await get('ws')).spec.size).toBe(7);
    const tooBig = await f.http('PATCH', `/apis/${group}/v1alpha1/namespaces/${ns}/widgets/ws/scale`, { spec: { replicas: 70 } }, 'application/merge-patch+json');
    expect(tooBig.status).toBe(422);
    expect(tooBig.json.details.causes[0].field).toBe('spec.size');
    expect((await f.http('GET', `/apis/${group}/v1beta1/namespaces/${ns}/widgets/ws/scale`)).status).toBe(404);
  });

  test('every served version reads the same object under its own apiVersion', async () => {
    await create({ metadata: { name: 'w3' }, spec: { size: 4 } }, 'v1beta1');
    const a = await get('w3', 'v1alpha1');
    const b = await get('w3', 'v1beta1');
    expect(a.apiVersion).toBe(`${group}/v1alpha1`);
    expect(b.apiVersion).toBe(`${group}/v1beta1`);
    expect(b.metadata.uid).toBe(a.metadata.uid);
    const list = await f.custom.listNamespacedCustomObject({ group, version: 'v1beta1', namespace: ns, plural: 'widgets' }) as Obj;
    expect(list.kind).toBe('WidgetList');
    expect(list.items.every((i: Obj) => i.apiVersion === `${group}/v1beta1`)).toBe(true);
    expect((await f.http('GET', `/apis/${group}/v2/namespaces/${ns}/widgets`)).status).toBe(404);
  });

  test('Table output uses the printer columns', async () => {
    const t = await f.http('GET', `/apis/${group}/v1alpha1/namespaces/${ns}/widgets`, undefined, undefined, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    expect(t.json.kind).toBe('Table');
    expect(t.json.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Size', 'Phase', 'Age']);
    const row = t.json.rows.find((r: { cells: unknown[] }) => r.cells[0] === 'w2');
    expect(row.cells[1]).toBe(5);
    expect(row.cells[2]).toBe('Ready');
    expect(row.object.kind).toBe('PartialObjectMetadata');
  });

  test('kubectl: get by short name with printer columns, apply validation (client and server), describe, delete', async () => {
    const listed = await f.kubectl(['get', 'wg', '-n', ns]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/NAME\s+SIZE\s+PHASE\s+AGE/);
    expect(listed.stdout).toMatch(/w2\s+5\s+Ready/);
    const manifest = (spec: string) => `apiVersion: ${group}/v1alpha1\nkind: Widget\nmetadata: {name: kw, namespace: ${ns}}\nspec: ${spec}\n`;
    const ok = await f.kubectl(['apply', '-f', '-'], manifest('{size: 2}'));
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('widget.' + group + '/kw created');
    const again = await f.kubectl(['apply', '-f', '-'], manifest('{size: 3, color: blue}'));
    expect(again.stdout).toContain('configured');
    expect((await get('kw')).spec).toMatchObject({ size: 3, color: 'blue' });
    const unknown = await f.kubectl(['apply', '-f', '-'], manifest('{size: 3, wrong: 1}'));
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown field "spec.wrong"');
    const invalid = await f.kubectl(['apply', '-f', '-'], manifest('{size: 0}'));
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('spec.size');
    const desc = await f.kubectl(['describe', 'widget', 'kw', '-n', ns]);
    expect(desc.code).toBe(0);
    expect(desc.stdout).toMatch(/Size:\s+3/);
    const del = await f.kubectl(['delete', 'widget', 'kw', '-n', ns]);
    expect(del.stdout).toContain('deleted');
  });

  test('cluster-scoped custom resources', async () => {
    const cg = `things-${suffix()}.example.com`;
    await installCrd({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
      metadata: { name: `things.${cg}` },
      spec: { group: cg, scope: 'Cluster', names: { plural: 'things', kind: 'Thing' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    });
    const t = await f.custom.createClusterCustomObject({ group: cg, version: 'v1', plural: 'things', body: { apiVersion: `${cg}/v1`, kind: 'Thing', metadata: { name: 't1', namespace: 'ignored' }, anything: [1, 2] } }) as Obj;
    expect(t.metadata.namespace).toBeUndefined();
    expect(t.anything).toEqual([1, 2]);
    expect((await f.http('GET', `/apis/${cg}/v1/namespaces/default/things`)).status).toBe(404);
  });

  test('deleting the CRD deletes its objects, then stops serving the resource', async () => {
    const g2 = `temp-${suffix()}.example.com`;
    const crd = widgetCrd();
    crd.metadata.name = `widgets.${g2}`;
    crd.spec.group = g2;
    await installCrd(crd);
    await f.custom.createNamespacedCustomObject({ group: g2, version: 'v1alpha1', namespace: ns, plural: 'widgets', body: { apiVersion: `${g2}/v1alpha1`, kind: 'Widget', metadata: { name: 'doomed' }, spec: { size: 1 } } });
    await f.ext.deleteCustomResourceDefinition({ name: `widgets.${g2}` });
    await until(async () => (await f.http('GET', `/apis/${g2}/v1alpha1/namespaces/${ns}/widgets`)).status === 404, 'resource to stop being served');
    expect((await f.http('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${g2}`)).status).toBe(404);
    expect((await f.http('GET', '/apis')).json.groups.map((g: { name: string }) => g.name)).not.toContain(g2);
  });
});
