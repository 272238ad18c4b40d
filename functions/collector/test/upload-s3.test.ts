// Segments over real gRPC into a real S3 server process: byte-identical objects under the
// storage keys (docs/design.md) with their metadata, many streams at once, and no object from a broken stream.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GetObjectCommand, GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { SHA256_TAG } from '../../../lib/storage-keys.js';
import type { RunningCollector } from '../server.js';
import {
  NetnsPair,
  SLOW_CLIENT,
  header,
  listBucket,
  randomStream,
  run,
  s3rverDisk,
  sha256,
  startInProcessCollector,
  waitFor,
} from './helpers.js';

const BUCKET = 'captures';

describe('collector with S3 storage', () => {
  let dir: string;
  let s3: S3ServerChild;
  let s3client: S3Client;
  let collector: RunningCollector;
  let client: CollectorClient;
  const netns = new NetnsPair();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-s3-'));
    s3 = await startS3Server({ dir: join(dir, 's3'), buckets: [BUCKET] });
    s3client = s3.client();
    collector = await startInProcessCollector({ ...s3.env(BUCKET), S3_PREFIX: 'runs' });
    client = createCollectorClient(collector.address);
    await netns.create();
  });

  afterAll(async () => {
    client?.close();
    await collector?.shutdown(1000);
    s3client?.destroy();
    await s3?.stop();
    await netns.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function getObject(key: string): Promise<{ body: Buffer; metadata: Record<string, string>; tags: Record<string, string> }> {
    const res = await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const tagging = await s3client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
    const tags = Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
    return { body: Buffer.from(await res.Body!.transformToByteArray()), metadata: res.Metadata ?? {}, tags };
  }

  test('real tcpdump pcaps land byte-identical under their keys, with metadata, readable by tcpdump -r', async () => {
    const pcaps = [await netns.capture(3), await netns.capture(5), await netns.capture(2)];
    const replies = [];
    for (const [i, pcap] of pcaps.entries()) {
      const h = header({ captureId: 'pcaps', sequence: i, last: i === pcaps.length - 1, node: 'node-a' });
      // Small chunks so one segment spans many messages.
      replies.push(await uploadSegment(client, h, randomChunks(pcap)));
    }
    for (const [i, pcap] of pcaps.entries()) {
      const key = `runs/snoopy-operator/tcpdump-job/pcaps/shop/web-0/${String(i).padStart(6, '0')}.pcap`;
      expect(replies[i]).toEqual({ bucket: BUCKET, key, bytes: String(pcap.length), sha256: sha256(pcap), uri: `s3://${BUCKET}/${key}` });
      const { body, metadata, tags } = await getObject(key);
      expect(sha256(body)).toBe(sha256(pcap));
      // the digest, known only at the end of the stream, is recorded with the object
      expect(tags).toEqual({ [SHA256_TAG]: sha256(pcap) });
      expect(metadata).toEqual({
        node: 'node-a',
        'pod-uid': '7f0e2a8c-1111-2222-3333-444455556666',
        container: 'app',
        command: 'tcpdump',
      });
      const file = join(dir, `downloaded-${i}.pcap`);
      writeFileSync(file, body);
      const { stdout } = await run('tcpdump', ['-n', '-r', file]);
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength([3, 5, 2][i]! * 2);
      expect(lines.filter((l) => l.includes(`${netns.ipA} > ${netns.ipB}: ICMP echo request`))).toHaveLength([3, 5, 2][i]!);
    }
  });

  test('20 concurrent streams of multi-part segments are all stored intact', async () => {
    const size = 6 * 1024 * 1024 + 333; // two parts each
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(size, i + 1));
    const replies = await Promise.all(
      bodies.map((b, i) => uploadSegment(client, header({ captureId: 'many', pod: `pod-${i}`, format: 'FORMAT_TEXT' }), b)),
    );
    for (const [i, r] of replies.entries()) {
      expect(r.key).toBe(`runs/snoopy-operator/tcpdump-job/many/shop/pod-${i}/000000.txt`);
      expect(r.bytes).toBe(String(size));
      expect(r.sha256).toBe(sha256(bodies[i]!));
    }
    const keys = (await listBucket(s3client, BUCKET)).filter((k) => k.includes('/many/'));
    expect(keys).toHaveLength(20);
    const sample = await getObject(replies[7]!.key);
    expect(sha256(sample.body)).toBe(sha256(bodies[7]!));
    expect(sample.tags).toEqual({ [SHA256_TAG]: sha256(bodies[7]!) }); // multipart: tagged after completion
  });

  test('a retried segment overwrites its key', async () => {
    const h = header({ captureId: 'retry', sequence: 4 });
    const first = await uploadSegment(client, h, Buffer.from('first attempt'));
    const second = await uploadSegment(client, h, Buffer.from('second attempt, longer'));
    expect(second.key).toBe(first.key);
    expect((await getObject(first.key)).body.toString()).toBe('second attempt, longer');
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.includes('/retry/'))).toEqual([first.key]);
  });

  test('a cancelled call leaves no object, also after several parts went up', async () => {
    const before = await collector.metrics.uploadCount('cancelled');
    const controller = new AbortController();
    let sent = 0;
    async function* data() {
      for await (const b of randomStream(40 * 1024 * 1024)) {
        sent += b.length;
        if (sent > 12 * 1024 * 1024) controller.abort(); // two parts are stored by now, or on their way
        yield b;
      }
    }
    const err = await uploadSegment(client, header({ captureId: 'cancelled' }), data(), { signal: controller.signal }).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.CANCELLED);
    await waitFor(async () => (await collector.metrics.uploadCount('cancelled')) > before, 'the collector to abort');
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.includes('/cancelled/'))).toEqual([]);
    const disk = s3rverDisk(join(dir, 's3'), BUCKET);
    expect(disk.objects.filter((k) => k.includes('/cancelled/'))).toEqual([]);
    expect(disk.pendingUploads).toEqual([]); // the multipart upload was aborted, its parts removed
  });

  test('a client process killed mid-stream leaves no object', async () => {
    const before = await collector.metrics.uploadCount('cancelled');
    const child = spawn(process.execPath, [SLOW_CLIENT, collector.address, JSON.stringify(header({ captureId: 'killed' }))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', () => resolve());
        child.once('exit', (code) => reject(new Error(`client exited early with ${code}`)));
      });
      await waitFor(() => collector.inflight.size > 0, 'the upload to reach the collector');
    } finally {
      child.kill('SIGKILL');
    }
    await waitFor(async () => (await collector.metrics.uploadCount('cancelled')) > before, 'the collector to notice the dead client');
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.includes('/killed/'))).toEqual([]);
    expect(s3rverDisk(join(dir, 's3'), BUCKET).objects.filter((k) => k.includes('/killed/'))).toEqual([]);
  });

  test('the S3 server killed mid-upload gives UNAVAILABLE and, restarted, shows no partial object', async () => {
    let sent = 0;
    let killed: Promise<void> | undefined;
    async function* data() {
      for await (const b of randomStream(30 * 1024 * 1024)) {
        sent += b.length;
        if (sent > 6 * 1024 * 1024 && !killed) killed = s3.kill();
        yield b;
      }
    }
    const err = await uploadSegment(client, header({ captureId: 'outage' }), data(), { deadlineMs: 60_000 }).catch((e: grpc.ServiceError) => e);
    expect(killed).toBeDefined();
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((err as grpc.ServiceError).details).toMatch(/^storage unavailable: /);
    await s3.restart();
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.includes('/outage/'))).toEqual([]);
    expect(s3rverDisk(join(dir, 's3'), BUCKET).objects.filter((k) => k.includes('/outage/'))).toEqual([]);
    // and the collector stores again once storage is back
    const ok = await uploadSegment(client, header({ captureId: 'outage', sequence: 1 }), Buffer.from('after the outage'));
    expect((await getObject(ok.key)).body.toString()).toBe('after the outage');
  });
});

/** Splits a buffer into uneven small chunks, so one segment spans many gRPC messages. */
async function* randomChunks(buf: Buffer): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = 1 + ((i * 7919) % 997);
    yield buf.subarray(off, off + n);
    off += n;
  }
}
