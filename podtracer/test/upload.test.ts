// podtracer → real collector process → real local S3 server process: exact packet counts, also
// while the collector is killed and restarted and while storage is down; rotation against a
// reference capture; iperf3 text output; a refused token keeps the spool.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3ServerChild } from '../../infra/s3/child.js';
import { startCollectorChild, type CollectorChild } from '../../functions/collector/child.js';
import { parseCapture, type Packet } from '../../lib/pcap/index.js';
import { parseSegmentKey } from '../../lib/storage-keys.js';
import { TargetNetns, countPackets, echoRequestSeqs, run, sleep, startPodtracer, waitFor, waitForLog } from './helpers.js';

const BUCKET = 'captures';
let net: TargetNetns;
let work: string;
let s3: S3ServerChild;
let s3client: S3Client;
let collector: CollectorChild;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'podtracer-upload-'));
  net = new TargetNetns('up');
  await net.create();
  s3 = await startS3Server({ dir: join(work, 's3'), buckets: [BUCKET] });
  s3client = s3.client();
  collector = await startCollectorChild(s3.env(BUCKET));
});

afterAll(async () => {
  collector?.child.kill('SIGKILL');
  await s3?.kill();
  await net?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

async function keysUnder(prefix: string): Promise<string[]> {
  const res = await s3client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

async function download(key: string): Promise<Buffer> {
  const res = await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** Downloads every object of a capture into files; returns their paths in sequence order. */
async function fetchCapture(captureId: string, dir: string): Promise<{ keys: string[]; files: string[] }> {
  const keys = await keysUnder(`snoopy-operator/web-job/${captureId}/`);
  const files: string[] = [];
  for (const key of keys) {
    const file = join(dir, key.replace(/\//g, '_'));
    await writeFile(file, await download(key));
    files.push(file);
  }
  return { keys, files };
}

function args(captureId: string, extra: string[]): string[] {
  return [
    'run', '--pod', 'web-0', '--namespace', 'shop', '--pid', String(net.targetPid), '--collector', collector.address,
    '--capture-id', captureId, '--upload-grace', '60s', ...extra,
  ];
}

const ENV = { SNOOPY_JOB: 'web-job', SNOOPY_JOB_NAMESPACE: 'snoopy-operator', NODE_NAME: 'node-a', POD_UID: 'uid-1' };

async function expectExactly40(captureId: string, summary: Record<string, unknown>): Promise<string[]> {
  const { keys, files } = await fetchCapture(captureId, work);
  expect(keys.length).toBeGreaterThan(0);
  // sequence numbers from 0, in order, no gaps; every object a valid pcap
  expect(keys.map((k) => parseSegmentKey(k)!.sequence)).toEqual(keys.map((_, i) => i));
  expect(keys.every((k) => k.endsWith('.pcap'))).toBe(true);
  expect(summary.objects).toEqual(keys);
  expect(summary.segments).toBe(keys.length);
  let seqs: number[] = [];
  let total = 0;
  for (const f of files) {
    total += await countPackets(f, 'icmp[icmptype] == icmp-echo');
    seqs = seqs.concat(await echoRequestSeqs(f));
  }
  expect(total).toBe(40);
  expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  return keys;
}

describe('podtracer → collector → S3', () => {
  test('the stored segments hold exactly the 40 echo requests', async () => {
    const cid = `ping40-${Date.now()}`;
    const term = join(work, `${cid}.json`);
    const p = startPodtracer(args(cid, ['--timer', '60s', '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-']), { env: ENV, terminationLog: term });
    await waitForLog(p, 'listening on');
    await net.ping(40);
    await sleep(2500); // tcpdump hands over its last ring block within its 1 s timeout
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.summary!.unsentSegments).toBe(0);
    expect(r.summary!.packetsDroppedByKernel).toBe(0);
    const keys = await expectExactly40(cid, r.summary!);
    // the header's identity reached the objects' metadata
    const head = await s3client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keys[0]! }));
    expect(head.Metadata).toMatchObject({ node: 'node-a', 'pod-uid': 'uid-1', command: 'tcpdump' });
    // exactly the final segment was flagged last (the collector logs the flag of every stored segment)
    const stored = collector
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"segment stored"') && l.includes(`/${cid}/`))
      .map((l) => JSON.parse(l) as { key: string; last: boolean });
    expect(stored.map((e) => e.key).sort()).toEqual(keys);
    expect(stored.filter((e) => e.last).map((e) => e.key)).toEqual([keys[keys.length - 1]]);
  });

  test('a tool that prints nothing still ends its capture with an empty last segment', async () => {
    const cid = `empty-${Date.now()}`;
    const p = startPodtracer(args(cid, ['--', 'ip', 'addr', 'show', 'dev', 'lo', 'to', '192.0.2.1']), { env: ENV, terminationLog: join(work, `${cid}.json`) });
    const r = await p.result;
    expect(r.code).toBe(0);
    const keys = await keysUnder(`snoopy-operator/web-job/${cid}/`);
    expect(keys).toEqual([`snoopy-operator/web-job/${cid}/shop/web-0/000000.txt`]);
    expect((await download(keys[0]!)).length).toBe(0);
    expect(collector.stderr()).toMatch(new RegExp(`"key":"${keys[0]}"[^\n]*"last":true`));
  });

  test('a full spool drops new segments and counts them; unreachable collector: exit 4, spool kept', async () => {
    const cid = `overflow-${Date.now()}`;
    const spool = join(work, `${cid}-spool`);
    const term = join(work, `${cid}.json`);
    const p = startPodtracer(
      [
        'run', '--pod', 'web-0', '-n', 'shop', '--pid', String(net.targetPid), '--collector', '127.0.0.1:1', '--capture-id', cid,
        '--spool-dir', spool, '--spool-max-bytes', '1500', '--segment-bytes', '600', '--upload-grace', '1s', '--timer', '60s',
        '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-', 'icmp',
      ],
      { env: ENV, terminationLog: term },
    );
    await waitForLog(p, 'listening on');
    await net.ping(20, '0.02');
    await sleep(2500);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(4);
    const s = r.summary!;
    expect(s.segments).toBe(0);
    expect(s.spoolDroppedSegments as number).toBeGreaterThan(0);
    expect(s.spoolDroppedBytes as number).toBeGreaterThan(0);
    expect(s.unsentSegments as number).toBeGreaterThan(0);
    expect(String(s.error)).toMatch(/not stored before giving up/);
    expect(r.stderr).toContain('spool full: segment dropped');
    // what is left is exactly the unsent segments, each with its sidecar, within the bound
    const files = (await readdir(spool)).sort();
    const segs = files.filter((f) => f.endsWith('.seg'));
    expect(segs.length).toBe(s.unsentSegments);
    expect(files.filter((f) => f.endsWith('.json')).length).toBe(segs.length);
    let spooled = 0;
    for (const f of segs) spooled += (await readFile(join(spool, f))).length;
    expect(spooled).toBeLessThanOrEqual(1500);
    const sidecar = JSON.parse(await readFile(join(spool, files.find((f) => f.endsWith('.json'))!), 'utf8')) as {
      sequence: number;
      header: Record<string, unknown>;
    };
    expect(sidecar.header).toMatchObject({ captureId: cid, pod: 'web-0', podNamespace: 'shop', snoopyJob: 'web-job', format: 'FORMAT_PCAP' });
    expect(sidecar.header.token).toBeUndefined();
    expect(sidecar.header.sequence).toBe(sidecar.sequence);
    // every byte read is accounted for: each segment is a 24-byte pcap header plus whole records,
    // so dropped + unsent bytes = bytes read + one repeated header per segment after the first
    const n = (s.spoolDroppedSegments as number) + segs.length;
    expect((s.spoolDroppedBytes as number) + spooled).toBe((s.bytesRead as number) + 24 * (n - 1));
  });

  test('the collector killed and restarted in the middle: still exactly 40, no duplicates', async () => {
    const cid = `restart-${Date.now()}`;
    const term = join(work, `${cid}.json`);
    const spool = join(work, `${cid}-spool`);
    // nothing kept in memory and disk space given back every 4 KiB: every upload reads its segment
    // back from the tool's output file, while the bytes before the oldest unsent one are punched out
    const p = startPodtracer(
      args(cid, [
        '--segment-seconds', '1', '--spool-dir', spool, '--spool-memory-bytes', '0', '--spool-punch-bytes', '4Ki', '--timer', '60s',
        '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-', 'icmp',
      ]),
      { env: ENV, terminationLog: term },
    );
    await waitForLog(p, 'listening on');
    const pinging = net.ping(40, '0.25', 1400);
    await sleep(2000);
    const port = collector.address.split(':')[1]!;
    collector.child.kill('SIGKILL');
    await collector.exited;
    // segments keep being cut (every second) and spooled while nothing can be uploaded
    const spooled = () => p.stderr().split('"segment spooled"').length - 1;
    const before = spooled();
    await waitFor(() => spooled() >= before + 3, 'segments piling up in the spool');
    collector = await startCollectorChild({ ...s3.env(BUCKET), PORT: port });
    await pinging;
    // the output file (about 120 KB of packets by now) gets most of its blocks punched out once
    // the uploads caught up
    const [outputFile] = await readdir(spool);
    const punched = async () => {
      const { size, blocks } = await stat(join(spool, outputFile!));
      return size > 100_000 && blocks * 512 < size / 2;
    };
    await waitFor(punched, 'the uploaded part of the output file punched out', 15_000);
    await sleep(2500);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.summary!.uploadRetries).toBeGreaterThan(0);
    expect(p.stderr()).toContain('"inMemory":false');
    const keys = await expectExactly40(cid, r.summary!);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    expect(await readdir(spool)).toEqual([]);
  });

  test('the S3 server stopped for 5 s: still exactly 40, no duplicates', async () => {
    const cid = `s3down-${Date.now()}`;
    const term = join(work, `${cid}.json`);
    const p = startPodtracer(
      args(cid, ['--segment-seconds', '1', '--timer', '60s', '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-', 'icmp']),
      { env: ENV, terminationLog: term },
    );
    await waitForLog(p, 'listening on');
    const pinging = net.ping(40, '0.25');
    await sleep(1500);
    await s3.kill();
    await sleep(5000);
    await s3.restart();
    await pinging;
    await sleep(2500);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.summary!.uploadRetries).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/storage unavailable/);
    await expectExactly40(cid, r.summary!);
  });

  test('tiny --segment-bytes: several valid pcaps whose packets equal a reference capture', async () => {
    const cid = `rotate-${Date.now()}`;
    const term = join(work, `${cid}.json`);
    const refFile = join(work, `${cid}-ref.pcap`);
    const ref = net.spawnIn('a', ['tcpdump', '-i', net.vethA, '-U', '-n', '-w', refFile, 'icmp']);
    let refErr = '';
    ref.stderr!.on('data', (d: Buffer) => (refErr += d.toString()));
    const p = startPodtracer(
      args(cid, ['--segment-bytes', '700', '--timer', '60s', '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-', 'icmp']),
      { env: ENV, terminationLog: term },
    );
    await waitForLog(p, 'listening on');
    await waitFor(() => refErr.includes('listening on'), 'the reference tcpdump');
    await net.ping(20);
    await sleep(2500);
    p.child.kill('SIGTERM');
    ref.kill('SIGINT');
    const r = await p.result;
    await new Promise((resolve) => (ref.exitCode !== null ? resolve(undefined) : ref.once('close', resolve)));
    expect(r.code).toBe(0);
    const { keys } = await fetchCapture(cid, work);
    expect(keys.length).toBeGreaterThanOrEqual(5);
    const ours: Packet[] = [];
    for (const key of keys) {
      const data = await download(key);
      expect(data.length).toBeLessThanOrEqual(700);
      const parsed = parseCapture(data);
      expect(parsed.format).toBe('pcap');
      expect(parsed.errors).toEqual([]);
      expect(parsed.truncated).toBe(false);
      expect(parsed.packets).toBeGreaterThan(0);
      ours.push(...parsed.packetList);
    }
    const reference = parseCapture(await readFile(refFile)).packetList;
    expect(ours.length).toBe(40);
    expect(ours.length).toBe(reference.length);
    for (let i = 0; i < ours.length; i++) {
      expect(ours[i]!.data.equals(reference[i]!.data)).toBe(true);
      expect(ours[i]!.originalLength).toBe(reference[i]!.originalLength);
      // two captures of the same packet on one interface: timestamps within a millisecond
      const dt = ours[i]!.timestampNs - reference[i]!.timestampNs;
      expect(dt < 0n ? -dt : dt).toBeLessThan(1_000_000n);
    }
  });

  test('pcapng output (tshark, allowed by configuration): .pcapng segments, each valid, all packets kept', async () => {
    const cid = `pcapng-${Date.now()}`;
    const spool = join(work, `${cid}-spool`);
    const p = startPodtracer(
      args(cid, ['--segment-bytes', '1500', '--segment-seconds', '1', '--spool-dir', spool, '--timer', '60s', '--', 'tshark', '-i', net.vethA, '-f', 'icmp', '-w', '-']),
      { env: { ...ENV, SNOOPY_ALLOWED_TOOLS: 'tshark' }, terminationLog: join(work, `${cid}.json`) },
    );
    // tshark says "Capturing on" before its capture process is armed: send large pings until
    // the first segment reaches the spool, then the 10 counted ones (small, told apart by size)
    await waitForLog(p, 'Capturing on');
    await waitFor(async () => {
      await run('ip', ['netns', 'exec', net.b, 'ping', '-q', '-c', '1', '-s', '300', net.ipA]);
      return p.stderr().includes('"segment spooled"');
    }, 'the capture to be armed');
    await net.ping(10);
    await sleep(2500);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    const keys = await keysUnder(`snoopy-operator/web-job/${cid}/`);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(keys.every((k) => k.endsWith('.pcapng'))).toBe(true);
    let requests = 0;
    for (const key of keys) {
      const parsed = parseCapture(await download(key));
      expect(parsed.format).toBe('pcapng');
      expect(parsed.errors).toEqual([]);
      const file = join(work, key.replace(/\//g, '_'));
      await writeFile(file, await download(key));
      requests += await countPackets(file, 'icmp[icmptype] == icmp-echo and len < 200');
    }
    expect(requests).toBe(10);
  });

  test('iperf3 against a server in the peer namespace: text segments with its summary lines', async () => {
    const cid = `iperf-${Date.now()}`;
    const term = join(work, `${cid}.json`);
    const server = net.spawnIn('b', ['iperf3', '-s', '-1', '--forceflush', '-B', net.ipB]);
    let serverOut = '';
    server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
    await waitFor(() => serverOut.includes('Server listening'), 'the iperf3 server');
    const p = startPodtracer(args(cid, ['--segment-bytes', '512', '--', 'iperf3', '-c', net.ipB, '-t', '2', '--forceflush']), { env: ENV, terminationLog: term });
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.summary!.toolExitCode).toBe(0);
    const keys = await keysUnder(`snoopy-operator/web-job/${cid}/`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys.every((k) => /\/shop\/web-0\/\d{6}\.txt$/.test(k))).toBe(true);
    let text = '';
    for (const k of keys) {
      const part = (await download(k)).toString('utf8');
      expect(part.endsWith('\n')).toBe(true); // whole lines only
      text += part;
    }
    expect(text).toContain(`Connecting to host ${net.ipB}`);
    expect(text).toMatch(/ sender\s*$/m);
    expect(text).toMatch(/ receiver\s*$/m);
    expect(text).toContain('iperf Done.');
  });

  test('a collector refusing the token: exit 4, clear error, the spool kept', async () => {
    const strict = await startCollectorChild({ ...s3.env(BUCKET), SNOOPY_TOKEN_KEY: 'k'.repeat(32) });
    try {
      const cid = `badtoken-${Date.now()}`;
      const term = join(work, `${cid}.json`);
      const spool = join(work, `${cid}-spool`);
      const p = startPodtracer(
        [
          'run', '--pod', 'web-0', '-n', 'shop', '--pid', String(net.targetPid), '--collector', strict.address, '--capture-id', cid,
          '--spool-dir', spool, '--segment-seconds', '1', '--', 'ping', '-c', '300', '-i', '0.2', net.ipB,
        ],
        { env: { ...ENV, SNOOPY_CAPTURE_TOKEN: 'not.valid' }, terminationLog: term },
      );
      const r = await p.result;
      expect(r.code).toBe(4);
      expect(String(r.summary!.error)).toMatch(/capture token refused/);
      expect(r.summary!.stopReason).toBe('collector-refused');
      // the refusal stopped the tool long before its 300 pings; every segment stayed in the spool
      const unsent = r.summary!.unsentSegments as number;
      expect(unsent).toBeGreaterThanOrEqual(2);
      const files = (await readdir(spool)).sort();
      expect(files.filter((f) => f.endsWith('.seg'))).toHaveLength(unsent);
      expect(files[0]).toBe('000000.json');
      expect(await keysUnder(`snoopy-operator/web-job/${cid}/`)).toEqual([]);
    } finally {
      strict.child.kill('SIGKILL');
    }
  });
});
