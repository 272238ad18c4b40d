// The CloudEvents path end to end: a real capture cut into segments and stored in a real S3
// server (snoopy-s3), a capture.completed CloudEvent POSTed in binary mode to the running
// analyzer (snoopy-analyzer as a child process), the summary object appearing next to the
// segments, and capture.analyzed reaching a local sink — or coming back as the reply.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CloudEvent, HTTP } from 'cloudevents';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { EventType, snoopyJobSource } from '../../../lib/events.js';
import { Segmenter } from '../../../lib/pcap/index.js';
import { segmentKey } from '../../../lib/storage-keys.js';
import { analyzeSources } from '../source.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import { CLIENT_IP, createLab, generateTraffic, HTTP_PORT, markEnd, SERVER_IP, startInNs, startServers, stopChild, type Lab } from './lab.js';
import { startRecordingSink } from '../../../lib/testing/event-sink-server.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const BUCKET = 'captures';
const ID = { prefix: 'snoopy', snoopyJobNamespace: 'snoopy-operator', snoopyJob: 'tcpdump-job', captureId: 'cap-1', podNamespace: 'shop', pod: 'web-0' };


interface AnalyzerChild {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function startAnalyzer(env: Record<string, string>): Promise<AnalyzerChild> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`analyzer not serving after 30 s: ${err}`)), 30_000);
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /"port":(\d+).*analyzer serving CloudEvents/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`analyzer exited (${code}): ${err}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => err };
}

function completedEvent(data: Record<string, unknown>, type: string = EventType.CaptureCompleted): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    type,
    source: snoopyJobSource(ID.snoopyJobNamespace, ID.snoopyJob),
    subject: `${ID.podNamespace}/${ID.pod}`,
    datacontenttype: 'application/json',
    data,
    snoopyjob: ID.snoopyJob,
    snoopyns: ID.snoopyJobNamespace,
    targetpod: ID.pod,
    targetns: ID.podNamespace,
    node: 'node-a',
  });
}

async function post(url: string, event: CloudEvent<unknown>): Promise<Response> {
  const msg = HTTP.binary(event);
  return fetch(`${url}/`, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
}

async function getJson(s3: S3Client, key: string): Promise<unknown> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await res.Body!.transformToString());
}

async function exists(s3: S3Client, key: string): Promise<boolean> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
  return (res.Contents ?? []).some((o) => o.Key === key);
}

async function waitFor<T>(fn: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let lab: Lab | undefined;
let s3srv: S3ServerChild | undefined;
let s3: S3Client;
const keys: string[] = [];
let local: Summary;
const SUMMARY_KEY = 'snoopy/snoopy-operator/tcpdump-job/cap-1/shop/web-0.summary.json';

beforeAll(async () => {
  lab = await createLab();
  await startServers(lab);
  const pcap = join(lab.dir, 'capture.pcap');
  const tcpdump = await startInNs(lab.nsClient, ['tcpdump', '--immediate-mode', '-U', '-B', '16384', '-i', lab.ifClient, '-w', pcap], /listening on/);
  await generateTraffic(lab);
  await markEnd(lab, [pcap]);
  await stopChild(tcpdump, 'SIGINT');
  local = await analyzeSources([{ kind: 'file', path: pcap }]);
  s3srv = await startS3Server({ dir: join(lab.dir, 's3'), buckets: [BUCKET] });
  s3 = s3srv.client();
  // cut as podtracer does and store under the collector's keys
  const seg = new Segmenter({ maxBytes: 4000 });
  const segments = [...seg.push(await readFile(pcap))];
  const last = seg.end().segment;
  if (last) segments.push(last);
  for (const [sequence, s] of segments.entries()) {
    const key = segmentKey({ ...ID, sequence, format: 'pcap' });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: s.data }));
    keys.push(key);
  }
}, 120_000);

afterAll(async () => {
  await s3srv?.stop();
  await lab?.close();
});

const eventData = (overrides: Record<string, unknown> = {}) => ({
  bucket: BUCKET,
  prefix: 'snoopy/snoopy-operator/tcpdump-job/cap-1/shop/web-0/',
  // listed out of order on purpose: the analyzer reads them in sequence order
  keys: [...keys].reverse(),
  segments: keys.length,
  captureId: ID.captureId,
  pod: ID.pod,
  podNamespace: ID.podNamespace,
  node: 'node-a',
  snoopyJob: ID.snoopyJob,
  snoopyJobNamespace: ID.snoopyJobNamespace,
  ...overrides,
});

test('the exported handle(context, event) works in-process with its settings from the environment', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, s3srv!.env(BUCKET), { K_SINK: '' });
  try {
    const { handle } = await import('../handle.js');
    const reply = await handle({}, completedEvent(eventData({ captureId: 'cap-5', prefix: 'snoopy/snoopy-operator/tcpdump-job/cap-5/shop/web-0/' })));
    expect(reply?.type).toBe(EventType.CaptureAnalyzed);
    expect((reply?.data as { key: string }).key).toBe('snoopy/snoopy-operator/tcpdump-job/cap-5/shop/web-0.summary.json');
    expect(await getJson(s3, 'snoopy/snoopy-operator/tcpdump-job/cap-5/shop/web-0.summary.json')).toEqual(local);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('summarize s3://BUCKET/KEY …: the segments from S3, in the order given, as one capture', async () => {
  const args = [MAIN, 'summarize', ...keys.map((k) => `s3://${BUCKET}/${k}`), '--json'];
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...s3srv!.env(BUCKET) }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.stdout) as Summary;
  // several sources: the same analysis; only error messages would name the sources
  expect(summary).toEqual(local);
});

