// A cancelled upload never leaves an object, whatever order the cancellation, the end of the
// stream and the storage requests come in. A gate in front of the real S3 server holds chosen
// requests, so each ordering is forced rather than hoped for; the collector's debug log says when
// it has seen the cancellation.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import { loadCollectorProtos, type UploadRequest, type UploadResponse } from '../../../lib/proto.js';
import { startRecordingSink, type RecordingSink } from '../../../lib/testing/event-sink-server.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { configFromEnv } from '../config.js';
import { startCollector, type RunningCollector } from '../server.js';
import { S3Gate, type GateRecord } from './s3-gate.js';
import { header, listBucket, s3rverDisk, sha256, sleep, suffix, waitFor } from './helpers.js';

const BUCKET = 'ordering';
const MIB = 1024 * 1024;

interface OpenCall {
  call: grpc.ClientWritableStream<UploadRequest>;
  result: Promise<{ err?: grpc.ServiceError; res?: UploadResponse }>;
}

function openCall(client: CollectorClient): OpenCall {
  const def = loadCollectorProtos().collectorService.UploadSegment!;
  let call!: grpc.ClientWritableStream<UploadRequest>;
  const result = new Promise<{ err?: grpc.ServiceError; res?: UploadResponse }>((resolve) => {
    call = client.makeClientStreamRequest<UploadRequest, UploadResponse>(def.path, def.requestSerialize, def.responseDeserialize, (err, res) =>
      resolve(err ? { err } : { res: res! }),
    );
  });
  return { call, result };
}

/** Writes a message and waits until grpc-js has handed it to HTTP/2. */
const send = (call: grpc.ClientWritableStream<UploadRequest>, m: UploadRequest) =>
  new Promise<void>((resolve, reject) => call.write(m, (err: Error | null | undefined) => (err ? reject(err) : resolve())));

