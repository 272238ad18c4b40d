// CloudEvents from the collector: binary mode, the attributes of docs/design.md "Events" and extensions, overrides,
// retries on 5xx, and a dead sink never holding up an upload.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCollectorClient, uploadSegment } from '../../../lib/collector-client.js';
import { EventType } from '../../../lib/events.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { header, sha256, startInProcessCollector, waitFor } from './helpers.js';
import { startRecordingSink } from '../../../lib/testing/event-sink-server.js';

const BUCKET = 'events';

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('collector CloudEvents', () => {
  let dir: string;
  let s3: S3ServerChild;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-events-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
  });
  afterAll(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('segment.stored for each segment and capture.completed listing every key of the capture', async () => {
    const sink = await startRecordingSink();
    const collector = await startInProcessCollector({
      ...s3.env(BUCKET),
      S3_PREFIX: 'ev',
      K_SINK: sink.url,
      K_CE_OVERRIDES: JSON.stringify({ extensions: { cluster: 'dev-1' } }),
    });
    const client = createCollectorClient(collector.address);
    try {
      const bodies = [Buffer.from('segment zero'), Buffer.from('segment one'), Buffer.from('segment two, the last')];
      for (const [i, b] of bodies.entries()) {
        await uploadSegment(client, header({ captureId: 'ev-cap', sequence: i, last: i === 2, node: 'node-b' }), b);
      }
      await waitFor(() => sink.events.length >= 4, 'four events');
      const stored = sink.events.filter((e) => e.headers['ce-type'] === EventType.SegmentStored);
      const completed = sink.events.filter((e) => e.headers['ce-type'] === EventType.CaptureCompleted);
      expect(stored).toHaveLength(3);
      expect(completed).toHaveLength(1);
      const keys = bodies.map((_, i) => `ev/snoopy-operator/tcpdump-job/ev-cap/shop/web-0/00000${i}.pcap`);
      for (const e of sink.events) {
        expect(e.headers).toMatchObject({
          'ce-specversion': '1.0',
          'ce-source': '/apis/job.fennecproject.io/v1alpha1/namespaces/snoopy-operator/snoopyjobs/tcpdump-job',
          'ce-subject': 'shop/web-0',
          'ce-snoopyjob': 'tcpdump-job',
          'ce-snoopyns': 'snoopy-operator',
          'ce-targetpod': 'web-0',
          'ce-targetns': 'shop',
          'ce-node': 'node-b',
          'ce-cluster': 'dev-1',
          'content-type': expect.stringContaining('application/json'),
        });
        expect(e.headers['ce-id']).toBeTruthy();
      }
      const bySeq = stored.map((e) => e.body as Record<string, unknown>).sort((a, b) => Number(a.sequence) - Number(b.sequence));
      bySeq.forEach((data, i) =>
        expect(data).toMatchObject({
          bucket: BUCKET,
          key: keys[i],
          uri: `s3://${BUCKET}/${keys[i]}`,
          bytes: bodies[i]!.length,
          sha256: sha256(bodies[i]!),
          pod: 'web-0',
          podNamespace: 'shop',
          sequence: i,
          last: i === 2,
          captureId: 'ev-cap',
        }),
      );
      expect(completed[0]!.body).toMatchObject({ bucket: BUCKET, keys, segments: 3, captureId: 'ev-cap', pod: 'web-0' });
      // where the bucket lives, for the analyzer; never credentials
      const storage = { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
      for (const e of sink.events) expect((e.body as { storage: unknown }).storage).toEqual(storage);
      expect(JSON.stringify(sink.events.map((e) => e.body))).not.toContain(s3.secretAccessKey);
    } finally {
      client.close();
      await collector.shutdown(1000);
      await sink.close();
    }
  });

  test('an evidence object: stored as evidence.json beside the segments, announced by evidence.stored, not listed as a segment', async () => {
    const sink = await startRecordingSink();
    const collector = await startInProcessCollector({ ...s3.env(BUCKET), S3_PREFIX: 'evd', K_SINK: sink.url });
    const client = createCollectorClient(collector.address);
    try {
      const evidence = Buffer.from(JSON.stringify({ schemaVersion: 1, captureId: 'evd-cap' }));
      // sequence and last are ignored for evidence: it never completes the capture
      const reply = await uploadSegment(client, header({ captureId: 'evd-cap', sequence: 7, last: true, format: 'FORMAT_EVIDENCE' }), evidence);
      const key = 'evd/snoopy-operator/tcpdump-job/evd-cap/shop/web-0/evidence.json';
      expect(reply).toMatchObject({ key, bytes: String(evidence.length), sha256: sha256(evidence) });
      await uploadSegment(client, header({ captureId: 'evd-cap', sequence: 0, last: true }), Buffer.from('the only segment'));
      await waitFor(() => sink.events.length >= 3, 'three events');
      const types = sink.events.map((e) => e.headers['ce-type']).sort();
      expect(types).toEqual([EventType.CaptureCompleted, EventType.EvidenceStored, EventType.SegmentStored].sort());
      const stored = sink.events.find((e) => e.headers['ce-type'] === EventType.EvidenceStored)!;
      expect(stored.headers).toMatchObject({ 'ce-subject': 'shop/web-0', 'ce-targetpod': 'web-0' });
      expect(stored.body).toMatchObject({ bucket: BUCKET, key, uri: `s3://${BUCKET}/${key}`, bytes: evidence.length, captureId: 'evd-cap', pod: 'web-0' });
      const completed = sink.events.find((e) => e.headers['ce-type'] === EventType.CaptureCompleted)!;
      expect((completed.body as { keys: string[] }).keys).toEqual(['evd/snoopy-operator/tcpdump-job/evd-cap/shop/web-0/000000.pcap']);
    } finally {
      client.close();
      await collector.shutdown(1000);
      await sink.close();
    }
  });

  test('capture.completed lists segments stored by another collector replica', async () => {
    const sink = await startRecordingSink();
    const envs = { ...s3.env(BUCKET), S3_PREFIX: 'replicas', K_SINK: sink.url };
    const one = await startInProcessCollector(envs);
    const two = await startInProcessCollector(envs);
    const c1 = createCollectorClient(one.address);
    const c2 = createCollectorClient(two.address);
    try {
      await uploadSegment(c1, header({ captureId: 'rep', sequence: 0 }), Buffer.from('a'));
      await uploadSegment(c2, header({ captureId: 'rep', sequence: 1, last: true }), Buffer.from('b'));
      const done = await waitFor(
        () => sink.events.find((e) => e.headers['ce-type'] === EventType.CaptureCompleted),
        'capture.completed',
      );
      expect((done.body as { keys: string[] }).keys).toEqual([
        'replicas/snoopy-operator/tcpdump-job/rep/shop/web-0/000000.pcap',
        'replicas/snoopy-operator/tcpdump-job/rep/shop/web-0/000001.pcap',
      ]);
    } finally {
      c1.close();
      c2.close();
      await one.shutdown(1000);
      await two.shutdown(1000);
      await sink.close();
    }
  });

  test('a sink answering 500 twice then 2xx receives the event on retry', async () => {
    const sink = await startRecordingSink({ failFirst: 2 });
    const collector = await startInProcessCollector({ ...s3.env(BUCKET), S3_PREFIX: 'retry', K_SINK: sink.url });
    const client = createCollectorClient(collector.address);
    try {
      await uploadSegment(client, header({ captureId: 'r' }), Buffer.from('x'));
      await waitFor(() => sink.events.length === 1, 'the retried event');
      // the sink counts the delivery once its answer reached the collector, just after the sink saw it
      await waitFor(() => collector.sink.stats.sent === 1, 'the delivery counted');
      expect(sink.attempts()).toBe(3);
      expect(sink.events[0]!.headers['ce-type']).toBe(EventType.SegmentStored);
      expect(collector.sink.stats).toMatchObject({ sent: 1, retries: 2, failed: 0 });
    } finally {
      client.close();
      await collector.shutdown(1000);
      await sink.close();
    }
  });

  test('a dead sink never blocks uploads', async () => {
    const port = await closedPort();
    const collector = await startInProcessCollector({ ...s3.env(BUCKET), S3_PREFIX: 'dead', K_SINK: `http://127.0.0.1:${port}/` });
    const client = createCollectorClient(collector.address);
    try {
      // Each event would take seconds of retries; the uploads must not wait for any of them.
      const replies = await Promise.all(
        Array.from({ length: 5 }, (_, i) => uploadSegment(client, header({ captureId: 'dead', sequence: i, last: i === 4 }), Buffer.from(`s${i}`))),
      );
      expect(replies.map((r) => r.bytes)).toEqual(['2', '2', '2', '2', '2']);
      expect(collector.sink.stats.sent).toBe(0);
      await waitFor(() => collector.sink.stats.retries > 0, 'delivery retries against the dead sink');
    } finally {
      client.close();
      await collector.shutdown(1000);
    }
  });
});
