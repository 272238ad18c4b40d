// The collector client against a real gRPC server on loopback that records what arrives.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, DEFAULT_CHUNK_BYTES, type CollectorClient } from '../collector-client.js';
import { loadCollectorProtos, type SegmentEnd, type SegmentHeader, type UploadRequest, type UploadResponse } from '../proto.js';

interface Recorded {
  parts: Array<'header' | 'chunk' | 'end'>;
  chunkSizes: number[];
  header?: SegmentHeader;
  end?: SegmentEnd;
  cancelled: boolean;
}

describe('collector client', () => {
  const calls: Recorded[] = [];
  let server: grpc.Server;
  let client: CollectorClient;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(loadCollectorProtos().collectorService, {
      UploadSegment: (call: grpc.ServerReadableStream<UploadRequest, UploadResponse>, cb: grpc.sendUnaryData<UploadResponse>) => {
        const rec: Recorded = { parts: [], chunkSizes: [], cancelled: false };
        calls.push(rec);
        const hash = createHash('sha256');
        let bytes = 0;
        call.on('data', (m: UploadRequest) => {
          rec.parts.push(m.part!);
          if (m.header) rec.header = m.header;
          if (m.end) rec.end = m.end;
          if (m.chunk) {
            rec.chunkSizes.push(m.chunk.length);
            hash.update(m.chunk);
            bytes += m.chunk.length;
          }
        });
        call.on('cancelled', () => (rec.cancelled = true));
        call.on('end', () => {
          if (rec.header?.pod === 'refuse-me') {
            cb({ code: grpc.status.UNAVAILABLE, details: 'storage unavailable: test' });
            return;
          }
          if (rec.header?.pod === 'slow') {
            setTimeout(() => cb(null, { bucket: 'b', key: 'k', bytes: String(bytes), sha256: '', uri: '' }), 1000).unref();
            return;
          }
          cb(null, { bucket: 'b', key: 'k', bytes: String(bytes), sha256: hash.digest('hex'), uri: 's3://b/k' });
        });
      },
    });
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    client = createCollectorClient(`127.0.0.1:${port}`);
  });
  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  const h = (pod: string): Partial<SegmentHeader> => ({ captureId: 'c', snoopyJob: 'j', snoopyJobNamespace: 'n', pod, podNamespace: 'n', sequence: 3 });

  test('sends the header first, then the bytes in chunks no larger than the chunk size', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    const reply = await uploadSegment(client, h('a'), data);
    expect(reply).toMatchObject({ bytes: String(data.length), sha256: createHash('sha256').update(data).digest('hex') });
    const rec = calls.at(-1)!;
    expect(rec.parts[0]).toBe('header');
    expect(rec.parts.slice(1, -1).every((p) => p === 'chunk')).toBe(true);
    // the end marker comes last and carries the count and digest of what was sent
    expect(rec.parts.at(-1)).toBe('end');
    expect(rec.end).toEqual({ bytes: String(data.length), sha256: createHash('sha256').update(data).digest('hex') });
    expect(rec.header).toMatchObject({ pod: 'a', sequence: 3 });
    expect(Math.max(...rec.chunkSizes)).toBe(DEFAULT_CHUNK_BYTES);
    expect(rec.chunkSizes.reduce((a, b) => a + b, 0)).toBe(data.length);
  });

  test('streams an async iterable of any piece sizes', async () => {
    async function* pieces() {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(100_000 + i, i);
    }
    const reply = await uploadSegment(client, h('b'), pieces(), { chunkBytes: 30_000 });
    expect(reply.bytes).toBe(String(10 * 100_000 + 45));
    expect(Math.max(...calls.at(-1)!.chunkSizes)).toBe(30_000);
  });

  test('rejects with the server status and details', async () => {
    const err = (await uploadSegment(client, h('refuse-me'), Buffer.from('x')).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe('storage unavailable: test');
  });

  test('a failing data source cancels the call and rejects with its error', async () => {
    async function* broken() {
      yield Buffer.alloc(1000);
      throw new Error('spool file vanished');
    }
    await expect(uploadSegment(client, h('broken'), broken())).rejects.toThrow('spool file vanished');
    // The server either never saw the call or saw it cancelled; it never saw a half-close.
    const seen = () => calls.find((c) => c.header?.pod === 'broken');
    for (let i = 0; i < 25 && !seen()?.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
    const rec = seen();
    expect(rec === undefined || rec.cancelled).toBe(true);
    // and never an end marker, the collector's proof that a segment is whole
    expect(rec?.parts.includes('end') ?? false).toBe(false);
  });

  test('a digest the caller already knows is sent as is, and the end marker can be left out', async () => {
    const data = Buffer.from('known digest');
    await uploadSegment(client, h('known'), data, { sha256: 'ab'.repeat(32) });
    expect(calls.at(-1)!.end).toEqual({ bytes: String(data.length), sha256: 'ab'.repeat(32) });
    await uploadSegment(client, h('old-client'), data, { sendEnd: false });
    expect(calls.at(-1)!.parts).toEqual(['header', 'chunk']);
  });

  test('honours the deadline', async () => {
    const err = (await uploadSegment(client, h('slow'), Buffer.from('x'), { deadlineMs: 300 }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });
});
