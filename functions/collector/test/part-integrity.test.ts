// Multipart parts go up with an unsigned payload and a CRC32 checksum header. A recording HTTP
// proxy in front of the real S3 server sees each request as sent: every part's checksum must match
// the bytes that actually travelled (what S3 and MinIO verify), and the stored object is intact.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { createS3Client } from '../../../lib/s3.js';
import { BufferBudget } from '../storage/buffer-budget.js';
import { S3SegmentStore, crc32Base64 } from '../storage/s3-store.js';
import { sha256 } from './helpers.js';

const BUCKET = 'integrity';
const MIB = 1024 * 1024;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Forwards every request unchanged (Host included, so signatures still verify) and records it. */
function recordingProxy(target: URL, seen: Seen[]): Server {
  return createServer((req, res) => {
    const pieces: Buffer[] = [];
    req.on('data', (b: Buffer) => pieces.push(b));
    req.on('end', () => {
      const body = Buffer.concat(pieces);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode!, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
}

describe('S3 part integrity', () => {
  let dir: string;
  let s3: S3ServerChild;
  let proxy: Server;
  let store: S3SegmentStore;
  let reader: S3Client;
  const seen: Seen[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-part-integrity-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
    reader = s3.client();
    proxy = recordingProxy(new URL(s3.endpoint), seen);
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    store = new S3SegmentStore({
      client: createS3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      }),
      bucket: BUCKET,
      partSizeBytes: 5 * MIB,
      queueSize: 2,
      budget: new BufferBudget(10 * MIB),
    });
  });

  afterAll(async () => {
    await store?.close();
    reader?.destroy();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each part carries the CRC32 of its bytes, unsigned payload, signed headers; the object is intact', async () => {
    const data = randomBytes(12 * MIB + 12345);
    const writer = store.open('a/b/000000.pcap', { node: 'n1' }, 'application/vnd.tcpdump.pcap');
    // Uneven chunks, fed with backpressure as the upload handler does.
    for (let off = 0, i = 0; off < data.length; i++) {
      const n = 1000 + ((i * 7919) % 300_000);
      const ok = writer.write(data.subarray(off, off + n));
      off += n;
      if (!ok) await new Promise((r) => writer.once('drain', r));
    }
    await writer.complete({ sha256: createHash('sha256').update(data).digest('hex') });

    const parts = seen.filter((s) => s.method === 'PUT' && /[?&]partNumber=/.test(s.url));
    expect(parts).toHaveLength(3);
    for (const p of parts) {
      expect(p.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
      expect(p.headers['x-amz-checksum-crc32']).toBe(crc32Base64(p.body));
      // The checksum header is covered by the signature, so it cannot be swapped on the way.
      expect(String(p.headers.authorization)).toMatch(/SignedHeaders=[^,]*x-amz-checksum-crc32/);
    }
    expect(Buffer.concat(parts.sort((a, b) => partNo(a) - partNo(b)).map((p) => p.body)).equals(data)).toBe(true);
    const create = seen.find((s) => s.method === 'POST' && /[?&]uploads/.test(s.url));
    expect(create?.headers['x-amz-checksum-algorithm']).toBe('CRC32');
    const complete = seen.find((s) => s.method === 'POST' && /[?&]uploadId=/.test(s.url));
    for (const p of parts) expect(complete!.body.toString()).toContain(`<ChecksumCRC32>${String(p.headers['x-amz-checksum-crc32'])}</ChecksumCRC32>`);

    const res = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b/000000.pcap' }));
    const stored = Buffer.from(await res.Body!.transformToByteArray());
    expect(sha256(stored)).toBe(sha256(data));
  });

  test('crc32Base64 is the big-endian CRC-32 in base64', () => {
    // CRC-32 of "123456789" is 0xCBF43926, the standard check value.
    expect(crc32Base64(Buffer.from('123456789'))).toBe(Buffer.from([0xcb, 0xf4, 0x39, 0x26]).toString('base64'));
  });
});

function partNo(s: Seen): number {
  return Number(/[?&]partNumber=(\d+)/.exec(s.url)![1]);
}
