// The golden corpus: captures of real traffic made here with real tools (tcpdump, tshark, mergecap,
// ip, nft, curl, dig, ping) across the link types and encapsulations the analyzer reads, each
// checked against tshark on the same file: frames, frames with an IP header, and every TCP/UDP
// conversation (frames each way, bytes). Where the analyzer's definition differs from tshark's
// (tunnels counted by their outer header), the test states the difference. Only where no tool
// makes the case (Arista timestamp headers, an unknown EtherType, an invalid nanosecond field)
// is a real capture rewritten by a few lines of code here.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyzeSources } from '../source.js';
import { formatSummary } from '../table.js';
import type { AnalyzerOptions } from '../analysis.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import { createLab, inNs, inNsAnyway, markEnd, NAME_NX, NAME_OK, REFUSED_PORT, SERVER_IP, startInNs, startServers, stopChild, type Lab } from './lab.js';
import { conversationDifferences, tsharkConversations, tsharkFrames } from './tshark.js';

const run = promisify(execFile);

/** an HTTP server on every address of the server namespace (tunnel ends included) */
const HTTP = 8090;
const VXLAN = ['10.42.0.1', '10.42.0.2'] as const;
const V6 = ['fd00:5::1', 'fd00:5::2'] as const;
const NFLOG_GROUP = 5;

let lab: Lab;
const file = (name: string) => join(lab.dir, name);

/** The VXLAN tunnel and the IPv6 addresses, both ends configured the same way. (This kernel
 *  has no 802.1Q, GRE or IPIP devices: those cases are made with bridges, or not at all.) */
async function links(): Promise<void> {
  const ends = [
    [lab.nsClient, lab.ifClient, 0, '198.51.100.1', '198.51.100.2'],
    [lab.nsServer, lab.ifServer, 1, '198.51.100.2', '198.51.100.1'],
  ] as const;
  for (const [ns, dev, i, local, remote] of ends) {
    const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]);
    await ip('link', 'add', 'vx42', 'type', 'vxlan', 'id', '42', 'local', local, 'remote', remote, 'dstport', '4789', 'dev', dev);
    await ip('addr', 'add', `${VXLAN[i]}/24`, 'dev', 'vx42');
    await ip('link', 'set', 'vx42', 'up');
    await ip('addr', 'add', `${V6[i]}/64`, 'dev', dev, 'nodad');
  }
}

async function nft(ns: string, rules: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], (err) => (err ? reject(new Error(`nft failed: ${err.message}`)) : resolve()));
    child.stdin!.end(rules);
  });
}

/** Two HTTP GETs and two pings to `ip` from the client namespace. */
async function web(ip: string): Promise<void> {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  for (let i = 0; i < 2; i++) await inNs(lab.nsClient, ['curl', '-sS', '-g', '-o', '/dev/null', '--max-time', '10', `http://${host}:${HTTP}/`]);
  await inNs(lab.nsClient, ['ping', '-q', '-c', '2', '-i', '0.2', ip]);
}

async function dig(...args: string[]): Promise<void> {
  await inNsAnyway(lab.nsClient, ['dig', `@${SERVER_IP}`, ...args, 'A', '+tries=1', '+time=1', '+noedns', '+nocookie']);
}

/** tcpdump (or another tool) writing `name` in the client namespace while `traffic` runs. Markers
 *  go to each of `markTo` (one per captured interface: a multi-interface capture starts and writes
 *  each interface on its own, and its "Capturing on" comes before all of them are live): the
 *  traffic starts once the start markers are in the file, the tool stops once the end markers are. */
async function capture(name: string, argv: string[], traffic: () => Promise<void>, markTo: string[] = [SERVER_IP], ready = /listening on/): Promise<string> {
  const path = file(name);
  const tool = argv[0] === 'tshark' ? [...argv, '-w', path] : ['tcpdump', '--immediate-mode', '-U', '-B', '4096', ...argv, '-w', path];
  const child = await startInNs(lab.nsClient, tool, ready);
  try {
    for (const [i, to] of markTo.entries()) await markEnd(lab, [path], to, `-start-${i}`);
    await traffic();
    for (const [i, to] of markTo.entries()) await markEnd(lab, [path], to, `-end-${i}`);
  } finally {
    await stopChild(child, 'SIGINT');
  }
  return path;
}

const analyze = (path: string, opts: AnalyzerOptions = {}) => analyzeSources([{ kind: 'file', path }], opts);

