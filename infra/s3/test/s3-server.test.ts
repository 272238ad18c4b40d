import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { existsSync, readdirSync } from 'node:fs';
import { Upload } from '@aws-sdk/lib-storage';
import { S3_MAIN, startS3Server, type S3ServerChild } from '../child.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('snoopy-s3', () => {
  let dir: string;
  let s3: S3ServerChild;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-s3-test-'));
    s3 = await startS3Server({ dir, buckets: ['snoopy', 'other-bucket'] });
  });
  afterAll(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('stores and returns objects with metadata, multipart included, and keeps them across a restart', async () => {
    const client = s3.client();
    const small = randomBytes(1000);
    await client.send(
      new PutObjectCommand({ Bucket: 'snoopy', Key: 'a/b/small.bin', Body: small, Metadata: { node: 'n1' } }),
    );
    const big = randomBytes(12 * 1024 * 1024 + 17);
    await new Upload({
      client,
      params: { Bucket: 'snoopy', Key: 'a/big.bin', Body: big },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    }).done();

    await s3.restart();
    const client2 = s3.client();
    const got = await client2.send(new GetObjectCommand({ Bucket: 'snoopy', Key: 'a/b/small.bin' }));
    expect(sha(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha(small));
    expect(got.Metadata).toEqual({ node: 'n1' });
    const gotBig = await client2.send(new GetObjectCommand({ Bucket: 'snoopy', Key: 'a/big.bin' }));
    expect(sha(Buffer.from(await gotBig.Body!.transformToByteArray()))).toBe(sha(big));
    const list = await client2.send(new ListObjectsV2Command({ Bucket: 'snoopy' }));
    expect((list.Contents ?? []).map((o) => o.Key).sort()).toEqual(['a/b/small.bin', 'a/big.bin']);
    const other = await client2.send(new ListObjectsV2Command({ Bucket: 'other-bucket' }));
    expect(other.KeyCount).toBe(0);
    client.destroy();
    client2.destroy();
  });

  test('aborting a multipart upload removes its parts (s3rver alone would refuse with 405)', async () => {
    const client = s3.client();
    const uploadsDir = join(dir, 'snoopy', '._S3rver_uploads');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'snoopy', Key: 'aborted/x.bin' }));
    await client.send(
      new UploadPartCommand({ Bucket: 'snoopy', Key: 'aborted/x.bin', UploadId, PartNumber: 1, Body: randomBytes(5 * 1024 * 1024) }),
    );
    expect(readdirSync(uploadsDir)).toContain(UploadId);
    await client.send(new AbortMultipartUploadCommand({ Bucket: 'snoopy', Key: 'aborted/x.bin', UploadId }));
    expect(existsSync(join(uploadsDir, UploadId!))).toBe(false);
    await expect(client.send(new AbortMultipartUploadCommand({ Bucket: 'snoopy', Key: 'aborted/x.bin', UploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    const list = await client.send(new ListObjectsV2Command({ Bucket: 'snoopy', Prefix: 'aborted/' }));
    expect(list.KeyCount).toBe(0);
    client.destroy();
  });

  test('prints help, and refuses bad arguments with a one-line reason', async () => {
    const help = await run(process.execPath, [S3_MAIN, '--help']);
    expect(help.stdout).toContain('Usage: snoopy-s3');
    await expect(run(process.execPath, [S3_MAIN, '--port', 'x'])).rejects.toMatchObject({
      code: 2,
      stderr: 'snoopy-s3: --port must be an integer 0..65535, got "x"\n',
    });
    await expect(run(process.execPath, [S3_MAIN, '--port', '0', '--directory', dir, '--bucket', 'Bad_Name'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('invalid bucket name "Bad_Name"'),
    });
  });
});
