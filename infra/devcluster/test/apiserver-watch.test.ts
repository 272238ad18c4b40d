// Watch semantics through client-node's Watch and informer: event order and types, selector
// transitions, initial state, bookmarks, timeoutSeconds, and 410 Gone after compaction with the
// informer relisting.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { makeInformer, PatchStrategy, setHeaderOptions, Watch, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { startFixture, suffix, until, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
let ns: string;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  f = await startFixture({ bookmarkIntervalMs: 300 });
  ns = `watch-${suffix()}`;
  await f.core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => { await f?.stop(); });

interface Seen { type: string; obj: KubernetesObject & Record<string, unknown> }

/** Starts a watch and collects its events; `ended` resolves when the stream closes. */
async function collect(path: string, query: Record<string, string | number | boolean>) {
  const events: Seen[] = [];
  let endedWith: unknown = 'open';
  let resolveEnd!: () => void;
  const ended = new Promise<void>((r) => { resolveEnd = r; });
  const req = await new Watch(f.kc).watch(path, query, (type, obj) => events.push({ type, obj }), (err) => { endedWith = err; resolveEnd(); });
  return { events, ended, req, endedWith: () => endedWith, names: () => events.map((e) => `${e.type}:${e.obj.metadata?.name ?? ''}`) };
}