/** Frames, IP frames and the TCP/UDP conversations (of `protocols`) agree with tshark. */
async function expectTshark(path: string, s: Summary, protocols: ReadonlyArray<'tcp' | 'udp'> = ['tcp', 'udp']): Promise<void> {
  const t = await tsharkFrames(path);
  expect(s.packets).toBe(t.frames);
  expect(s.ip.v4Packets + s.ip.v6Packets).toBe(t.ip);
  expect(s.nonIpPackets).toBe(t.frames - t.ip);
  expect(conversationDifferences(s.flows, await tsharkConversations(path), protocols)).toEqual([]);
}

/** The HTTP GETs and pings of `web(ip)` are all there. */
function expectWeb(s: Summary, ip: string): void {
  const http = s.flows.filter((f) => f.protocol === 'tcp' && f.server.endsWith(`:${HTTP}`) && f.server.includes(ip));
  expect(http.map((f) => f.state)).toEqual(['closed', 'closed']);
  expect(s.icmp.echoAnswered).toBeGreaterThanOrEqual(2);
}

/** pcap records rewritten by `edit` (frame → frame, or undefined to leave the record out), the
 *  file header kept but for the link type when given. */
async function rewritePcap(from: string, to: string, edit: (frame: Buffer, i: number, header: Buffer) => Buffer | undefined, linkType?: number): Promise<void> {
  const b = await readFile(from);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4 && b.readUInt32LE(0) !== 0xa1b23c4d) throw new Error('expected a little-endian pcap');
  const fileHeader = Buffer.from(b.subarray(0, 24));
  if (linkType !== undefined) fileHeader.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [fileHeader];
  for (let o = 24, i = 0; o + 16 <= b.length; i++) {
    const header = Buffer.from(b.subarray(o, o + 16));
    const caplen = header.readUInt32LE(8);
    const frame = edit(Buffer.from(b.subarray(o + 16, o + 16 + caplen)), i, header);
    o += 16 + caplen;
    if (frame === undefined) continue;
    header.writeUInt32LE(frame.length, 8);
    header.writeUInt32LE(header.readUInt32LE(12) + frame.length - caplen, 12);
    parts.push(header, frame);
  }
  await writeFile(to, Buffer.concat(parts));
}

/** An outer IPv4 header (192.0.2.1 → 192.0.2.2, protocol `proto`) for `inner` bytes; the checksum
 *  is left 0 (neither the analyzer nor tshark by default checks it). */
function outerIpv4(proto: number, inner: number): Buffer {
  const ip = Buffer.from('450000000000400000000000' + 'c0000201' + 'c0000202', 'hex');
  ip.writeUInt16BE(20 + inner, 2);
  ip[8] = 64;
  ip[9] = proto;
  return ip;
}

beforeAll(async () => {
  lab = await createLab();
  await startServers(lab);
  const http = `require('http').createServer((q, r) => r.end('x'.repeat(5000))).listen(${HTTP}, () => console.log('ready'))`;
  await startInNs(lab.nsServer, [process.execPath, '-e', http], /ready/);
  await links();
  // the first packets over a new link wait for neighbour discovery: done before any capture
  for (const ip of [SERVER_IP, VXLAN[1], V6[1]]) await inNs(lab.nsClient, ['ping', '-q', '-c', '1', '-w', '5', ip]);
}, 120_000);

afterAll(async () => {
  await lab?.close();
});

