import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { WritesStoppedError, errorText, getJson, getObject, makeKube, mapLimit, patchObject, SNOOPYJOBS, statusCode } from '../../lib/kube/client.js';

// A tiny API stand-in that counts TCP connections: client-node alone opens one per request.
describe('API client connections', () => {
  let server: Server;
  let connections = 0;
  let requests = 0;
  let kc: KubeConfig;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/api/v1/namespaces/ns/pods') {
        res.end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'p', creationTimestamp: '2026-01-02T03:04:05Z' } }] }));
        return;
      }
      if (req.url === '/api/v1/namespaces/locked/pods') {
        res.statusCode = 403;
        res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods is forbidden: no list in "locked"' }));
        return;
      }
      res.end(JSON.stringify({ apiVersion: 'job.fennecproject.io/v1alpha1', kind: 'SnoopyJob', metadata: { name: 'x', namespace: 'ns' } }));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('requests reuse kept-alive connections: 50 calls at concurrency 4 open at most 4', async () => {
    const kube = makeKube(kc);
    const results = await mapLimit(Array.from({ length: 50 }, (_, i) => i), 4, () => getObject(kube, SNOOPYJOBS, 'ns', 'x'));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(requests).toBe(50);
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThanOrEqual(4);
  });

  test('the bearer token from the kubeconfig is still sent', async () => {
    let auth: string | undefined;
    server.once('request', (req) => (auth = req.headers.authorization));
    await getObject(makeKube(kc), SNOOPYJOBS, 'ns', 'x');
    expect(auth).toBe('Bearer t');
  });

  test('getJson: a GET parsed once into plain JSON, with the kubeconfig\'s credentials', async () => {
    let auth: string | undefined;
    server.once('request', (req) => (auth = req.headers.authorization));
    const list = await getJson<{ metadata: { resourceVersion: string }; items: { metadata: { name: string; creationTimestamp: unknown } }[] }>(makeKube(kc), '/api/v1/namespaces/ns/pods');
    expect(auth).toBe('Bearer t');
    expect(list.metadata.resourceVersion).toBe('7');
    // plain JSON: the timestamp stays the string the server sent (the typed API makes it a Date)
    expect(list.items[0]!.metadata).toEqual({ name: 'p', creationTimestamp: '2026-01-02T03:04:05Z' });
  });

  test('getJson: an error status is an ApiException with the code and the server\'s message', async () => {
    const err = await getJson(makeKube(kc), '/api/v1/namespaces/locked/pods').catch((e: unknown) => e);
    expect(statusCode(err)).toBe(403);
    expect(errorText(err)).toBe('HTTP 403: pods is forbidden: no list in "locked"');
  });

  test('writesUntil: once aborted, writes are refused before they leave the process; reads go on', async () => {
    const stop = new AbortController();
    const kube = makeKube(kc, { writesUntil: stop.signal });
    const seen: string[] = [];
    const record = (req: { method?: string }) => seen.push(req.method ?? '');
    server.on('request', record);
    try {
      await patchObject(kube, SNOOPYJOBS, 'ns', 'x', { metadata: { labels: { a: 'b' } } });
      stop.abort();
      const refused = await patchObject(kube, SNOOPYJOBS, 'ns', 'x', { metadata: { labels: { a: 'c' } } }).catch((e: unknown) => e);
      const deleted = await kube.core.deleteNamespacedSecret({ namespace: 'ns', name: 's' }).catch((e: unknown) => e);
      await getObject(kube, SNOOPYJOBS, 'ns', 'x');
      expect(refused).toBeInstanceOf(WritesStoppedError);
      expect(deleted).toBeInstanceOf(WritesStoppedError);
      expect(seen).toEqual(['PATCH', 'GET']);
    } finally {
      server.off('request', record);
    }
  });
});
