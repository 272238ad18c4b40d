// Decoder corner cases, built by hand and judged by tshark: every link layer the analyzer knows
// (Ethernet with 802.1Q, QinQ and Arista timestamp headers, Linux cooked v1/v2, raw IP
// 101/228/229, BSD null and loop, NFLOG),
// IPv6 extension-header chains, IPv4 and IPv6 fragments, ICMP/ICMPv6 echo, DNS with compressed
// names. One pcapng holds them all (an interface per link type).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PcapngWriter } from '../../../lib/pcap/index.js';
import { ipv6String } from '../decode/address.js';
import { Decoded } from '../decode/decoded.js';
import { parseDns } from '../decode/dns.js';
import { decodeFrame } from '../decode/packet.js';
import { analyzeSources } from '../source.js';
import * as F from './frames.js';

const run = promisify(execFile);

const V4 = 0x0800;
const V6 = 0x86dd;
const LINK = { ETHERNET: 1, RAW: 101, NULL: 0, LOOP: 108, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276, NFLOG: 239 };
const A4 = '10.1.2.3';
const B4 = '10.9.8.7';
const A6 = '2001:db8::1';
const B6 = '2001:db8:0:1::2';
const hopByHop: [number, Buffer] = [0, Buffer.alloc(6)];
const routing: [number, Buffer] = [43, Buffer.from([0, 0, 0, 0, 0, 0])];
const destOpts: [number, Buffer] = [60, Buffer.alloc(14)];
const fragment = (offset8: number, more: boolean, id: number): [number, Buffer] => {
  const b = Buffer.alloc(6);
  b.writeUInt16BE((offset8 << 3) | (more ? 1 : 0), 0);
  b.writeUInt32BE(id, 2);
  return [44, b];
};

