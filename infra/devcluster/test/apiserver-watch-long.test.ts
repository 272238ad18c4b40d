// A watch stays open for 90 s and keeps delivering every change, in order, with bookmarks.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { PatchStrategy, setHeaderOptions, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { startFixture, suffix, until, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
beforeAll(async () => { f = await startFixture({ bookmarkIntervalMs: 10000 }); });
afterAll(async () => { await f?.stop(); });

test('a watch open for 90 s keeps delivering', async () => {
  const ns = `long-${suffix()}`;
  await f.core.createNamespace({ body: { metadata: { name: ns } } });
  const cm = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'tick' }, data: { n: '0' } } });
  const values: string[] = [];
  let bookmarks = 0;
  let ended = false;
  const req = await new Watch(f.kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: cm.metadata!.resourceVersion!, allowWatchBookmarks: true }, (type, obj: V1ConfigMap) => {
    if (type === 'BOOKMARK') bookmarks++;
    else values.push(`${type}:${obj.data?.n}`);
  }, () => { ended = true; });
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const started = Date.now();
  let n = 0;
  try {
    // One change every 5 s for 90 s: 18 changes, each seen before the next one is made.
    while (Date.now() - started < 90000 && n < 30) {
      await new Promise((r) => setTimeout(r, 5000));
      n++;
      await f.core.patchNamespacedConfigMap({ name: 'tick', namespace: ns, body: { data: { n: String(n) } } }, merge);
      await until(() => values.length >= n, `change ${n}`, 200, 50);
      expect(ended).toBe(false);
    }
    expect(n).toBeGreaterThanOrEqual(17);
    expect(values).toEqual(Array.from({ length: n }, (_, i) => `MODIFIED:${i + 1}`));
    expect(bookmarks).toBeGreaterThanOrEqual(5);
    expect(ended).toBe(false);
  } finally {
    req.abort();
  }
}, 150000);
