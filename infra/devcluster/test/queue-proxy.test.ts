// The queue-proxy stand-in with real gRPC over loopback: a real collector (directory storage)
// behind the proxy, slow uploads from the project's own client. The revision timeouts are scaled
// down (seconds instead of minutes) but keep the shapes that matter: the manifest before the fix
// (idle limit below the request timeout) cuts a long upload; the fixed chain (short response
// start, idle = request timeout) carries it, because the collector sends its headers at once; a
// collector that answers only at the end (as before the fix) trips the response-start limit.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment } from '../../../lib/collector-client.js';
import { createLogger } from '../../../lib/log.js';
import { loadCollectorProtos, type UploadRequest, type UploadResponse } from '../../../lib/proto.js';
import { startCollectorChild, type CollectorChild } from '../../../functions/collector/child.js';
import { startQueueProxy, type QueueProxy, type QueueProxyTimeouts } from '../queue-proxy/proxy.js';

const log = createLogger('queue-proxy-test', process.env.TEST_LOG_LEVEL ?? 'silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A segment's bytes, handed out over `seconds` in 8 slices (a slow link). */
async function* slowly(seconds: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < 8; i++) {
    await sleep((seconds * 1000) / 8);
    yield Buffer.alloc(64 * 1024, i);
  }
}

const header = (sequence: number) => ({
  captureId: 'cap-qp',
  snoopyJob: 'job',
  snoopyJobNamespace: 'snoopy-operator',
  pod: 'web-0',
  podNamespace: 'shop',
  podUid: 'uid-1',
  node: 'node-a',
  container: 'app',
  command: 'tcpdump',
  args: ['-w', '-'],
  sequence,
  last: false,
  format: 'FORMAT_TEXT' as const,
  startedUnixNanos: '1',
  token: '',
});

/** The collector as it was before the fix: UploadSegment writes nothing until its reply. */
async function startLateCollector(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server();
  const { collectorService } = loadCollectorProtos();
  server.addService(collectorService, {
    UploadSegment: (call: grpc.ServerReadableStream<UploadRequest, UploadResponse>, cb: grpc.sendUnaryData<UploadResponse>) => {
      let bytes = 0;
      call.on('data', (m: UploadRequest) => (bytes += m.chunk?.length ?? 0));
      call.on('end', () => cb(null, { bucket: 'local', key: 'k', bytes: String(bytes), sha256: '', uri: '' }));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, close: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

describe('queue-proxy stand-in: the upload timeout chain', () => {
  let dir: string;
  let collector: CollectorChild;
  let grpcPort: number;
  const proxies: QueueProxy[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-qp-'));
    collector = await startCollectorChild({ STORAGE: 'fs', STORAGE_DIR: dir, SHUTDOWN_GRACE_SECONDS: '1' });
    grpcPort = Number(collector.address.split(':').pop());
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    if (collector) {
      collector.child.kill('SIGTERM');
      await collector.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const proxyTo = async (userPort: number, timeouts: QueueProxyTimeouts) => {
    const p = await startQueueProxy({ userPort, protocol: 'h2c', timeouts, host: '127.0.0.1', servingPort: 0, heldPorts: [], log });
    proxies.push(p);
    return p;
  };
  const upload = async (port: number, seconds: number, sequence: number) => {
    const client = createCollectorClient(`127.0.0.1:${port}`);
    try {
      return await uploadSegment(client, header(sequence), slowly(seconds), { deadlineMs: 60_000 });
    } finally {
      client.close();
    }
  };

  test('the old shape (idle limit below the request timeout) cuts an upload longer than the idle limit', async () => {
    const p = await proxyTo(grpcPort, { timeoutSeconds: 30, responseStartTimeoutSeconds: 30, idleTimeoutSeconds: 2 });
    await expect(upload(p.port, 6, 1)).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    expect(p.timeouts.idle).toBe(1);
  });

  test('the fixed chain (early headers, short response start, idle = request timeout) carries it', async () => {
    const p = await proxyTo(grpcPort, { timeoutSeconds: 30, responseStartTimeoutSeconds: 2, idleTimeoutSeconds: 30 });
    const res = await upload(p.port, 6, 2);
    expect(Number(res.bytes)).toBe(8 * 64 * 1024);
    expect(p.timeouts).toEqual({ total: 0, responseStart: 0, idle: 0 });
  });

  test('a collector that answers only at the end trips the response-start limit (504)', async () => {
    const late = await startLateCollector();
    try {
      const p = await proxyTo(late.port, { timeoutSeconds: 30, responseStartTimeoutSeconds: 2, idleTimeoutSeconds: 30 });
      const err = (await upload(p.port, 6, 3).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err).toBeInstanceOf(Error);
      expect(err.details ?? err.message).toMatch(/504/);
      expect(p.timeouts.responseStart).toBe(1);
    } finally {
      await late.close();
    }
  });

  test('the request timeout ends an upload that outlasts it, headers or not', async () => {
    const p = await proxyTo(grpcPort, { timeoutSeconds: 2, responseStartTimeoutSeconds: 2, idleTimeoutSeconds: 2 });
    await expect(upload(p.port, 6, 4)).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    expect(p.timeouts.total + p.timeouts.idle).toBe(1);
  });
});

describe('queue-proxy stand-in: HTTP/1', () => {
  test('forwards to the user port and answers 504 when the app does not start its response in time', async () => {
    const http = await import('node:http');
    const app = http.createServer((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('late'), 4000);
      else res.end('hello');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    const userPort = (app.address() as { port: number }).port;
    const p = await startQueueProxy({ userPort, protocol: 'http1', timeouts: { timeoutSeconds: 30, responseStartTimeoutSeconds: 1, idleTimeoutSeconds: 0 }, host: '127.0.0.1', servingPort: 0, heldPorts: [], log });
    try {
      expect(await (await fetch(`http://127.0.0.1:${p.port}/`)).text()).toBe('hello');
      const slow = await fetch(`http://127.0.0.1:${p.port}/slow`);
      expect(slow.status).toBe(504);
      expect(await slow.text()).toMatch(/responseStartTimeoutSeconds/);
    } finally {
      await p.close();
      app.closeAllConnections();
      await new Promise<void>((r) => app.close(() => r()));
    }
  });
});