const frames: Array<{ what: string; link: number; data: Buffer }> = [
  { what: 'ethernet, 802.1Q, IPv4, UDP DNS query', link: LINK.ETHERNET, data: F.ethernet(V4, F.ipv4(A4, B4, 17, F.udp(40000, 53, F.dnsQuery(0x1234, 'www.example.test'))), [[0x8100, 100]]) },
  { what: 'ethernet, QinQ (802.1ad + 802.1Q), IPv6, TCP SYN', link: LINK.ETHERNET, data: F.ethernet(V6, F.ipv6(A6, B6, 6, F.tcp(40001, 443, 0x02)), [[0x88a8, 10], [0x8100, 20]]) },
  { what: 'Linux cooked (SLL), IPv4, TCP SYN-ACK', link: LINK.SLL, data: F.sll(V4, F.ipv4(B4, A4, 6, F.tcp(80, 40002, 0x12))) },
  { what: 'Linux cooked v2 (SLL2), IPv6, ICMPv6 echo request', link: LINK.SLL2, data: F.sll2(V6, F.ipv6(A6, B6, 58, F.icmpEcho(128, 7, 1))) },
  { what: 'raw IP (101), IPv4, ICMP echo reply', link: LINK.RAW, data: F.ipv4(B4, A4, 1, F.icmpEcho(0, 9, 2)) },
  { what: 'raw IPv4 (228), UDP', link: LINK.IPV4, data: F.ipv4(A4, B4, 17, F.udp(5000, 6000, Buffer.from('hello'))) },
  { what: 'raw IPv6 (229), UDP', link: LINK.IPV6, data: F.ipv6(A6, B6, 17, F.udp(5001, 6001, Buffer.from('hello'))) },
  { what: 'BSD null (little-endian AF_INET6 = 24), IPv6, TCP', link: LINK.NULL, data: F.nullHeader(24, true, F.ipv6(A6, B6, 6, F.tcp(40003, 22, 0x10))) },
  { what: 'BSD loop (big-endian AF_INET), IPv4, TCP', link: LINK.LOOP, data: F.nullHeader(2, false, F.ipv4(A4, B4, 6, F.tcp(40004, 25, 0x18, 5, Buffer.from('EHLO')))) },
  {
    what: 'IPv6 hop-by-hop, routing, destination options, first fragment, UDP DNS response with compression',
    link: LINK.ETHERNET,
    data: F.ethernet(V6, F.ipv6(B6, A6, 17, F.udp(53, 40005, F.dnsResponse(0x4321, 'www.example.test', 'edge.cdn.test', '192.0.2.44', '2001:db8::44')), [hopByHop, routing, destOpts, fragment(0, true, 77)])),
  },
  { what: 'IPv6 later fragment (no L4 header)', link: LINK.ETHERNET, data: F.ethernet(V6, F.ipv6(B6, A6, 17, Buffer.alloc(24, 1), [fragment(10, false, 77)])) },
  { what: 'IPv4 first fragment, UDP', link: LINK.ETHERNET, data: F.ethernet(V4, F.ipv4(A4, B4, 17, F.udp(7000, 7001, Buffer.alloc(64, 2)), { id: 99, mf: true })) },
  { what: 'IPv4 later fragment', link: LINK.ETHERNET, data: F.ethernet(V4, F.ipv4(A4, B4, 17, Buffer.alloc(40, 3), { id: 99, offset8: 9 })) },
  { what: 'NFLOG (239, little-endian TLVs), IPv4, UDP', link: LINK.NFLOG, data: F.nflog(2, true, F.ipv4(A4, B4, 17, F.udp(5002, 6002, Buffer.from('hello!')))) },
  { what: 'NFLOG (239, little-endian TLVs), IPv6, TCP', link: LINK.NFLOG, data: F.nflog(10, true, F.ipv6(A6, B6, 6, F.tcp(40006, 443, 0x02))) },
  {
    what: 'ethernet, Arista 48-bit timestamp header, 802.1Q, IPv4, TCP',
    link: LINK.ETHERNET,
    data: (() => {
      const tagged = F.ethernet(V4, F.ipv4(A4, B4, 6, F.tcp(40007, 80, 0x02)), [[0x8100, 7]]);
      return Buffer.concat([tagged.subarray(0, 12), F.aristaTag(0x20), tagged.subarray(12)]);
    })(),
  },
];