describe('watch', () => {
  test('from a list resourceVersion: ADDED, MODIFIED, DELETED in order with increasing resourceVersions', async () => {
    const list = await f.core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata!.resourceVersion! });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w1' }, data: { a: '1' } } });
    await f.core.patchNamespacedConfigMap({ name: 'w1', namespace: ns, body: { data: { a: '2' } } }, merge);
    await f.core.deleteNamespacedConfigMap({ name: 'w1', namespace: ns });
    await until(() => w.events.length >= 3, 'three events');
    expect(w.names()).toEqual(['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1']);
    const rvs = w.events.map((e) => Number(e.obj.metadata!.resourceVersion));
    expect(rvs[0]).toBeLessThan(rvs[1]);
    expect(rvs[1]).toBeLessThan(rvs[2]);
    expect((w.events[1].obj as V1ConfigMap).data).toEqual({ a: '2' });
    w.req.abort();
  });

  test('a burst of concurrent creates (events written to the socket together) arrives whole and in resourceVersion order', async () => {
    const bns = `${ns}-burst`;
    await f.core.createNamespace({ body: { metadata: { name: bns } } });
    const list = await f.core.listNamespacedConfigMap({ namespace: bns });
    const w = await collect(`/api/v1/namespaces/${bns}/configmaps`, { resourceVersion: list.metadata!.resourceVersion! });
    await Promise.all(Array.from({ length: 60 }, (_, i) => f.core.createNamespacedConfigMap({ namespace: bns, body: { metadata: { name: `b${i}` } } })));
    await until(() => w.events.length >= 60, 'sixty events');
    expect(new Set(w.events.map((e) => e.obj.metadata!.name)).size).toBe(60);
    expect(w.events.every((e) => e.type === 'ADDED')).toBe(true);
    const rvs = w.events.map((e) => Number(e.obj.metadata!.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    w.req.abort();
  });

  test('resuming from a resourceVersion replays only later changes', async () => {
    const a = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'r1' } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'r2' } } });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: a.metadata!.resourceVersion! });
    await until(() => w.events.length >= 1, 'replayed event');
    expect(w.names()).toEqual(['ADDED:r2']);
    w.req.abort();
  });

  test('without resourceVersion the current state arrives as ADDED first', async () => {
    const wns = `${ns}-init`;
    await f.core.createNamespace({ body: { metadata: { name: wns } } });
    for (const n of ['i1', 'i2']) await f.core.createNamespacedConfigMap({ namespace: wns, body: { metadata: { name: n } } });
    const w = await collect(`/api/v1/namespaces/${wns}/configmaps`, {});
    await until(() => w.events.length >= 2, 'initial events');
    expect(w.names()).toEqual(['ADDED:i1', 'ADDED:i2']);
    w.req.abort();
  });

  test('label selector transitions: entering is ADDED, leaving is DELETED; field selector on name', async () => {
    const list = await f.core.listNamespacedConfigMap({ namespace: ns });
    const rv = list.metadata!.resourceVersion!;
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: rv, labelSelector: 'watched=yes' });
    const byName = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: rv, fieldSelector: 'metadata.name=t2' });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 't1', labels: { watched: 'no' } } } });
    await f.core.patchNamespacedConfigMap({ name: 't1', namespace: ns, body: { metadata: { labels: { watched: 'yes' } } } }, merge);
    await f.core.patchNamespacedConfigMap({ name: 't1', namespace: ns, body: { data: { x: '1' } } }, merge);
    await f.core.patchNamespacedConfigMap({ name: 't1', namespace: ns, body: { metadata: { labels: { watched: 'no' } } } }, merge);
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 't2', labels: { watched: 'yes' } } } });
    await until(() => w.events.length >= 4 && byName.events.length >= 1, 'selected events');
    expect(w.names()).toEqual(['ADDED:t1', 'MODIFIED:t1', 'DELETED:t1', 'ADDED:t2']);
    expect(byName.names()).toEqual(['ADDED:t2']);
    w.req.abort();
    byName.req.abort();
  });

  test('bookmarks carry the current resourceVersion; timeoutSeconds ends the stream', async () => {
    const list = await f.core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata!.resourceVersion!, allowWatchBookmarks: true, timeoutSeconds: 2 });
    await w.ended;
    const marks = w.events.filter((e) => e.type === 'BOOKMARK');
    expect(marks.length).toBeGreaterThan(0);
    expect(marks[0].obj).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    expect(Number(marks[0].obj.metadata!.resourceVersion)).toBeGreaterThanOrEqual(Number(list.metadata!.resourceVersion));
    expect(w.endedWith()).toBeNull();
  });

  test('a timeoutSeconds longer than node timers hold (24.8 days) keeps the stream open', async () => {
    const list = await f.core.listNamespacedConfigMap({ namespace: ns });
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: list.metadata!.resourceVersion!, timeoutSeconds: 30 * 86_400 });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'long-timeout' } } });
    await until(() => w.events.length >= 1 || w.endedWith() !== 'open', 'the event or the end of the stream');
    expect(w.endedWith()).toBe('open');
    expect(w.names()).toEqual(['ADDED:long-timeout']);
    w.req.abort();
  });

  test('sendInitialEvents ends the initial state with an annotated bookmark', async () => {
    const w = await collect(`/api/v1/namespaces/${ns}/configmaps`, { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true, fieldSelector: 'metadata.name=r1' });
    await until(() => w.events.length >= 2, 'initial events and bookmark');
    expect(w.events[0]).toMatchObject({ type: 'ADDED' });
    expect(w.events[1].type).toBe('BOOKMARK');
    expect(w.events[1].obj.metadata!.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    w.req.abort();
  });

  test('a resourceVersion older than the history gets an ERROR 410 Expired event, and the informer relists', async () => {
    const ins = `${ns}-inf`;
    await f.core.createNamespace({ body: { metadata: { name: ins } } });
    let lists = 0;
    const informer = makeInformer<V1ConfigMap>(f.kc, `/api/v1/namespaces/${ins}/configmaps`, () => { lists++; return f.core.listNamespacedConfigMap({ namespace: ins }); });
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    try {
      const a = await f.core.createNamespacedConfigMap({ namespace: ins, body: { metadata: { name: 'a' } } });
      await until(() => informer.get('a', ins), 'informer sees a');
      expect(lists).toBe(1);
      // In one tick: the watch connection drops, a change happens, and the history is compacted,
      // so the informer's resourceVersion (that of `a`) is too old when it re-watches.
      f.api.disconnectWatches();
      f.api.registry.create(f.api.registry.def('', 'configmaps'), 'v1', ins, { metadata: { name: 'b' } });
      f.api.compact();
      await until(() => informer.get('b', ins), 'informer relists and sees b');
      expect(lists).toBe(2);
      expect(errors).toEqual([]);
      const raw = await collect(`/api/v1/namespaces/${ins}/configmaps`, { resourceVersion: a.metadata!.resourceVersion! });
      await raw.ended;
      expect(raw.events).toHaveLength(1);
      expect(raw.events[0].type).toBe('ERROR');
      expect(raw.events[0].obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
      // After relisting the informer keeps watching.
      await f.core.createNamespacedConfigMap({ namespace: ins, body: { metadata: { name: 'c' } } });
      await until(() => informer.get('c', ins), 'informer sees c');
    } finally {
      await informer.stop();
    }
  });

  test('a watch asking for Tables (kubectl get -w) gets one-row Tables, column definitions first only', async () => {
    const tns = `${ns}-tbl`;
    await f.core.createNamespace({ body: { metadata: { name: tns } } });
    await f.core.createNamespacedPod({ namespace: tns, body: { metadata: { name: 'tp' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    const pending = f.http('GET', `/api/v1/namespaces/${tns}/pods?watch=true&timeoutSeconds=2`, undefined, undefined, 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
    await new Promise((r) => setTimeout(r, 500));
    await f.core.patchNamespacedPod({ name: 'tp', namespace: tns, body: { metadata: { labels: { x: 'y' } } } }, merge);
    const lines = (await pending).text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(lines[0].object.kind).toBe('Table');
    expect(lines[0].object.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node']);
    expect(lines[1].object.columnDefinitions).toEqual([]);
    expect(lines[1].object.rows[0].cells.slice(0, 3)).toEqual(['tp', '0/1', 'Pending']);
  });

  test('an invalid resourceVersion is 400', async () => {
    const r = await f.http('GET', `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=abc`);
    expect(r.status).toBe(400);
    expect(r.json.reason).toBe('BadRequest');
  });
});