describe('cancellation in every order leaves nothing', () => {
  let dir: string;
  let s3: S3ServerChild;
  let s3client: S3Client;
  let gate: S3Gate;
  let sink: RecordingSink;
  let collector: RunningCollector;
  let client: CollectorClient;
  const logLines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-order-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
    s3client = s3.client();
    gate = new S3Gate(new URL(s3.endpoint));
    const endpoint = await gate.start();
    sink = await startRecordingSink();
    const config = configFromEnv({
      ...s3.env(BUCKET),
      S3_ENDPOINT: endpoint,
      S3_PART_SIZE: String(5 * MIB),
      K_SINK: sink.url,
      PORT: '0',
      METRICS_PORT: '0',
      HOST: '127.0.0.1',
    });
    const capture = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    collector = await startCollector(config, pino({ level: 'debug' }, capture));
    client = createCollectorClient(collector.address);
  });

  afterAll(async () => {
    client?.close();
    await collector?.shutdown(2000);
    await gate?.close();
    await sink?.close();
    s3client?.destroy();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    gate.log.length = 0;
  });

  async function expectNothingStored(): Promise<void> {
    // every upload has finished its removal before the bucket is looked at
    await waitFor(async () => collector.inflight.size === 0, 'uploads to settle');
    expect(await listBucket(s3client, BUCKET)).toEqual([]);
    expect(s3rverDisk(dir, BUCKET)).toEqual({ objects: [], pendingUploads: [] });
  }

  const requestsFor = (key: string): GateRecord[] => gate.log.filter((r) => r.url.split('?')[0]!.endsWith(key));
  const sawCancel = (captureId: string) =>
    waitFor(
      () => logLines.some((l) => l.msg === 'upload failing: removing what it stored' && String(l.key).includes(`/${captureId}/`)),
      'the collector to see the cancellation',
    ).catch((e: unknown) => {
      console.log(JSON.stringify(logLines.slice(-6)));
      throw e;
    });
  // the SDK adds ?x-id=PutObject; parts carry uploadId, tagging ?tagging
  const isPutObject = (id: string) => (m: string, u: string) =>
    m === 'PUT' && u.includes(`/${id}/`) && !u.includes('uploadId=') && !u.includes('tagging');
  const isTagging = (id: string) => (m: string, u: string) => m === 'PUT' && u.includes(`/${id}/`) && u.includes('?tagging');
  const isComplete = (id: string) => (m: string, u: string) => m === 'POST' && u.includes(`/${id}/`) && u.includes('uploadId=');

  test('a stream cancelled before its first message is counted CANCELLED, not INVALID_ARGUMENT', async () => {
    const invalid = await collector.metrics.uploadCount('invalid');
    const cancelled = await collector.metrics.uploadCount('cancelled');
    const { call, result } = openCall(client);
    // the call has reached the handler (it counts itself active) before the client cancels
    await waitFor(async () => (await collector.metrics.activeUploads.get()).values[0]?.value === 1, 'the call to start');
    call.cancel();
    expect((await result).err?.code).toBe(grpc.status.CANCELLED);
    await waitFor(async () => (await collector.metrics.uploadCount("cancelled")) > cancelled, "the cancellation to be counted").catch((e) => { console.log(JSON.stringify(logLines.slice(-5))); throw e; });
    expect(await collector.metrics.uploadCount('invalid')).toBe(invalid);
    const line = logLines.findLast((l) => l.msg === 'upload refused or failed; nothing stored');
    expect(line).toMatchObject({ code: 'CANCELLED' });
    // whereas a client that half-closes without sending anything is refused as before
    const empty = openCall(client);
    empty.call.end();
    expect((await empty.result).err).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'first message must be the segment header' });
  });

  test('cancelled after the last chunk (end of stream reported first): nothing reaches storage', async () => {
    for (const [i, size] of [1000, 6 * MIB].entries()) {
      const id = `after-last-${i}-${suffix()}`;
      const { call, result } = openCall(client);
      const received = await collector.metrics.receivedBytes();
      await send(call, { header: header({ captureId: id }) });
      const data = Buffer.alloc(size, 3);
      for (let off = 0; off < size; off += 256 * 1024) await send(call, { chunk: data.subarray(off, off + 256 * 1024) });
      // the collector has every byte (HTTP/2 sends a reset ahead of queued data)
      await waitFor(async () => (await collector.metrics.receivedBytes()) === received + size, 'the bytes to arrive');
      call.cancel(); // no end marker, no half-close: grpc-js still reports an end of stream first
      expect((await result).err?.code).toBe(grpc.status.CANCELLED);
      await sawCancel(id);
      await expectNothingStored();
      // neither a PutObject nor a CompleteMultipartUpload was ever sent for it, nor a tag
      const sent = requestsFor(`/${id}/shop/web-0/000000.pcap`);
      expect(sent.filter((r) => (r.method === 'PUT' && !r.url.includes('uploadId=')) || (r.method === 'POST' && r.url.includes('uploadId=')))).toEqual([]);
    }
  });

  test('cancelled after the end marker but before the half-close: nothing is stored', async () => {
    const id = `after-end-${suffix()}`;
    const { call, result } = openCall(client);
    const data = Buffer.alloc(2000, 9);
    await send(call, { header: header({ captureId: id }) });
    await send(call, { chunk: data });
    await send(call, { end: { bytes: data.length, sha256: sha256(data) } });
    await waitFor(() => logLines.some((l) => l.msg === 'end marker received: the segment is whole' && String(l.key).includes(`/${id}/`)), 'the end marker to arrive');
    call.cancel();
    expect((await result).err?.code).toBe(grpc.status.CANCELLED);
    await sawCancel(id);
    await expectNothingStored();
  });

  for (const [what, size, match] of [
    ['PutObject', 3000, isPutObject],
    ['CompleteMultipartUpload', 6 * MIB + 17, isComplete],
    ['tagging', 3000, isTagging],
  ] as const) {
    test(`cancelled while ${what} is on its way: the object is removed only after its last request was answered`, async () => {
      const id = `during-${what.toLowerCase()}-${suffix()}`;
      const events = sink.events.length;
      const held = gate.hold(match(id));
      const controller = new AbortController();
      const data = Buffer.alloc(size, 5);
      const upload = uploadSegment(client, header({ captureId: id, last: true }), data, { signal: controller.signal }).catch((e: unknown) => e);
      await Promise.race([held.arrived, sleep(20_000).then(() => Promise.reject(new Error(`${what} never arrived`)))]);
      controller.abort();
      expect(((await upload) as grpc.ServiceError).code).toBe(grpc.status.CANCELLED);
      await sawCancel(id); // the collector is removing, with the request still held
      held.release();
      await waitFor(async () => collector.inflight.size === 0, 'the upload to settle');
      await expectNothingStored();
      const log = requestsFor(`/${id}/shop/web-0/000000.pcap`);
      const removal = log.find((r) => r.method === 'DELETE' && !r.url.includes('uploadId='));
      expect(removal).toBeDefined();
      // removal came after every request that could (re)create or tag the object was answered
      for (const r of log) {
        if (r === removal || r.method === 'DELETE' || r.method === 'GET') continue;
        expect(r.answered).toBeDefined();
        expect(r.answered!).toBeLessThan(removal!.arrived);
      }
      // no tag after the cancellation was seen: the held request is the last thing that writes
      if (what !== 'tagging') expect(log.filter((r) => r.url.includes('?tagging'))).toEqual([]);
      // nothing announced
      expect(sink.events.length).toBe(events);
    });
  }

  test('an end marker that disagrees with the bytes received is refused and stores nothing', async () => {
    const data = Buffer.alloc(5000, 1);
    for (const end of [
      { bytes: data.length + 1, sha256: sha256(data) },
      { bytes: data.length, sha256: sha256(Buffer.from('other')) },
    ]) {
      const { call, result } = openCall(client);
      void send(call, { header: header({ captureId: `bad-end-${suffix()}` }) });
      void send(call, { chunk: data });
      void send(call, { end });
      call.end();
      const { err } = await result;
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/^end marker declares/);
    }
    const { call, result } = openCall(client);
    void send(call, { header: header({ captureId: `after-end-data-${suffix()}` }) });
    void send(call, { end: { bytes: 0, sha256: '' } });
    void send(call, { chunk: data });
    call.end();
    expect((await result).err).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'nothing may follow the end marker' });
    await expectNothingStored();
  });

  test('a client without the end marker that half-closes still stores its segment, tagged', async () => {
    const data = Buffer.alloc(4000, 2);
    const id = `old-client-${suffix()}`;
    const reply = await uploadSegment(client, header({ captureId: id }), data, { sendEnd: false });
    expect(reply.sha256).toBe(sha256(data));
    expect(await listBucket(s3client, BUCKET)).toEqual([reply.key]);
    expect(logLines.findLast((l) => l.msg === 'segment stored')).toMatchObject({ endMarker: false });
    await s3client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: reply.key }));
  });
});