describe('link types', () => {
  test.each([
    ['ethernet (tcpdump, µs pcap)', 'ethernet.pcap', [] as string[], '1'],
    ['ethernet (tcpdump, ns pcap)', 'ethernet-ns.pcap', ['--time-stamp-precision=nano'], '1'],
    ['Linux cooked v1 (tcpdump -i any -y LINUX_SLL)', 'sll.pcap', ['-i', 'any', '-y', 'LINUX_SLL'], '113'],
    ['Linux cooked v2 (tcpdump -i any -y LINUX_SLL2)', 'sll2.pcap', ['-i', 'any', '-y', 'LINUX_SLL2'], '276'],
  ])('%s', async (_, name, args, linkType) => {
    const path = await capture(name, args.includes('-i') ? args : ['-i', lab.ifClient, ...args], async () => {
      await web(SERVER_IP);
      await dig(NAME_OK);
    });
    const s = await analyze(path);
    expect(Object.keys(s.linkTypes)).toEqual([linkType]);
    expect(s.errors).toEqual([]);
    expect(s.decodeProblems).toEqual({});
    expectWeb(s, SERVER_IP);
    expect(s.dns).toMatchObject({ queries: 1, answered: 1 });
    await expectTshark(path, s);
  });

  test('loopback (tcpdump -i lo): ping and a DNS query to a closed port, answered by ICMP port unreachable', async () => {
    const path = await capture('loopback.pcap', ['-i', 'lo'], async () => {
      await inNs(lab.nsClient, ['ping', '-q', '-c', '2', '-i', '0.2', '127.0.0.1']);
      await inNsAnyway(lab.nsClient, ['dig', '@127.0.0.1', NAME_OK, '+tries=1', '+time=1']);
    }, ['127.0.0.1']);
    const s = await analyze(path);
    expect(s.icmp).toMatchObject({ echoRequests: 2, echoAnswered: 2 });
    expect(s.icmp.unreachable).toBeGreaterThanOrEqual(1);
    await expectTshark(path, s);
  });

  test('NFLOG (nft "log group N", tcpdump -i nflog:N)', async () => {
    await nft(lab.nsClient, `table inet snoopynflog {\n chain o {\n  type filter hook output priority 0;\n  log group ${NFLOG_GROUP}\n }\n chain i {\n  type filter hook input priority 0;\n  log group ${NFLOG_GROUP}\n }\n}\n`);
    let path: string;
    try {
      path = await capture('nflog.pcap', ['-i', `nflog:${NFLOG_GROUP}`], async () => {
        await web(SERVER_IP);
        await dig(NAME_OK);
      });
    } finally {
      await inNs(lab.nsClient, ['nft', 'delete', 'table', 'inet', 'snoopynflog']);
    }
    const s = await analyze(path);
    expect(Object.keys(s.linkTypes)).toEqual(['239']);
    expect(s.decodeProblems).toEqual({});
    expect(s.nonIpPackets).toBe(0);
    expectWeb(s, SERVER_IP);
    expect(s.dns).toMatchObject({ queries: 1, answered: 1 });
    await expectTshark(path, s);
  });

  test('pcapng with two interfaces (tshark -i veth -i lo), then two sections in one file', async () => {
    const single = await capture('one.pcapng', ['tshark', '-F', 'pcapng', '-i', lab.ifClient], () => web(SERVER_IP), [SERVER_IP], /Capturing on/);
    const path = await capture('two-interfaces.pcapng', ['tshark', '-F', 'pcapng', '-i', lab.ifClient, '-i', 'lo'], async () => {
      await web(SERVER_IP);
      await inNs(lab.nsClient, ['ping', '-q', '-c', '2', '-i', '0.2', '127.0.0.1']);
    }, [SERVER_IP, '127.0.0.1'], /Capturing on/);
    const s = await analyze(path);
    expect(s.format).toBe('pcapng');
    expect(s.icmp.echoAnswered).toBe(4);
    await expectTshark(path, s);
    const sections = file('sections.pcapng');
    await writeFile(sections, Buffer.concat([await readFile(single), await readFile(path)]));
    const both = await analyze(sections);
    expect(both.packets).toBe((await analyze(single)).packets + s.packets);
    expect(both.errors).toEqual([]);
    await expectTshark(sections, both);
  });
});

describe('tags and tunnels', () => {
  test('VXLAN: by default one UDP flow per outer 4-tuple (tshark shows the inner TCP too); with the option, the inner flows as tshark has them', async () => {
    const path = await capture('vxlan.pcap', ['-i', lab.ifClient], () => web(VXLAN[1]));
    const outer = await analyze(path);
    expect(outer.tcp.flows).toBe(0);
    expect(outer.flows.filter((f) => f.protocol === 'udp' && f.server.endsWith(':4789')).length).toBeGreaterThan(0);
    // the outer UDP conversations agree; tshark's TCP conversations are the tunnelled ones
    await expectTshark(path, outer, ['udp']);
    const convs = await tsharkConversations(path);
    expect(convs.filter((c) => c.protocol === 'tcp')).toHaveLength(2);
    const inner = await analyze(path, { vxlanPort: 4789 });
    expectWeb(inner, VXLAN[1]);
    expect(conversationDifferences(inner.flows, convs, ['tcp'])).toEqual([]);
  });

  test('IPv6 over Ethernet', async () => {
    const path = await capture('ipv6.pcap', ['-i', lab.ifClient], () => web(V6[1]));
    const s = await analyze(path);
    expectWeb(s, V6[1]);
    expect(s.ip.v6Packets).toBeGreaterThan(0);
    await expectTshark(path, s);
  });

  test('IPv4 fragments (ping -s 3000): later fragments counted with their flow', async () => {
    const path = await capture('fragments.pcap', ['-i', lab.ifClient], () => inNs(lab.nsClient, ['ping', '-q', '-c', '2', '-i', '0.2', '-s', '3000', SERVER_IP]).then(() => undefined));
    const s = await analyze(path);
    expect(s.ip.fragments).toBe(2 * 2 * 3);
    expect(s.ip.laterFragments).toBe(2 * 2 * 2);
    expect(s.ip.unattributedFragments).toBe(0);
    expect(s.icmp).toMatchObject({ echoRequests: 2, echoAnswered: 2 });
    expect(s.flows.find((f) => f.protocol === 'icmp')!.packets).toBe(12);
    await expectTshark(path, s);
  });
});

