// The plain UploadPart PUT against a scripted HTTP server on loopback: what it sends, which
// answers it retries (network errors and 5xx, within its attempts) and which it does not (4xx),
// and that an abort cuts a part short. That real S3 accepts its signature (and refuses a wrong
// one) is shown against Ceph RGW by part-put-rgw.test.ts and the RGW conformance suite.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createS3Client } from '../../../lib/s3.js';
import { PartRequestError, PartSender, type UploadTarget } from '../storage/s3-part-put.js';
import { crc32Base64 } from '../storage/s3-store.js';

interface Got {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

describe('UploadPart as a plain signed PUT', () => {
  let server: Server;
  let target: UploadTarget;
  let sender: PartSender;
  const got: Got[] = [];
  /** How the server answers the next requests, in turn. */
  let script: ((res: ServerResponse) => void)[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const pieces: Buffer[] = [];
      req.on('data', (b: Buffer) => pieces.push(b));
      req.on('end', () => {
        got.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(pieces) });
        const answer = script.shift();
        if (answer) answer(res);
        else res.writeHead(200, { etag: '"ok"' }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    target = { protocol: 'http:', hostname: '127.0.0.1', port, path: '/bucket/a/b%20c/000000.pcap' };
    const client = createS3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'AK', secretAccessKey: 'SK' });
    sender = new PartSender(client, { requestTimeoutMs: 10_000, maxAttempts: 2 });
  });

  afterAll(async () => {
    sender?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  const put = (body: Buffer, signal = new AbortController().signal) =>
    sender.put({ target, uploadId: '2~up/load+id', partNumber: 3, body, crc32: crc32Base64(body), signal });

  test('sends the bytes with their CRC-32 as a signed header and an unsigned payload; returns the ETag', async () => {
    got.length = 0;
    script = [(res) => res.writeHead(200, { etag: '"abc"' }).end()];
    const body = randomBytes(100_000);
    await expect(put(body)).resolves.toBe('"abc"');
    expect(got).toHaveLength(1);
    const r = got[0]!;
    expect(r.method).toBe('PUT');
    expect(r.url).toBe('/bucket/a/b%20c/000000.pcap?partNumber=3&uploadId=2~up%2Fload%2Bid');
    expect(r.body.equals(body)).toBe(true);
    expect(r.headers['x-amz-checksum-crc32']).toBe(crc32Base64(body));
    expect(r.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(String(r.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AK\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=[^,]*x-amz-checksum-crc32/);
  });

  test('a 5xx answer is retried within the attempts, then reported with its S3 error code', async () => {
    got.length = 0;
    const unavailable = (res: ServerResponse) => res.writeHead(503).end('<Error><Code>SlowDown</Code></Error>');
    script = [unavailable, (res) => res.writeHead(200, { etag: '"second"' }).end()];
    await expect(put(Buffer.from('x'))).resolves.toBe('"second"');
    expect(got).toHaveLength(2);

    got.length = 0;
    script = [unavailable, unavailable, unavailable];
    await expect(put(Buffer.from('x'))).rejects.toThrow('UploadPart 3: HTTP 503 SlowDown');
    expect(got).toHaveLength(2);
    script = [];
  });

  test('a 4xx answer is not retried', async () => {
    got.length = 0;
    script = [(res) => res.writeHead(404).end('<Error><Code>NoSuchUpload</Code></Error>')];
    const err = await put(Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartRequestError);
    expect((err as PartRequestError).statusCode).toBe(404);
    expect(got).toHaveLength(1);
  });

  test('a 2xx answer without an ETag is a failure', async () => {
    script = [(res) => res.writeHead(200).end()];
    await expect(put(Buffer.from('x'))).rejects.toThrow('no ETag');
  });

  test('an abort cuts the part short and is not retried', async () => {
    got.length = 0;
    const held: ServerResponse[] = [];
    script = [(res) => held.push(res)];
    const ac = new AbortController();
    const p = put(Buffer.from('x'), ac.signal);
    for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held).toHaveLength(1);
    ac.abort(new Error('cancelled by the test'));
    await expect(p).rejects.toThrow();
    expect(got).toHaveLength(1);
    held[0]!.destroy();
  });
});
