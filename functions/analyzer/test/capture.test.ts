// Real captures of real traffic between two test namespaces, in four forms (tcpdump µs pcap,
// tcpdump ns pcap, tcpdump -i any as SLL2, tshark pcapng): the summary's numbers equal what the
// test generated and agree with tshark's conversation table on the same files. Then the same
// capture cut into segments, truncated, corrupted and garbled.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCapture, PcapWriter, Segmenter } from '../../../lib/pcap/index.js';
import { analyzeSources } from '../source.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import {
  CLIENT_IP,
  createLab,
  DROPPED_PORT,
  generateTraffic,
  markEnd,
  HTTP_BODY_BYTES,
  HTTP_PORT,
  NAME_NX,
  NAME_OK,
  REFUSED_PORT,
  SERVER_IP,
  startInNs,
  startServers,
  stopChild,
  type Generated,
  type Lab,
} from './lab.js';
import { conversationDifferences, tsharkConversations } from './tshark.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const file = (name: string) => join(lab!.dir, name);
const analyzeFile = (path: string) => analyzeSources([{ kind: 'file', path }]);

let lab: Lab | undefined;
const pathOfForm = (form: string) => file(`${form}.${form === 'pcapng' ? 'pcapng' : 'pcap'}`);
const pathOf = pathOfForm;
let generated: Generated;
const FORMS = ['pcap-us', 'pcap-ns', 'sll2', 'pcapng'] as const;
type Form = (typeof FORMS)[number];
const summaries = new Map<Form, Summary>();

beforeAll(async () => {
  lab = await createLab();
  await startServers(lab);
  const dev = lab.ifClient;
  // Big kernel buffers: with the default 2 MB, tcpdump -i any was seen to drop a packet or two on
  // this busy machine. tshark first: starting, it probes local services (extcap) in the namespace, which the
  // -i any capture would otherwise see on lo
  const tools: Array<[Form, string[], RegExp]> = [
    ['pcapng', ['tshark', '-F', 'pcapng', '-B', '16', '-i', dev, '-w', file('pcapng.pcapng')], /Capturing on/],
    ['pcap-us', ['tcpdump', '--immediate-mode', '-U', '-B', '16384', '-i', dev, '-w', file('pcap-us.pcap')], /listening on/],
    ['pcap-ns', ['tcpdump', '--immediate-mode', '-U', '-B', '16384', '--time-stamp-precision=nano', '-i', dev, '-w', file('pcap-ns.pcap')], /listening on/],
    ['sll2', ['tcpdump', '--immediate-mode', '-U', '-B', '16384', '-i', 'any', '-y', 'LINUX_SLL2', '-w', file('sll2.pcap')], /listening on/],
  ];
  const captures = [];
  for (const [, argv, ready] of tools) captures.push(await startInNs(lab.nsClient, argv, ready));
  generated = await generateTraffic(lab);
  await markEnd(lab, FORMS.map(pathOfForm));
  for (const c of captures) await stopChild(c, 'SIGINT');
  for (const form of FORMS) summaries.set(form, await analyzeFile(pathOfForm(form)));
}, 120_000);

afterAll(async () => {
  await lab?.close();
});


