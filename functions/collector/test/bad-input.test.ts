// Refusals: each bad upload gets its precise gRPC status and leaves the bucket untouched.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import { loadCollectorProtos, type LegacyPodData, type UploadRequest, type UploadResponse } from '../../../lib/proto.js';
import { signToken } from '../../../lib/token.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { configFromEnv } from '../config.js';
import type { RunningCollector } from '../server.js';
import { expectNothingStored as expectNothingStoredIn, expectStatus, header, listBucket, randomStream, startInProcessCollector, waitFor } from './helpers.js';

const BUCKET = 'refusals';
const KEY = 'test-token-key';
const MIB = 1024 * 1024;
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** Sends exactly the given messages (no client-side shaping), then half-closes. */
function rawCall(client: CollectorClient, messages: UploadRequest[]): Promise<UploadResponse> {
  const def = loadCollectorProtos().collectorService.UploadSegment!;
  return new Promise((resolve, reject) => {
    const call = client.makeClientStreamRequest<UploadRequest, UploadResponse>(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
    for (const m of messages) call.write(m);
    call.end();
  });
}

describe('collector refuses bad uploads and writes nothing', () => {
  let dir: string;
  let s3: S3ServerChild;
  let s3client: S3Client;
  let collector: RunningCollector;
  let client: CollectorClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-bad-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
    s3client = s3.client();
    collector = await startInProcessCollector({
      ...s3.env(BUCKET),
      SNOOPY_TOKEN_KEY: KEY,
      MAX_SEGMENT_BYTES: String(7 * MIB),
      MAX_MESSAGE_BYTES: String(256 * 1024),
    });
    client = createCollectorClient(collector.address);
  });

  afterAll(async () => {
    client?.close();
    await collector?.shutdown(1000);
    s3client?.destroy();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const valid = (over: Parameters<typeof header>[0] = {}) => {
    const h = header(over);
    return { ...h, token: over.token ?? signToken(KEY, { cid: h.captureId, ns: h.podNamespace, pod: h.pod, exp: inAnHour() }) };
  };

  const expectNothingStored = () => expectNothingStoredIn(s3client, dir, BUCKET);

  test('a call with no messages at all', async () => {
    await expectStatus(rawCall(client, []), grpc.status.INVALID_ARGUMENT, 'first message must be the segment header');
    await expectNothingStored();
  });

  test('a chunk before the header', async () => {
    await expectStatus(
      rawCall(client, [{ chunk: Buffer.from('data first') }, { header: valid() }]),
      grpc.status.INVALID_ARGUMENT,
      'first message must be the segment header',
    );
    await expectNothingStored();
  });

  test('a second header', async () => {
    await expectStatus(
      rawCall(client, [{ header: valid() }, { chunk: Buffer.from('a') }, { header: valid({ sequence: 1 }) }]),
      grpc.status.INVALID_ARGUMENT,
      'a second segment header is not allowed: one call uploads one segment',
    );
    await expectNothingStored();
  });

  test('no token, a garbage token, a token signed with another key', async () => {
    await expectStatus(uploadSegment(client, valid({ token: '' }), Buffer.from('x')), grpc.status.UNAUTHENTICATED, 'capture token refused: no token');
    await expectStatus(
      uploadSegment(client, valid({ token: 'not-a-token' }), Buffer.from('x')),
      grpc.status.UNAUTHENTICATED,
      'capture token refused: malformed token',
    );
    const forged = signToken('another-key', { cid: 'cap-1', ns: 'shop', pod: 'web-0', exp: inAnHour() });
    await expectStatus(
      uploadSegment(client, valid({ token: forged }), Buffer.from('x')),
      grpc.status.UNAUTHENTICATED,
      'capture token refused: bad token signature',
    );
    await expectNothingStored();
  });

  test('an expired token', async () => {
    const expired = signToken(KEY, { cid: 'cap-1', ns: 'shop', pod: 'web-0', exp: Math.floor(Date.now() / 1000) - 10 });
    await expectStatus(uploadSegment(client, valid({ token: expired }), Buffer.from('x')), grpc.status.UNAUTHENTICATED, 'capture token refused: token expired');
    await expectNothingStored();
  });

  test('a token for another pod, namespace or capture', async () => {
    for (const claims of [
      { cid: 'cap-1', ns: 'shop', pod: 'web-1' },
      { cid: 'cap-1', ns: 'other', pod: 'web-0' },
      { cid: 'cap-2', ns: 'shop', pod: 'web-0' },
    ]) {
      const token = signToken(KEY, { ...claims, exp: inAnHour() });
      await expectStatus(
        uploadSegment(client, valid({ token }), Buffer.from('x')),
        grpc.status.UNAUTHENTICATED,
        'capture token refused: token was issued for another capture target',
      );
    }
    await expectNothingStored();
  });

  test('a token for another SnoopyJob cannot write under this one\'s keys', async () => {
    for (const job of ['snoopy-operator/other-job', 'tenant/tcpdump-job']) {
      const token = signToken(KEY, { cid: 'cap-1', ns: 'shop', pod: 'web-0', exp: inAnHour(), job });
      await expectStatus(
        uploadSegment(client, valid({ token }), Buffer.from('x')),
        grpc.status.UNAUTHENTICATED,
        'capture token refused: token was issued for another SnoopyJob',
      );
    }
    await expectNothingStored();
    // the same claim naming the header's job is accepted
    const token = signToken(KEY, { cid: 'cap-1', ns: 'shop', pod: 'web-0', exp: inAnHour(), job: 'snoopy-operator/tcpdump-job' });
    const reply = await uploadSegment(client, valid({ token, captureId: 'cap-1', sequence: 0 }), Buffer.from('x'));
    expect(reply.key).toBe('snoopy-operator/tcpdump-job/cap-1/shop/web-0/000000.pcap');
    await s3client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: reply.key }));
  });

  test('"../" and "/" in names are refused, naming the field, never rewritten', async () => {
    const cases: Array<[Parameters<typeof header>[0], string]> = [
      [{ pod: '../../etc' }, 'pod'],
      [{ podNamespace: 'a/b' }, 'pod_namespace'],
      [{ captureId: '..' }, 'capture_id'],
      [{ snoopyJob: 'job/../../x' }, 'snoopy_job'],
      [{ snoopyJobNamespace: '/abs' }, 'snoopy_job_namespace'],
    ];
    for (const [over, field] of cases) {
      // A token signed for exactly these names: the names themselves are what is refused.
      await expectStatus(
        uploadSegment(client, valid(over), Buffer.from('x')),
        grpc.status.INVALID_ARGUMENT,
        new RegExp(`^${field} ".*" is not a clean name`),
      );
    }
    await expectStatus(uploadSegment(client, valid({ pod: '' }), Buffer.from('x')), grpc.status.INVALID_ARGUMENT, 'pod is required');
    await expectNothingStored();
  });

  test('a segment over MAX_SEGMENT_BYTES is refused and its multipart upload aborted', async () => {
    const before = await collector.metrics.uploadCount('too_large');
    await expectStatus(
      uploadSegment(client, valid({ captureId: 'big' }), randomStream(12 * MIB), { chunkBytes: 128 * 1024 }),
      grpc.status.INVALID_ARGUMENT,
      `segment larger than the collector's limit of ${7 * MIB} bytes (MAX_SEGMENT_BYTES)`,
    );
    expect(await collector.metrics.uploadCount('too_large')).toBe(before + 1);
    await expectNothingStored();
  });

  test('a single message over the receive limit', async () => {
    const before = await collector.metrics.uploadCount('cancelled');
    await expectStatus(
      uploadSegment(client, valid({ captureId: 'huge-message' }), Buffer.alloc(512 * 1024, 1), { chunkBytes: 512 * 1024 }),
      grpc.status.RESOURCE_EXHAUSTED,
      /^Received message larger than max \(524\d+ vs 262144\)$/,
    );
    await waitFor(async () => (await collector.metrics.uploadCount('cancelled')) > before, 'the collector to discard the upload');
    await expectNothingStored();
  });

  test('a client that stalls mid-segment is dropped after STREAM_IDLE_SECONDS', async () => {
    const idle = await startInProcessCollector({ ...s3.env(BUCKET), SNOOPY_TOKEN_KEY: KEY, STREAM_IDLE_SECONDS: '1' });
    const idleClient = createCollectorClient(idle.address);
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    async function* stalling() {
      yield Buffer.alloc(100_000, 1);
      await stalled; // never sends more until the test ends
    }
    try {
      await expectStatus(
        uploadSegment(idleClient, valid({ captureId: 'stalled' }), stalling()),
        grpc.status.DEADLINE_EXCEEDED,
        'no data from the client for 1 s',
      );
      await expectNothingStored();
    } finally {
      release();
      idleClient.close();
      await idle.shutdown(1000);
    }
  });

  test('and a valid token is accepted (the refusals above were for their reason only)', async () => {
    const reply = await uploadSegment(client, valid({ captureId: 'fine' }), Buffer.from('ok'));
    expect(reply.key).toBe('snoopy-operator/tcpdump-job/fine/shop/web-0/000000.pcap');
    expect(await listBucket(s3client, BUCKET)).toEqual([reply.key]);
  });

  test('with tokens required, the tokenless legacy ExportPodData is not served unless enabled', async () => {
    const { LegacyClient } = loadCollectorProtos();
    const legacy = new LegacyClient(collector.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      ExportPodData(): grpc.ClientDuplexStream<LegacyPodData, LegacyPodData>;
    };
    try {
      const call = legacy.ExportPodData();
      const status = new Promise<grpc.StatusObject>((r) => call.on('status', r));
      call.on('error', () => undefined);
      call.on('data', () => undefined);
      call.write({ name: 'web-0', data: Buffer.from('hello') });
      call.end();
      expect((await status).code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      legacy.close();
    }
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.startsWith('legacy/'))).toEqual([]);
    expect(configFromEnv({ S3_BUCKET: BUCKET, SNOOPY_TOKEN_KEY: KEY }).legacyEnabled).toBe(false);
    expect(configFromEnv({ S3_BUCKET: BUCKET, SNOOPY_TOKEN_KEY: KEY, LEGACY_EXPORT: 'true' }).legacyEnabled).toBe(true);
    expect(configFromEnv({ S3_BUCKET: BUCKET }).legacyEnabled).toBe(true);
  });
});