describe('snoopy-analyzer serving CloudEvents', () => {
  test('capture.completed → summary object next to the segments and capture.analyzed to K_SINK', async () => {
    expect(keys.length).toBeGreaterThan(3);
    const sink = await startRecordingSink();
    const analyzer = await startAnalyzer({ ...s3srv!.env(BUCKET), K_SINK: sink.url });
    try {
      for (const path of ['/health/liveness', '/health/readiness']) expect((await fetch(`${analyzer.url}${path}`)).status).toBe(200);
      const res = await post(analyzer.url, completedEvent(eventData()));
      expect(res.status).toBe(204);
      const summary = (await getJson(s3, SUMMARY_KEY)) as Summary;
      // the segments read from S3 in sequence order give exactly the whole file's summary
      expect(summary).toEqual(local);
      expect(summary.tcp.attempted).toBe(5);
      const event = await waitFor(() => sink.events[0], 'capture.analyzed at the sink');
      expect(event.headers).toMatchObject({
        'ce-specversion': '1.0',
        'ce-type': EventType.CaptureAnalyzed,
        'ce-source': snoopyJobSource(ID.snoopyJobNamespace, ID.snoopyJob),
        'ce-subject': `${ID.podNamespace}/${ID.pod}`,
        'ce-snoopyjob': ID.snoopyJob,
        'ce-snoopyns': ID.snoopyJobNamespace,
        'ce-targetpod': ID.pod,
        'ce-targetns': ID.podNamespace,
        'ce-node': 'node-a',
      });
      expect(event.body).toMatchObject({
        bucket: BUCKET,
        key: SUMMARY_KEY,
        uri: `s3://${BUCKET}/${SUMMARY_KEY}`,
        segments: keys.length,
        packets: local.packets,
        bytes: local.bytes,
        tcp: { attempted: 5, established: 3, refused: 1, unanswered: 1 },
        dns: { queries: 3, answered: 1, failed: 1, unanswered: 1 },
        connectionSuccessRate: 0.6,
        dnsFailureRate: local.dns.failureRate,
        captureId: ID.captureId,
        errors: [],
      });
      const body = event.body as { destinations: Array<{ destination: string; names?: string[] }> };
      expect(body.destinations.find((d) => d.destination === `${SERVER_IP}:${HTTP_PORT}`)?.names).toEqual(['web.snoopy.test']);
      const metrics = await (await fetch(`${analyzer.url}/metrics`)).text();
      expect(metrics).toMatch(/snoopy_analyzer_captures_total\{result="analyzed"\} 1/);
      expect(metrics).toMatch(new RegExp(`snoopy_analyzer_packets_total ${local.packets}`));
      // SIGTERM: a clean exit
      const exited = new Promise<number | null>((r) => analyzer.child.once('exit', (code) => r(code)));
      analyzer.child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await stopChild(analyzer.child, 'SIGKILL');
      await sink.close();
    }
  });

  test('with the target\'s evidence beside the segments, flows are named: the pod by its IPs, a Service by its cluster IP', async () => {
    const evidenceKey = 'snoopy/snoopy-operator/tcpdump-job/cap-1/shop/web-0/evidence.json';
    // what podtracer stores, cut to the fields the analyzer reads: the capture ran on the client
    // side, so the client is the pod; the server's address stands for a Service's cluster IP
    const evidence = { schemaVersion: 1, captureId: 'cap-1', pod: 'web-0', namespace: 'shop', podIPs: [CLIENT_IP], services: [{ name: 'web', namespace: 'shop', clusterIPs: [SERVER_IP] }] };
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: evidenceKey, Body: JSON.stringify(evidence) }));
    const analyzer = await startAnalyzer({ ...s3srv!.env(BUCKET) });
    try {
      const res = await post(analyzer.url, completedEvent(eventData()));
      expect(res.status).toBe(200);
      const summary = (await getJson(s3, SUMMARY_KEY)) as Summary;
      const fromClient = summary.flows.filter((f) => f.client.startsWith(`${CLIENT_IP}:`) || f.client === CLIENT_IP);
      expect(fromClient.length).toBeGreaterThan(0);
      for (const f of fromClient) expect(f.clientName).toBe('pod shop/web-0');
      const toServer = summary.flows.filter((f) => f.server.startsWith(`${SERVER_IP}:`) || f.server === SERVER_IP);
      expect(toServer.length).toBeGreaterThan(0);
      for (const f of toServer) expect(f.serverName).toBe('service shop/web');
      // nothing else changes
      const unnamed = { ...summary, flows: summary.flows.map(({ clientName: _c, serverName: _s, ...f }) => f) };
      expect(unnamed).toEqual(local);
    } finally {
      await stopChild(analyzer.child, 'SIGKILL');
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: evidenceKey }));
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: SUMMARY_KEY }));
    }
  });

  test('without K_SINK capture.analyzed is the reply; bad and foreign events are answered, never crash', async () => {
    const analyzer = await startAnalyzer({ ...s3srv!.env(BUCKET), K_SINK: '' });
    try {
      // the reply event (Knative Trigger reply), binary mode
      const oneKey = segmentKey({ ...ID, captureId: 'cap-2', sequence: 0, format: 'pcap' });
      const first = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0]! }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: oneKey, Body: await first.Body!.transformToByteArray() }));
      const res = await post(analyzer.url, completedEvent(eventData({ prefix: undefined, keys: [oneKey], captureId: 'cap-2' })));
      expect(res.status).toBe(200);
      const reply = HTTP.toEvent({ headers: Object.fromEntries(res.headers), body: await res.text() }) as CloudEvent<{ key: string; packets: number }>;
      expect(reply.type).toBe(EventType.CaptureAnalyzed);
      expect(reply['targetpod']).toBe(ID.pod);
      // no prefix in the event: the capture path comes from the segment key
      expect(reply.data!.key).toBe('snoopy/snoopy-operator/tcpdump-job/cap-2/shop/web-0.summary.json');
      expect(await exists(s3, reply.data!.key)).toBe(true);
      expect(reply.data!.packets).toBeGreaterThan(0);

      // a missing segment: the others are analysed and the problem is in the summary
      const missing = segmentKey({ ...ID, captureId: 'cap-3', sequence: 1, format: 'pcap' });
      const partial = await post(analyzer.url, completedEvent(eventData({ prefix: undefined, keys: [oneKey, missing] })));
      expect(partial.status).toBe(200);
      const partialEvent = HTTP.toEvent({ headers: Object.fromEntries(partial.headers), body: await partial.text() }) as CloudEvent<{ key: string; errors: string[] }>;
      expect(partialEvent.data!.errors.join(' ')).toMatch(/cap-3\/shop\/web-0\/000001\.pcap: cannot read: no such object/);

      // text output (ping, ss …) is no packet capture: no summary, no event
      const txt = segmentKey({ ...ID, captureId: 'cap-4', sequence: 0, format: 'text' });
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: txt, Body: 'PING 10.0.0.1\n' }));
      expect((await post(analyzer.url, completedEvent(eventData({ prefix: undefined, keys: [txt] })))).status).toBe(204);
      expect(await exists(s3, 'snoopy/snoopy-operator/tcpdump-job/cap-4/shop/web-0.summary.json')).toBe(false);

      // other event types are not the analyzer's business
      expect((await post(analyzer.url, completedEvent(eventData(), EventType.SegmentStored))).status).toBe(204);
      // a capture.completed without keys, and a request that is no CloudEvent at all
      const noKeys = await post(analyzer.url, completedEvent({ bucket: BUCKET, keys: [] }));
      expect(noKeys.status).toBe(400);
      expect(((await noKeys.json()) as { error: string }).error).toMatch(/no keys/);
      const junk = await fetch(`${analyzer.url}/`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      expect(junk.status).toBe(400);
      // storage refusing the summary: a 5xx so the broker retries
      const noBucket = await post(analyzer.url, completedEvent(eventData({ bucket: 'no-such-bucket', prefix: undefined, keys: [oneKey] })));
      expect(noBucket.status).toBe(500);
      expect(((await noBucket.json()) as { error: string }).error).toMatch(/storing the summary s3:\/\/no-such-bucket\//);
      // still serving
      expect((await fetch(`${analyzer.url}/health/readiness`)).status).toBe(200);
    } finally {
      await stopChild(analyzer.child, 'SIGTERM');
    }
  });
});