function expectGenerated(s: Summary, g: Generated): void {
  expect(s.errors).toEqual([]);
  expect(s.truncated).toBe(false);
  expect(s.decodeProblems).toEqual({});
  const attempted = g.httpGets + g.refused + g.unanswered;
  expect(s.tcp).toMatchObject({ attempted, established: g.httpGets, refused: g.refused, unanswered: g.unanswered, closed: g.httpGets });
  const http = s.flows.filter((f) => f.server === `${SERVER_IP}:${HTTP_PORT}`);
  expect(http).toHaveLength(g.httpGets);
  for (const f of http) {
    expect(f.protocol).toBe('tcp');
    expect(f.client.startsWith(`${CLIENT_IP}:`)).toBe(true);
    expect(f.state).toBe('closed');
    expect(f.serverBytes).toBeGreaterThan(HTTP_BODY_BYTES);
    expect(f.tcp!.handshakeCompleted).toBe(true);
    expect(f.tcp!.handshakeRttMs).toBeGreaterThan(0);
    expect(f.serverNames).toEqual([NAME_OK]);
  }
  const refused = s.flows.filter((f) => f.server === `${SERVER_IP}:${REFUSED_PORT}`);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ state: 'refused', clientPackets: 1, serverPackets: 1, tcp: { rstFrom: 'server', synSent: 1 } });
  const dropped = s.flows.filter((f) => f.server === `${SERVER_IP}:${DROPPED_PORT}`);
  expect(dropped).toHaveLength(1);
  expect(dropped[0]!.state).toBe('unanswered');
  expect(dropped[0]!.serverPackets).toBe(0);
  expect(dropped[0]!.tcp!.synSent).toBeGreaterThanOrEqual(2);
  // nothing is lost on a veth: the only retransmissions are the dropped port's SYNs
  expect(s.tcp.retransmissions).toBe(dropped[0]!.tcp!.synSent - 1);
  expect(s.headline.connectionSuccessRate).toBeCloseTo(g.httpGets / attempted, 4);
  const dest = (port: number) => s.headline.destinations.find((d) => d.destination === `${SERVER_IP}:${port}`);
  expect(dest(HTTP_PORT)).toEqual({ destination: `${SERVER_IP}:${HTTP_PORT}`, names: [NAME_OK], attempted: 3, established: 3, refused: 0, unanswered: 0, successRate: 1 });
  expect(dest(REFUSED_PORT)).toMatchObject({ attempted: 1, refused: 1, successRate: 0 });
  expect(dest(DROPPED_PORT)).toMatchObject({ attempted: 1, unanswered: 1, successRate: 0 });
  // DNS: one answer, one NXDOMAIN, one query the server ignores
  const dnsQueries = g.dnsOk + g.dnsNx + g.dnsSilent;
  expect(s.dns).toMatchObject({ queries: dnsQueries, responses: 2, answered: g.dnsOk, failed: g.dnsNx, unanswered: g.dnsSilent, unmatchedResponses: 0 });
  expect(s.dns.rcodes).toEqual({ NOERROR: 1, NXDOMAIN: 1 });
  expect(s.dns.latency.count).toBe(2);
  expect(s.dns.failureRate).toBeCloseTo(2 / 3, 4);
  expect(s.headline.dnsFailureRate).toBe(s.dns.failureRate);
  expect(s.dns.names.find((n) => n.name === NAME_OK)).toMatchObject({ queries: 1, answered: 1, addresses: [SERVER_IP] });
  expect(s.dns.names.find((n) => n.name === NAME_NX)).toMatchObject({ queries: 1, failed: 1, rcodes: { NXDOMAIN: 1 } });
  expect(s.flows.filter((f) => f.protocol === 'udp' && f.server === `${SERVER_IP}:53`)).toHaveLength(dnsQueries);
  // ping
  expect(s.icmp).toMatchObject({ echoRequests: g.pings, echoReplies: g.pings, echoAnswered: g.pings, echoLost: 0, successRate: 1 });
  expect(s.icmp.rtt.count).toBe(g.pings);
  const echo = s.flows.filter((f) => f.protocol === 'icmp');
  expect(echo).toHaveLength(1);
  expect(echo[0]).toMatchObject({ client: CLIENT_IP, server: SERVER_IP, packets: 2 * g.pings, icmp: { echoRequests: g.pings, echoReplies: g.pings } });
  // the top talkers are the two ends of the test
  expect(s.headline.topTalkers.slice(0, 2).map((t) => t.ip).sort()).toEqual([CLIENT_IP, SERVER_IP]);
  expect(s.headline.topTalkers.find((t) => t.ip === SERVER_IP)!.names).toEqual([NAME_OK]);
  // the totals add up
  expect(s.flows.reduce((n, f) => n + f.packets, 0) + s.nonIpPackets).toBe(s.packets);
  expect(s.flows.reduce((n, f) => n + f.bytes, 0)).toBeLessThanOrEqual(s.bytes);
}

describe.each(FORMS)('%s capture of real traffic', (form) => {
  test('the summary counts exactly what the test generated', () => {
    const s = summaries.get(form)!;
    expectGenerated(s, generated);
    const linkType = form === 'sll2' ? '276' : '1';
    expect(Object.keys(s.linkTypes)).toEqual([linkType]);
    expect(s.format).toBe(form === 'pcapng' ? 'pcapng' : 'pcap');
  });

  test('every TCP and UDP flow agrees with tshark -z conv,tcp -z conv,udp', async () => {
    const s = summaries.get(form)!;
    const convs = await tsharkConversations(pathOf(form));
    expect(convs.filter((c) => c.protocol === 'tcp')).toHaveLength(s.flows.filter((f) => f.protocol === 'tcp').length);
    expect(conversationDifferences(s.flows, convs, ['tcp', 'udp'])).toEqual([]);
  });
});