// This kernel has no 802.1Q, GRE or IPIP devices and no VLAN-filtering bridge, so these five are
// the Ethernet capture above rewritten (tags inserted, packets wrapped, Ethernet removed).
describe('rewritten from the Ethernet capture', () => {
  const tagged = (tags: string) => (frame: Buffer) => Buffer.concat([frame.subarray(0, 12), Buffer.from(tags, 'hex'), frame.subarray(12)]);
  test.each([
    ['802.1Q VLAN 100', 'vlan.pcap', '81000064'],
    ['QinQ: 802.1ad 200 outside 802.1Q 300', 'qinq.pcap', '88a800c88100012c'],
  ])('%s', async (_, name, tags) => {
    const path = file(name);
    await rewritePcap(file('ethernet.pcap'), path, tagged(tags));
    const s = await analyze(path);
    expect(s.decodeProblems).toEqual({});
    expectWeb(s, SERVER_IP);
    await expectTshark(path, s);
  });

  test.each([
    ['GRE', 'gre.pcap', 47, '00000800'],
    ['IPIP', 'ipip.pcap', 4, ''],
  ] as const)('%s: counted by the outer header (tshark decodes the inner TCP)', async (_, name, proto, greHeader) => {
    const path = file(name);
    let wrapped = 0;
    await rewritePcap(file('ethernet.pcap'), path, (frame) => {
      if (frame.readUInt16BE(12) !== 0x0800) return frame;
      wrapped++;
      const gre = Buffer.from(greHeader, 'hex');
      const inner = frame.subarray(14);
      return Buffer.concat([frame.subarray(0, 14), outerIpv4(proto, gre.length + inner.length), gre, inner]);
    });
    const s = await analyze(path);
    expect(s.tcp.flows).toBe(0);
    expect(s.flows.filter((f) => f.protocol === 'other')).toEqual([expect.objectContaining({ ipProtocol: proto, packets: wrapped, client: '192.0.2.1', server: '192.0.2.2' })]);
    const t = await tsharkFrames(path);
    expect(s.packets).toBe(t.frames);
    expect(s.ip.v4Packets + s.ip.v6Packets).toBe(t.ip);
    const plain = await tsharkConversations(file('ethernet.pcap'));
    const convs = await tsharkConversations(path);
    expect(convs.filter((c) => c.protocol === 'tcp').map((c) => `${c.a} ${c.b} ${c.frames}`)).toEqual(plain.filter((c) => c.protocol === 'tcp').map((c) => `${c.a} ${c.b} ${c.frames}`));
  });

  test('raw IP (link type 101): the Ethernet headers removed', async () => {
    const path = file('raw-ip.pcap');
    await rewritePcap(file('ethernet.pcap'), path, (frame) => ([0x0800, 0x86dd].includes(frame.readUInt16BE(12)) ? frame.subarray(14) : undefined), 101);
    const s = await analyze(path);
    expect(s.linkTypes).toEqual({ '101': s.packets });
    expect(s.nonIpPackets).toBe(0);
    expectWeb(s, SERVER_IP);
    await expectTshark(path, s);
  });
});