let dir: string;
let file: string;
let judged: string[][];
const FIELDS = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'icmp.type', 'icmpv6.type', 'dns.qry.name', 'dns.a', 'dns.aaaa', 'dns.count.answers'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snoopy-analyzer-decode-'));
  file = join(dir, 'corner-cases.pcapng');
  const w = new PcapngWriter();
  const links = [...new Set(frames.map((f) => f.link))];
  const parts = [w.shb(), ...links.map((l) => w.idb({ linkType: l }))];
  frames.forEach((f, i) => parts.push(w.epb({ interfaceId: links.indexOf(f.link), timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, data: f.data })));
  await writeFile(file, Buffer.concat(parts));
  const args = ['-r', file, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields', '-E', 'separator=/t', '-E', 'aggregator=,'];
  for (const f of FIELDS) args.push('-e', f);
  const { stdout } = await run('tshark', args);
  judged = stdout.trimEnd().split('\n').map((l) => l.split('\t'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('every frame decodes as tshark decodes it', () => {
  test.each(frames.map((f, i) => [f.what, i] as const))('%s', (_what, i) => {
    const t = Object.fromEntries(FIELDS.map((f, k) => [f, judged[i]![k] ?? '']));
    const d = new Decoded();
    const f = frames[i]!;
    decodeFrame(f.link, f.data, d);
    expect(d.problem).toBe('');
    expect(d.src).toBe(t['ip.src'] || t['ipv6.src']);
    expect(d.dst).toBe(t['ip.dst'] || t['ipv6.dst']);
    expect(d.ipVersion).toBe(t['ip.src'] ? 4 : 6);
    const sport = t['tcp.srcport'] || t['udp.srcport'];
    if (sport) {
      expect(d.hasL4).toBe(true);
      expect(String(d.srcPort)).toBe(sport);
      expect(String(d.dstPort)).toBe(t['tcp.dstport'] || t['udp.dstport']);
    } else {
      expect(d.srcPort).toBe(0);
    }
    const icmpType = t['icmp.type'] || t['icmpv6.type'];
    if (icmpType) expect(String(d.icmpType)).toBe(icmpType);
    if (t['dns.qry.name']) {
      const m = parseDns(f.data, d.payloadOffset, d.capturedPayload)!;
      expect(m.qname).toBe(t['dns.qry.name']);
      expect(String(m.answerCount)).toBe(t['dns.count.answers']);
      expect(m.addresses.filter((a) => !a.address.includes(':')).map((a) => a.address).join(',')).toBe(t['dns.a']);
      expect(m.addresses.filter((a) => a.address.includes(':')).map((a) => a.address).join(',')).toBe(t['dns.aaaa']);
      if (m.response) expect(m.aliases).toEqual([{ name: 'www.example.test', target: 'edge.cdn.test' }]);
    }
  });
});

test('fragments: counted, later fragments joined to their first fragment’s flow', async () => {
  const s = await analyzeSources([{ kind: 'file', path: file }]);
  expect(s.packets).toBe(frames.length);
  expect(s.errors).toEqual([]);
  expect(s.ip).toEqual({ v4Packets: 9, v6Packets: 7, fragments: 4, laterFragments: 2, unattributedFragments: 0 });
  const v4frag = s.flows.find((f) => f.client === `${A4}:7000`)!;
  expect(v4frag.packets).toBe(2);
  const v6dns = s.flows.find((f) => f.server === `[${A6}]:40005` || f.client === `[${B6}]:53`)!;
  expect(v6dns.packets).toBe(2);
  expect(s.linkTypes).toEqual({ '0': 1, '1': 7, '101': 1, '108': 1, '113': 1, '228': 1, '229': 1, '239': 2, '276': 1 });
  // the DNS answer names the addresses it gave, as the question asked for them
  expect(s.dns.names.find((n) => n.name === 'www.example.test')).toMatchObject({ queries: 1, answered: 1, addresses: ['192.0.2.44', '2001:db8::44'] });
});

test('NFLOG written on a big-endian host: the TLVs are read in its byte order', () => {
  // tshark reads the TLVs in the file's byte order (libpcap swaps them), so a little-endian test
  // file cannot hold big-endian TLVs for it to judge; the analyzer tells the order by the type field
  const d = new Decoded();
  decodeFrame(LINK.NFLOG, F.nflog(10, false, F.ipv6(A6, B6, 6, F.tcp(40006, 443, 0x02))), d);
  expect(d.problem).toBe('');
  expect([d.src, d.dst, d.srcPort, d.dstPort]).toEqual([A6, B6, 40006, 443]);
});

test('IPv6 text forms follow RFC 5952, as tshark prints them', () => {
  const cases: Array<[string, string]> = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
  ];
  for (const [hex, text] of cases) expect(ipv6String(Buffer.from(hex, 'hex'), 0)).toBe(text);
});

test('a reused port starts a new connection, as tshark splits its conversations', async () => {
  const w = new PcapngWriter();
  const c = (flags: number, seq: number, ack = 0) => F.ethernet(V4, F.ipv4(A4, B4, 6, withAck(F.tcp(40100, 80, flags, seq), ack)));
  const s = (flags: number, seq: number, ack = 0) => F.ethernet(V4, F.ipv4(B4, A4, 6, withAck(F.tcp(80, 40100, flags, seq), ack)));
  const withAck = (seg: Buffer, ack: number) => {
    seg.writeUInt32BE(ack, 8);
    return seg;
  };
  const SYN = 0x02;
  const ACK = 0x10;
  const FIN = 0x01;
  const RST = 0x04;
  const packets = [
    // first connection: handshake, FIN both ways
    c(SYN, 1000),
    s(SYN | ACK, 7000, 1001),
    c(ACK, 1001, 7001),
    c(FIN | ACK, 1001, 7001),
    s(FIN | ACK, 7001, 1002),
    c(ACK, 1002, 7002),
    // the same 5-tuple again: a new handshake, then a reset
    c(SYN, 50000),
    s(SYN | ACK, 90000, 50001),
    c(ACK, 50001, 90001),
    s(RST, 90001),
  ];
  const path = join(dir, 'port-reuse.pcapng');
  await writeFile(
    path,
    Buffer.concat([w.shb(), w.idb({ linkType: 1 }), ...packets.map((data, i) => w.epb({ interfaceId: 0, timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, data }))]),
  );
  const summary = await analyzeSources([{ kind: 'file', path }]);
  const { stdout } = await run('tshark', ['-q', '-z', 'conv,tcp', '-r', path]);
  const conversations = stdout.split('\n').filter((l) => l.includes('<->'));
  expect(conversations).toHaveLength(2);
  expect(summary.flows.map((f) => [f.state, f.packets])).toEqual([
    ['closed', 6],
    ['reset', 4],
  ]);
  expect(summary.tcp).toMatchObject({ flows: 2, attempted: 2, established: 2, closed: 1, reset: 1, retransmissions: 0 });
});

test('DNS over TCP: two queries in one segment, a response split over two segments', async () => {
  const framed = (m: Buffer) => Buffer.concat([F.u16s(m.length), m]);
  const r1 = framed(F.dnsResponse(1, 'one.example.test', 'edge.cdn.test', '192.0.2.1', '2001:db8::1'));
  const r2 = framed(F.dnsResponse(2, 'two.example.test', 'edge.cdn.test', '192.0.2.2', '2001:db8::2', 3));
  const queries = Buffer.concat([framed(F.dnsQuery(1, 'one.example.test')), framed(F.dnsQuery(2, 'two.example.test'))]);
  const SYN = 0x02;
  const ACK = 0x10;
  const PSH = 0x08;
  const c = (flags: number, seq: number, payload?: Buffer) => F.ethernet(V4, F.ipv4(A4, B4, 6, F.tcp(40200, 53, flags, seq, payload && Buffer.from(payload))));
  const srv = (flags: number, seq: number, payload?: Buffer) => F.ethernet(V4, F.ipv4(B4, A4, 6, F.tcp(53, 40200, flags, seq, payload && Buffer.from(payload))));
  const cut = 20;
  const packets = [
    c(SYN, 100),
    srv(SYN | ACK, 500),
    c(ACK, 101),
    c(PSH | ACK, 101, queries),
    srv(PSH | ACK, 501, r1.subarray(0, cut)),
    srv(PSH | ACK, 501 + cut, Buffer.concat([r1.subarray(cut), r2])),
  ];
  const w = new PcapngWriter();
  const path = join(dir, 'dns-tcp.pcapng');
  await writeFile(
    path,
    Buffer.concat([w.shb(), w.idb({ linkType: 1 }), ...packets.map((data, i) => w.epb({ interfaceId: 0, timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n, data }))]),
  );
  const s = await analyzeSources([{ kind: 'file', path }]);
  expect(s.dns).toMatchObject({ queries: 2, responses: 2, answered: 1, failed: 1, unanswered: 0, unmatchedResponses: 0, rcodes: { NOERROR: 1, NXDOMAIN: 1 } });
  expect(s.dns.latency).toMatchObject({ count: 2, minMs: 1, maxMs: 2 });
  // tshark, reassembling the stream, finds the same four messages
  const { stdout } = await run('tshark', ['-r', path, '-Y', 'dns', '-T', 'fields', '-e', 'dns.id', '-e', 'dns.flags.response']);
  expect(stdout.trim().split('\n').flatMap((l) => l.split('\t')[0]!.split(',')).map(Number)).toEqual([1, 2, 1, 2]);
});