test('the four forms of one capture give the same flows (nanosecond timestamps included)', () => {
  // Packet counts are compared with tshark per file above: under load a capture tool may miss a
  // packet the others saw, so across forms the flows, their ends and outcomes are compared.
  const key = (form: Form) =>
    summaries
      .get(form)!
      .flows.filter((f) => f.protocol !== 'icmpv6')
      .map((f) => `${form}: ${f.protocol} ${f.client} ${f.server} ${f.state}`.replace(`${form}:`, ''))
      .sort();
  for (const form of FORMS) expect([form, ...key(form)]).toEqual([form, ...key('pcap-us')]);
  // the ns capture's handshake RTTs are not rounded to microseconds
  const ns = summaries.get('pcap-ns')!;
  const rtts = ns.flows.flatMap((f) => (f.tcp?.handshakeRttMs === undefined ? [] : [f.tcp.handshakeRttMs]));
  expect(rtts.length).toBe(3);
  // the same frames, a bigger Ethernet-less header: SLL2 frames are 6 bytes longer than Ethernet's
  const sll2 = summaries.get('sll2')!;
  const flow = (s: Summary) => s.flows.find((f) => f.server === `${SERVER_IP}:${REFUSED_PORT}`)!;
  expect(flow(sll2).bytes - flow(summaries.get('pcap-us')!).bytes).toBe(2 * 6);
});