describe('cases from issue 21', () => {
  test('a refused connection whose RSTs never reach the client is one attempt, its SYN retransmissions retransmissions', async () => {
    await nft(lab.nsClient, 'table inet snoopyrst {\n chain i {\n  type filter hook input priority 0;\n  tcp flags rst drop\n }\n}\n');
    let path: string;
    try {
      // the SYN, then retransmissions after 1 s and 3 s; each answered by a RST that is dropped
      path = await capture('refused-retry.pcap', ['-i', lab.ifClient], () =>
        inNsAnyway(lab.nsClient, ['curl', '-sS', '-o', '/dev/null', '--connect-timeout', '3.5', `http://${SERVER_IP}:${REFUSED_PORT}/`]).then(() => undefined),
      );
    } finally {
      await inNs(lab.nsClient, ['nft', 'delete', 'table', 'inet', 'snoopyrst']);
    }
    const s = await analyze(path);
    expect(s.tcp).toMatchObject({ flows: 1, attempted: 1, refused: 1, established: 0 });
    const f = s.flows.find((x) => x.protocol === 'tcp')!;
    expect(f.tcp!.synSent).toBeGreaterThanOrEqual(3);
    expect(f.tcp!.retransmissions).toBe(f.tcp!.synSent - 1);
    expect(f.serverPackets).toBe(f.tcp!.synSent);
    await expectTshark(path, s);
  });

  test('DNS over TCP (dig +tcp) counts with the same figures as over UDP', async () => {
    const path = await capture('dns-tcp.pcap', ['-i', lab.ifClient], async () => {
      await dig(NAME_OK, '+tcp');
      await dig(NAME_NX, '+tcp');
    });
    const s = await analyze(path);
    expect(s.dns).toMatchObject({ queries: 2, responses: 2, answered: 1, failed: 1, unanswered: 0, unmatchedResponses: 0, rcodes: { NOERROR: 1, NXDOMAIN: 1 } });
    expect(s.dns.latency.count).toBe(2);
    expect(s.dns.names.find((n) => n.name === NAME_OK)!.addresses).toEqual([SERVER_IP]);
    // tshark's count of DNS messages over TCP
    const { stdout } = await run('tshark', ['-r', path, '-Y', 'dns && tcp', '-T', 'fields', '-e', 'dns.id']);
    expect(stdout.split('\n').filter((l) => l !== '')).toHaveLength(4);
    await expectTshark(path, s);
  });

  test('a file holding its packets twice: flagged in errors, durations stay those of one copy', async () => {
    const once = file('ethernet.pcap');
    const twice = file('twice.pcap');
    await run('mergecap', ['-a', '-F', 'pcap', '-w', twice, once, once]);
    const one = await analyze(once);
    const s = await analyze(twice);
    expect(s.packets).toBe(2 * one.packets);
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatch(/^time goes backwards 1 times by more than 0.1 s on one interface/);
    expect(s.durationSeconds).toBe(one.durationSeconds);
    for (const f of s.flows) expect(f.durationMs).toBeLessThanOrEqual(one.durationSeconds * 1000 + 0.001);
    expect(s.dns.latency.minMs).toBeGreaterThanOrEqual(0);
    expect(s.tcp.handshakeRtt.minMs).toBeGreaterThanOrEqual(0);
  });

  test('a nanosecond field ≥ 10^9 (rewritten): flagged in errors, the packet kept inside its second', async () => {
    const from = file('ethernet-ns.pcap');
    const path = file('bad-nanoseconds.pcap');
    const last = (await analyze(from)).packets - 1;
    await rewritePcap(from, path, (frame, i, header) => {
      if (i === last) header.writeUInt32LE(3_000_000_000, 4);
      return frame;
    });
    const good = await analyze(from);
    const s = await analyze(path);
    expect(s.errors).toEqual(['1 records with a timestamp nanosecond field ≥ 10^9 (invalid; read as the end of their second)']);
    expect(s.durationSeconds).toBeLessThanOrEqual(good.durationSeconds + 1);
    expect(s.packets).toBe(good.packets);
  });

  test('Arista timestamp headers (0xd28b, rewritten into a real capture) are decoded as tshark does', async () => {
    const path = file('arista.pcap');
    // subtype 1, version 0x0010 (64-bit TAI), seconds and nanoseconds
    const tag = Buffer.from('d28b' + '0001' + '0010' + '0000000100000002', 'hex');
    await rewritePcap(file('ethernet.pcap'), path, (frame) => Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)]));
    const s = await analyze(path);
    expect(s.nonIpTypes).toEqual((await analyze(file('ethernet.pcap'))).nonIpTypes);
    expectWeb(s, SERVER_IP);
    await expectTshark(path, s);
  });

  test('an unknown EtherType is reported with its count, in the JSON and the table', async () => {
    const path = file('unknown-ethertype.pcap');
    let changed = 0;
    await rewritePcap(file('ethernet.pcap'), path, (frame) => {
      // ICMP echo frames get IEEE's local experimental EtherType
      if (frame.readUInt16BE(12) === 0x0800 && frame[23] === 1) {
        frame.writeUInt16BE(0x88b5, 12);
        changed++;
      }
      return frame;
    });
    const s = await analyze(path);
    expect(changed).toBe(4);
    expect(s.nonIpTypes['EtherType 0x88b5']).toBe(4);
    expect(s.icmp.echoRequests).toBe(0);
    await expectTshark(path, s);
    const table = formatSummary(s);
    expect(table).toContain(`Not read as IP: ${s.nonIpPackets} of ${s.packets} packets`);
    expect(table).toContain('4 EtherType 0x88b5');
  });
});
