import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { getObject, makeKube, mapLimit, SNOOPYJOBS } from '../kube/client.js';

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
});