describe('snoopy-analyzer summarize', () => {
  test('--json prints the same summary the library computes; the table names destinations', async () => {
    const json = await cli(['summarize', pathOf('pcap-us'), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(summaries.get('pcap-us'));
    const table = await cli(['summarize', pathOf('pcapng')]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${SERVER_IP}:${HTTP_PORT}\\s+${NAME_OK}\\s+3\\s+3\\s+0\\s+0\\s+100\\.0%`));
    expect(table.stdout).toMatch(/TCP: 5 attempted, 3 established, 1 refused, 1 unanswered/);
  });

  test('segments of one capture given in order read as one stream', async () => {
    const data = await readFile(pathOf('pcap-us'));
    const seg = new Segmenter({ maxBytes: 3000 });
    const segments = [...seg.push(data)];
    const last = seg.end().segment;
    if (last) segments.push(last);
    expect(segments.length).toBeGreaterThan(5);
    const files: string[] = [];
    for (const [i, s] of segments.entries()) {
      const p = file(`seg-${String(i).padStart(6, '0')}.pcap`);
      await writeFile(p, s.data);
      files.push(p);
    }
    const r = await cli(['summarize', ...files, '--json']);
    expect(r.code).toBe(0);
    const whole = summaries.get('pcap-us')!;
    expect(JSON.parse(r.stdout)).toEqual(whole);
  });

  test('a tiny flow table and flow list: every total still counts every flow', async () => {
    const whole = summaries.get('pcap-us')!;
    const r = await cli(['summarize', pathOf('pcap-us'), '--json', '--max-flows', '10', '--list-flows', '4']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(whole.flowCount).toBeGreaterThan(10);
    expect(s.flowsOmitted.evicted).toBeGreaterThan(0);
    expect(s.flows).toHaveLength(4);
    expect(s.flows).toEqual(whole.flows.slice(0, 4));
    for (const k of ['packets', 'bytes', 'dns', 'icmp', 'udp', 'ip', 'nonIpPackets'] as const) expect(s[k]).toEqual(whole[k]);
    const { handshakeRtt: _a, ...tcp } = s.tcp;
    const { handshakeRtt: _b, ...wholeTcp } = whole.tcp;
    expect(tcp).toEqual(wholeTcp);
    expect(s.headline.destinations).toEqual(whole.headline.destinations);
    expect(s.headline.topTalkers).toEqual(whole.headline.topTalkers);
    expect(s.flows.reduce((n, f) => n + f.packets, 0) + s.flowsOmitted.packets + s.nonIpPackets).toBe(s.packets);
  });

  test('bad input: one line, non-zero exit', async () => {
    const notPcap = file('not-a-capture.txt');
    await writeFile(notPcap, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const cases: Array<[string[], RegExp]> = [
      [['summarize'], /needs at least one FILE/],
      [['summarize', file('missing.pcap')], /no such file/],
      [['summarize', lab!.dir], /not a regular file/],
      [['summarize', notPcap], /no packets read: not a pcap or pcapng stream/],
      [['summarize', pathOf('pcap-us'), '--max-flows', 'many'], /--max-flows needs a non-negative integer/],
      [['summarize', pathOf('pcap-us'), '--frobnicate'], /unknown option "--frobnicate"/],
      [['summarize', 's3://bucket-only'], /not an s3:\/\/BUCKET\/KEY address/],
      [['analyse'], /unknown command "analyse"/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, [, reason]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(reason);
    }
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/snoopy-analyzer summarize FILE\|s3:\/\/BUCKET\/KEY/);
  });
});

/** Byte offsets of each record header in a little- or big-endian microsecond pcap. */
function recordOffsets(data: Buffer): number[] {
  const le = data.readUInt32LE(0) === 0xa1b2c3d4 || data.readUInt32LE(0) === 0xa1b23c4d;
  const out: number[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    out.push(at);
    at += 16 + (le ? data.readUInt32LE(at + 8) : data.readUInt32BE(at + 8));
  }
  return out;
}

describe('damaged captures give partial summaries', () => {
  test('a file cut inside its last record: every earlier packet, and the truncation noted', async () => {
    const data = await readFile(pathOf('pcap-us'));
    const whole = summaries.get('pcap-us')!;
    const offsets = recordOffsets(data);
    const cut = file('cut.pcap');
    await writeFile(cut, data.subarray(0, data.length - 5));
    const r = await cli(['summarize', cut, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.truncated).toBe(true);
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatch(/truncated/);
    expect(s.packets).toBe(offsets.length - 1);
    expect(s.packets).toBe(whole.packets - 1);
    // cut in the middle: the part before is summarised
    const mid = offsets[Math.floor(offsets.length / 2)]! + 20;
    await writeFile(cut, data.subarray(0, mid));
    const half = await analyzeFile(cut);
    expect(half.packets).toBe(Math.floor(offsets.length / 2));
    expect(half.truncated).toBe(true);
    expect(half.tcp.attempted).toBeLessThanOrEqual(whole.tcp.attempted);
  });

  test('a corrupt record length: the packets before it, the error noted', async () => {
    const data = Buffer.from(await readFile(pathOf('pcap-us')));
    const offsets = recordOffsets(data);
    const bad = 10;
    data.writeUInt32LE(0x7fffffff, offsets[bad]! + 8);
    data.writeUInt32LE(0x7fffffff, offsets[bad]! + 12);
    const p = file('corrupt.pcap');
    await writeFile(p, data);
    const s = await analyzeFile(p);
    expect(s.packets).toBe(bad);
    expect(s.errors.length).toBeGreaterThan(0);
    expect(s.errors.join(' ')).toMatch(/record|length|snaplen|corrupt/i);
  });

  test('garbled frames (random bytes, cut short) never stop the analysis', async () => {
    const parsed = parseCapture(await readFile(pathOf('pcap-us')));
    let seed = 0x12345678;
    const rand = () => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed;
    };
    const w = new PcapWriter({ linkType: 1 });
    const parts = [w.header()];
    let frames = 0;
    for (const p of parsed.packetList) {
      // keep the Ethernet + IP header start so decoding goes deep before hitting garbage
      for (let keep = 0; keep <= Math.min(p.data.length, 80); keep += 7) {
        const data = Buffer.from(p.data.subarray(0, keep + (rand() % 8)));
        for (let i = 14 + (rand() % 30); i < data.length; i += 1 + (rand() % 5)) data[i] = rand() & 0xff;
        parts.push(w.record({ timestampNs: p.timestampNs, data, originalLength: p.originalLength }));
        frames++;
      }
    }
    const p = file('garbled.pcap');
    await writeFile(p, Buffer.concat(parts));
    const s = await analyzeFile(p);
    expect(s.packets).toBe(frames);
    expect(s.errors).toEqual([]);
    expect(Object.keys(s.decodeProblems).length).toBeGreaterThan(0);
    expect(Object.keys(s.decodeProblems).some((k) => k.startsWith('decoder error'))).toBe(false);
  });
});