describe('storage named by the event (data.storage)', () => {
  test('a trusted endpoint is read and written with the analyzer\'s credentials; an untrusted one is refused (400) and nothing is written', async () => {
    const other = await startS3Server({ dir: join(lab!.dir, 's3-other'), buckets: [BUCKET] });
    const analyzer = await startAnalyzer({ ...s3srv!.env(BUCKET), K_SINK: '', S3_TRUSTED_ENDPOINTS: `${other.endpoint}/` });
    try {
      const otherS3 = other.client();
      const id = { ...ID, captureId: 'cap-7' };
      const otherKeys: string[] = [];
      for (const [sequence, key] of keys.entries()) {
        const body = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();
        const k = segmentKey({ ...id, sequence, format: 'pcap' });
        await otherS3.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: body }));
        otherKeys.push(k);
      }
      const prefix = 'snoopy/snoopy-operator/tcpdump-job/cap-7/shop/web-0/';
      const summaryKey = 'snoopy/snoopy-operator/tcpdump-job/cap-7/shop/web-0.summary.json';
      const storage = { endpoint: other.endpoint, region: 'us-east-1', forcePathStyle: true };
      const res = await post(analyzer.url, completedEvent(eventData({ captureId: 'cap-7', prefix, keys: otherKeys, storage })));
      expect(res.status).toBe(200); // no K_SINK: capture.analyzed is the reply
      expect(await getJson(otherS3, summaryKey)).toEqual(local);
      expect(await exists(s3, summaryKey)).toBe(false);

      const untrusted = await post(analyzer.url, completedEvent(eventData({ captureId: 'cap-8', prefix: prefix.replace('cap-7', 'cap-8'), storage: { endpoint: 'http://127.0.0.1:1', forcePathStyle: true } })));
      expect(untrusted.status).toBe(400);
      expect(((await untrusted.json()) as { error: string }).error).toMatch(/storage endpoint http:\/\/127\.0\.0\.1:1 is not trusted/);
      const malformed = await post(analyzer.url, completedEvent(eventData({ storage: { endpoint: 'http://user:pw@127.0.0.1:9/x' } })));
      expect(malformed.status).toBe(400);
      for (const client of [s3, otherS3]) expect(await exists(client, summaryKey.replace('cap-7', 'cap-8'))).toBe(false);
      otherS3.destroy();
    } finally {
      await stopChild(analyzer.child, 'SIGTERM');
      await other.stop();
    }
  });

  test('POST /dead-letter keeps an undeliverable event in S3', async () => {
    const analyzer = await startAnalyzer({ ...s3srv!.env(BUCKET), K_SINK: '', DEAD_LETTER_BUCKET: BUCKET });
    try {
      const event = completedEvent(eventData({ captureId: 'cap-dead' }));
      const msg = HTTP.binary(event);
      const res = await fetch(`${analyzer.url}/dead-letter`, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
      expect(res.status).toBe(204);
      const kept = (await getJson(s3, `dead-letters/${EventType.CaptureCompleted}/${event.id}.json`)) as { id: string; type: string; data: { captureId: string } };
      expect(kept).toMatchObject({ id: event.id, type: EventType.CaptureCompleted, data: { captureId: 'cap-dead' } });
    } finally {
      await stopChild(analyzer.child, 'SIGTERM');
    }
  });
});
