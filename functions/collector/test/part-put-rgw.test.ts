// The plain UploadPart PUT against Ceph RGW, which checks SigV4 signatures (the embedded server
// does not): a part signed with the client's key is accepted, at the address the SDK resolved for
// CreateMultipartUpload, also for a key that needs encoding; a part signed with a wrong secret is
// refused.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startS3TestServer, type S3TestServer } from '../../../infra/s3/harness.js';
import { createS3Client } from '../../../lib/s3.js';
import { PartRequestError, PartSender, captureTarget, type UploadTarget } from '../storage/s3-part-put.js';
import { crc32Base64 } from '../storage/s3-store.js';

const BUCKET = 'parts';
const KEY = 'ns/job/a b/ü+=&x/000000.pcap';

describe('UploadPart as a plain signed PUT, on Ceph RGW', () => {
  let s3: S3TestServer;
  let client: S3Client;
  let sender: PartSender;
  let target: UploadTarget | undefined;
  let uploadId: string;

  beforeAll(async () => {
    s3 = await startS3TestServer('rgw', { buckets: [BUCKET] });
    client = s3.client();
    sender = new PartSender(client, { requestTimeoutMs: 30_000, maxAttempts: 2 });
    const res = await client.send(
      captureTarget(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: KEY, ChecksumAlgorithm: 'CRC32' }), (t) => (target = t)),
    );
    uploadId = res.UploadId!;
  }, 180_000);

  afterAll(async () => {
    if (uploadId) await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: KEY, UploadId: uploadId })).catch(() => undefined);
    sender?.close();
    client?.destroy();
    await s3?.stop();
  }, 60_000);

  const part = (s: PartSender, partNumber: number, body: Buffer) =>
    s.put({ target: target!, uploadId, partNumber, body, crc32: crc32Base64(body), signal: new AbortController().signal });

  test('the SDK\'s address is recorded; parts signed with the right key are stored byte for byte', async () => {
    expect(target?.path).toBe(`/${BUCKET}/ns/job/a%20b/%C3%BC%2B%3D%26x/000000.pcap`);
    const one = randomBytes(5 * 1024 * 1024);
    const two = randomBytes(12345);
    const etag1 = await part(sender, 1, one);
    const etag2 = await part(sender, 2, two);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: KEY,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: etag1, ChecksumCRC32: crc32Base64(one) },
            { PartNumber: 2, ETag: etag2, ChecksumCRC32: crc32Base64(two) },
          ],
        },
      }),
    );
    uploadId = '';
    const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
    expect(Buffer.from(await res.Body!.transformToByteArray()).equals(Buffer.concat([one, two]))).toBe(true);
  });

  test('a part signed with a wrong secret is refused: 403 SignatureDoesNotMatch', async () => {
    const res = await client.send(
      captureTarget(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: KEY, ChecksumAlgorithm: 'CRC32' }), (t) => (target = t)),
    );
    uploadId = res.UploadId!;
    const forged = createS3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: `${s3.secretAccessKey}x`,
    });
    const wrong = new PartSender(forged, { requestTimeoutMs: 30_000, maxAttempts: 2 });
    try {
      const err = await part(wrong, 1, Buffer.from('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartRequestError);
      expect((err as PartRequestError).statusCode).toBe(403);
      expect((err as Error).message).toContain('SignatureDoesNotMatch');
    } finally {
      wrong.close();
      forged.destroy();
    }
  });
});
