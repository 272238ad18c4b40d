// SIGTERM to the real executable under load: 20 uploads in flight and events queued for a sink that
// never answers, once with storage up and once with the S3 server stopped. The collector exits 0
// within its drain time (the wait here is only a generous bound, not a timing assertion), and
// leaves no object that is not whole and tagged.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, type UploadResponse } from '../../../lib/collector-client.js';
import { SHA256_TAG } from '../../../lib/storage-keys.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { header, listBucket, s3rverDisk, sha256, sleep, startCollectorChild, waitFor, type CollectorChild } from './helpers.js';

const BUCKET = 'drain';
const MIB = 1024 * 1024;
const STREAMS = 20;

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('SIGTERM under load', () => {
  let dir: string;
  let s3: S3ServerChild;
  let s3client: S3Client;
  let sink: Server;
  let sinkUrl: string;
  const children: CollectorChild[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-drain-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
    s3client = s3.client();
    // a CloudEvents sink that accepts connections and never answers: events stay queued
    sink = createServer(() => undefined);
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    sink.closeAllConnections();
    await new Promise((r) => sink.close(r));
    s3client?.destroy();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every object under the prefix must be whole: its bytes hash to its tag and to a reply. */
  async function expectOnlyWholeObjects(prefix: string, replies: UploadResponse[]): Promise<void> {
    for (const key of (await listBucket(s3client, BUCKET)).filter((k) => k.startsWith(prefix))) {
      const body = Buffer.from(await (await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
      const tags = (await s3client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet ?? [];
      expect({ key, tag: tags.find((t) => t.Key === SHA256_TAG)?.Value }).toEqual({ key, tag: sha256(body) });
      expect(replies.find((r) => r.key === key)?.sha256).toBe(sha256(body));
    }
  }

  /**
   * Starts STREAMS uploads: the first half finish right away (their events queue up for the mute
   * sink), the rest keep streaming slowly (sizes across one part) until the call ends.
   */
  function load(c: CollectorChild, captureId: string) {
    const client = createCollectorClient(c.address);
    const replies: UploadResponse[] = [];
    const codes: string[] = [];
    let stop = false;
    const uploads = Array.from({ length: STREAMS }, async (_, i) => {
      const quick = i < STREAMS / 2;
      async function* data() {
        const total = quick ? 64 * 1024 : (i % 3) * 3 * MIB + 256 * 1024;
        for (let sent = 0; sent < total && !stop; sent += 256 * 1024) {
          yield Buffer.alloc(256 * 1024, i);
          if (!quick) await sleep(100);
        }
        // the slow ones never finish by themselves before the collector is told to stop
        for (let j = 0; j < 600 && !quick && !stop; j++) await sleep(100);
      }
      try {
        replies.push(await uploadSegment(client, header({ captureId, pod: `p${i}`, last: quick }), data(), { deadlineMs: 120_000 }));
        codes.push('OK');
      } catch (err) {
        codes.push(grpc.status[(err as grpc.ServiceError).code] ?? String(err));
      }
    });
    return {
      replies,
      codes,
      done: async () => {
        await Promise.all(uploads);
        client.close();
      },
      stop: () => (stop = true),
    };
  }

  test('with storage up: exits 0 within the drain time; only whole, tagged objects remain', async () => {
    const c = await startCollectorChild({ ...s3.env(BUCKET), S3_PREFIX: 'up', SHUTDOWN_GRACE_SECONDS: '6', K_SINK: sinkUrl, UPLOAD_BUFFER_BYTES: String(STREAMS * 6 * MIB) });
    children.push(c);
    const l = load(c, 'up');
    await waitFor(async () => (await metric(c.metricsPort, 'snoopy_collector_active_uploads')) === STREAMS / 2 && l.replies.length === STREAMS / 2, 'half the uploads stored, half in flight', 60_000);
    c.child.kill('SIGTERM');
    const code = await Promise.race([c.exited, sleep(60_000).then(() => 'still running')]);
    l.stop();
    await l.done();
    expect(code).toBe(0);
    expect(c.stderr()).toContain('drain time over: cancelling remaining uploads');
    expect(l.codes.filter((x) => x === 'OK')).toHaveLength(STREAMS / 2);
    expect(l.codes.filter((x) => x !== 'OK').every((x) => x === 'CANCELLED' || x === 'UNAVAILABLE')).toBe(true);
    await expectOnlyWholeObjects('up/', l.replies);
    expect(l.replies.length).toBe(STREAMS / 2);
    expect(s3rverDisk(dir, BUCKET).pendingUploads).toEqual([]);
  });

  test('with the S3 server stopped: still exits 0 within the drain time, and no object is left', async () => {
    const c = await startCollectorChild({ ...s3.env(BUCKET), S3_PREFIX: 'down', SHUTDOWN_GRACE_SECONDS: '6', K_SINK: sinkUrl, UPLOAD_BUFFER_BYTES: String(STREAMS * 6 * MIB) });
    children.push(c);
    const l = load(c, 'down');
    await waitFor(async () => (await metric(c.metricsPort, 'snoopy_collector_active_uploads')) === STREAMS / 2 && l.replies.length === STREAMS / 2, 'half the uploads stored, half in flight', 60_000);
    await s3.stop();
    try {
      c.child.kill('SIGTERM');
      const code = await Promise.race([c.exited, sleep(60_000).then(() => 'still running')]);
      l.stop();
      await l.done();
      expect(code).toBe(0);
      expect(c.stderr()).toContain('"msg":"collector stopped"');
    } finally {
      await s3.restart();
    }
    // only the segments answered before the outage exist; the ones in flight left no object
    await expectOnlyWholeObjects('down/', l.replies);
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.startsWith('down/'))).toHaveLength(STREAMS / 2);
  });
});
