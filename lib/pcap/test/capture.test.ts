// Real captures (tcpdump pcap µs/ns, tshark pcapng, tcpdump -i any as SLL/SLL2) of real ping
// traffic between two network namespaces, read back and cut into segments, with tcpdump as
// the judge of every file we produce.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  concatPcaps,
  iteratePackets,
  LinkType,
  mergePcaps,
  parseCapture,
  PcapWriter,
  readPackets,
  Segmenter,
  type Packet,
  type Segment,
} from '../index.js';
import { BlockType } from '../constants.js';
import {
  createVethLab,
  packetsOf,
  diffPackets,
  inNetns,
  oneByteChunks,
  randomChunks,
  rng,
  startCapture,
  tcpdumpRead,
  tcpdumpReadEach,
  tempDir,
  writeTemp,
  type VethLab,
} from './lab.js';

interface Capture {
  name: string;
  data: Buffer;
  file: string;
  /** tcpdump's reading of the original file */
  view: string;
  packets: number;
}

let lab: VethLab | undefined;
let tmp: { dir: string; cleanup(): Promise<void> } | undefined;
const captures: Capture[] = [];
const live = new Map<string, { seg: Segmenter; segments: Segment[]; truncatedBytes?: number }>();

function cap(name: string): Capture {
  const c = captures.find((x) => x.name === name);
  if (!c) throw new Error(`no capture ${name}`);
  return c;
}

beforeAll(async () => {
  tmp = await tempDir();
  lab = await createVethLab();
  const { nsA, ifA, ipB } = lab;
  const tools: Array<[string, string[], RegExp]> = [
    ['pcap-us', ['tcpdump', '-U', '-w', '-', '-i', ifA], /listening on/],
    ['pcap-ns', ['tcpdump', '-U', '--time-stamp-precision=nano', '-w', '-', '-i', ifA], /listening on/],
    ['any-sll', ['tcpdump', '-U', '-y', 'LINUX_SLL', '-w', '-', '-i', 'any'], /listening on/],
    ['any-sll2', ['tcpdump', '-U', '-y', 'LINUX_SLL2', '-w', '-', '-i', 'any'], /listening on/],
    ['pcapng', ['tshark', '-F', 'pcapng', '-w', '-', '-i', ifA], /Capturing on/],
    // two interfaces: two IDBs, packets on interface ids 0 and 1
    ['pcapng-2if', ['tshark', '-F', 'pcapng', '-w', '-', '-i', ifA, '-i', 'lo'], /Capturing on/],
  ];
  // Two captures are also segmented live, as podtracer does: chunks as they come out of the
  // pipe, a size limit, and a time rotation (cut) every 150 ms.
  for (const name of ['pcap-us', 'pcapng']) live.set(name, { seg: new Segmenter({ maxBytes: 8000 }), segments: [] });
  const rotation = setInterval(() => {
    for (const l of live.values()) {
      const s = l.seg.cut();
      if (s) l.segments.push(s);
    }
  }, 150);
  const running = await Promise.all(
    tools.map(([name, argv, ready]) => {
      const l = live.get(name);
      return startCapture(nsA, argv, ready, l && ((c) => l.segments.push(...l.seg.push(c))));
    }),
  );
  try {
    // A tool may say it is capturing a moment before it is (tshark on two interfaces): ping
    // until every capture holds packets from every interface it listens on.
    const warm = (i: number): boolean => {
      const list = parseCapture(running[i]!.written()).packetList;
      return tools[i]![0] === 'pcapng-2if' ? list.some((p) => p.interfaceId === 1) && list.some((p) => p.interfaceId === 0) : list.length > 0;
    };
    for (let attempt = 0; !tools.every((_, i) => warm(i)); attempt++) {
      if (attempt === 60) throw new Error('captures saw no traffic');
      await inNetns(nsA, ['ping', '-c', '1', ipB]);
      await inNetns(nsA, ['ping', '-c', '1', '127.0.0.1']);
      await new Promise((r) => setTimeout(r, 100));
    }
    // varied packet sizes, a few hundred packets in all
    await inNetns(nsA, ['ping', '-c', '60', '-i', '0.005', '-s', '1400', ipB]);
    await inNetns(nsA, ['ping', '-c', '60', '-i', '0.005', '-s', '56', ipB]);
    await inNetns(nsA, ['ping', '-c', '40', '-i', '0.005', '-s', '3000', ipB]); // fragmented
    await inNetns(nsA, ['ping', '-c', '30', '-i', '0.005', '127.0.0.1']);
    // tshark passes packets on through dumpcap and may still hold some: wait until every
    // capture has stopped growing before interrupting it (bounded)
    let sizes = running.map((r) => r.written().length);
    for (let quiet = 0, waited = 0; quiet < 5 && waited < 100; waited++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = running.map((r) => r.written().length);
      quiet = now.every((n, i) => n === sizes[i]) ? quiet + 1 : 0;
      sizes = now;
    }
  } finally {
    const outputs = await Promise.all(running.map((r) => r.stop()));
    clearInterval(rotation);
    for (const l of live.values()) {
      const end = l.seg.end();
      l.truncatedBytes = end.truncatedBytes;
      if (end.segment) l.segments.push(end.segment);
    }
    for (let i = 0; i < tools.length; i++) {
      const name = tools[i]![0];
      const file = await writeTemp(tmp.dir, `${name}.orig`, outputs[i]!);
      const v = await tcpdumpRead(file);
      captures.push({ name, data: outputs[i]!, file, view: v.text, packets: v.packets });
    }
  }
}, 120_000);

afterAll(async () => {
  await lab?.close();
  await tmp?.cleanup();
});

const NAMES = ['pcap-us', 'pcap-ns', 'any-sll', 'any-sll2', 'pcapng', 'pcapng-2if'];

describe('real captures', () => {
  test('were made, and capinfos counts what tcpdump counts', async () => {
    for (const n of NAMES) {
      expect(cap(n).packets).toBeGreaterThanOrEqual(200);
      const { stdout } = await inNetns(lab!.nsA, ['capinfos', '-c', '-M', cap(n).file]);
      expect(stdout).toMatch(new RegExp(`Number of packets:\\s+${cap(n).packets}\\n`));
    }
  });

  test.each(NAMES)('%s: reader sees what tcpdump sees', async (name) => {
    const c = cap(name);
    const r = parseCapture(c.data);
    expect(r.errors).toEqual([]);
    expect(r.truncated).toBe(false);
    expect(r.format).toBe(name.startsWith('pcapng') ? 'pcapng' : 'pcap');
    expect(r.packets).toBe(c.packets);
    const expectedLink = { 'pcap-us': LinkType.ETHERNET, 'pcap-ns': LinkType.ETHERNET, 'any-sll': LinkType.LINUX_SLL, 'any-sll2': LinkType.LINUX_SLL2, pcapng: LinkType.ETHERNET, 'pcapng-2if': LinkType.ETHERNET }[name];
    expect(new Set(r.packetList.map((p) => p.linkType))).toEqual(new Set([expectedLink]));
    // Re-encode what we read as a nanosecond pcap: tcpdump must print the very same packets
    // (timestamps to the nanosecond, decodes, every byte in hex).
    const w = new PcapWriter({ linkType: expectedLink!, nanosecond: true });
    const rewritten = Buffer.concat([w.header(), ...r.packetList.map((p) => w.record(p))]);
    const file = await writeTemp(tmp!.dir, `${name}.rewritten`, rewritten);
    expect((await tcpdumpRead(file)).text).toBe(c.view);
  });

  test('two-interface pcapng: packets on both interfaces', () => {
    const r = parseCapture(cap('pcapng-2if').data);
    const byIf = [0, 1].map((id) => r.packetList.filter((p) => p.interfaceId === id).length);
    expect(byIf[0]).toBeGreaterThanOrEqual(200);
    expect(byIf[1]).toBeGreaterThanOrEqual(60); // 30 echo requests and 30 replies on lo
    expect(byIf[0]! + byIf[1]!).toBe(r.packets);
  });

  test('editcap -F pcapng of the nanosecond capture holds the very same packets', async () => {
    const c = cap('pcap-ns');
    const out = `${tmp!.dir}/editcap.pcapng`;
    await inNetns(lab!.nsA, ['editcap', '-F', 'pcapng', c.file, out]);
    const converted = parseCapture(await readFile(out));
    expect(converted.format).toBe('pcapng');
    expect(converted.errors).toEqual([]);
    expect(diffPackets(converted.packetList, parseCapture(c.data).packetList)).toBeUndefined();
  });

  test.each(['pcap-us', 'pcap-ns', 'any-sll2'])('%s: re-encoding at the same precision gives the identical file', (name) => {
    const c = cap(name);
    const r = parseCapture(c.data);
    const w = new PcapWriter({ linkType: r.packetList[0]!.linkType, nanosecond: name === 'pcap-ns' });
    const records = Buffer.concat(r.packetList.map((p) => w.record(p)));
    expect(records.equals(c.data.subarray(24))).toBe(true);
  });

  test('streaming forms agree: file stream, async iterator, 1-byte chunks', async () => {
    for (const name of ['pcap-ns', 'pcapng']) {
      const c = cap(name);
      const whole = parseCapture(c.data).packetList;
      const fromFile: Packet[] = [];
      const r1 = await readPackets(createReadStream(c.file, { highWaterMark: 1000 }), (p) => fromFile.push(p));
      expect(r1).toEqual({ format: name === 'pcapng' ? 'pcapng' : 'pcap', packets: whole.length, errors: [], truncated: false });
      expect(diffPackets(fromFile, whole)).toBeUndefined();
      const fromBytes: Packet[] = [];
      const r2 = await readPackets(toAsync(oneByteChunks(c.data)), (p) => fromBytes.push(p));
      expect(r2.packets).toBe(whole.length);
      expect(diffPackets(fromBytes, whole)).toBeUndefined();
      const it = iteratePackets(toAsync(randomChunks(c.data, 3000, 7)));
      const fromIter: Packet[] = [];
      let step = await it.next();
      while (!step.done) {
        fromIter.push(step.value);
        step = await it.next();
      }
      expect(step.value).toEqual(r2);
      expect(diffPackets(fromIter, whole)).toBeUndefined();
    }
  });
});

describe('damaged real captures', () => {
  test.each(['pcap-us', 'any-sll2', 'pcapng'])('%s cut short: the packets before the cut, as tcpdump reads them', async (name) => {
    const c = cap(name);
    const next = rng(name.length);
    for (let i = 0; i < 4; i++) {
      let cut = 100 + next(c.data.length - 200);
      // a cut that falls exactly between two records leaves a whole capture: one byte more is
      // inside the next record's header, which is what this test is about
      if (!parseCapture(c.data.subarray(0, cut)).truncated) cut += 1;
      const part = c.data.subarray(0, cut);
      const r = parseCapture(part);
      const v = await tcpdumpRead(await writeTemp(tmp!.dir, `${name}.cut${i}`, part));
      expect(r.packets).toBe(v.packets);
      expect(r.truncated).toBe(true);
      expect(r.errors).toEqual([expect.stringMatching(/truncated/)]);
      expect(v.stderr).toMatch(/truncated/);
      // and the packets are the original's first ones
      expect(diffPackets(r.packetList, parseCapture(c.data).packetList.slice(0, r.packets))).toBeUndefined();
    }
  });

  test.each(['pcap-us', 'pcapng'])('%s with a corrupt length field: the packets before it, as tcpdump reads them', async (name) => {
    const c = cap(name);
    const bad = Buffer.from(c.data);
    // the 100th record/block: pcap record caplen at +8, pcapng block total length at +4
    let o = name === 'pcapng' ? 0 : 24;
    for (let i = 0; i < 100; i++) o += name === 'pcapng' ? bad.readUInt32LE(o + 4) : 16 + bad.readUInt32LE(o + 8);
    bad.writeUInt32LE(0x7ffffff0, name === 'pcapng' ? o + 4 : o + 8);
    const r = parseCapture(bad);
    const v = await tcpdumpRead(await writeTemp(tmp!.dir, `${name}.corrupt`, bad));
    expect(r.packets).toBe(v.packets);
    expect(r.packets).toBeGreaterThan(50);
    expect(r.errors).toEqual([expect.stringMatching(/corrupt data/)]);
    expect(v.stderr).toMatch(/pcap_loop|invalid|maximum/);
  });
});

describe('segmenting real captures', () => {
  // several cuttings per capture: tiny segments, 1-byte chunks, random chunks, large segments
  const plans: Array<[string, number, 'one' | number, number]> = [];
  for (const n of NAMES) {
    plans.push([n, 2000, 'one', 1]);
    plans.push([n, 6000, 4000, 2]);
    plans.push([n, 300, 700, 3]); // every record alone (larger than the limit) or nearly
    plans.push([n, 40_000, 65536, 4]);
  }

  test.each(plans)('%s maxBytes=%d chunks=%s seed=%d', async (name, maxBytes, chunking, seed) => {
    const c = cap(name);
    const chunks = chunking === 'one' ? oneByteChunks(c.data) : randomChunks(c.data, chunking, seed);
    const seg = new Segmenter({ maxBytes });
    const segments: Segment[] = [];
    let fed = 0;
    let emittedBody = 0;
    chunks.forEach((ch, i) => {
      fed += ch.length;
      for (const s of seg.push(ch)) {
        segments.push(s);
        emittedBody += s.data.length - (segments.length > 1 ? leadLength(s) : 0);
      }
      // pending = fed but not yet emitted (the repeated section headers aside)
      if (i % 97 === 0 && fed - emittedBody !== seg.pendingBytes) {
        throw new Error(`after chunk ${i}: pendingBytes ${seg.pendingBytes}, expected ${fed - emittedBody}`);
      }
    });
    const end = seg.end();
    expect(end.truncatedBytes).toBe(0);
    if (end.segment) segments.push(end.segment);
    expect(seg.format).toBe(name.startsWith('pcapng') ? 'pcapng' : 'pcap');
    expect(segments.length).toBeGreaterThan(1);

    const original = parseCapture(c.data).packetList;
    const fromSegments: Packet[] = [];
    for (const s of segments) {
      expect(s.format).toBe(seg.format);
      expect(s.damaged).toBeUndefined();
      const r = parseCapture(s.data);
      expect(r.errors).toEqual([]);
      expect(r.packets).toBe(s.records);
      if (s.records > 1) expect(s.data.length).toBeLessThanOrEqual(maxBytes);
      if (s.records > 0) {
        expect(s.firstTimestampNs).toBe(r.packetList[0]!.timestampNs);
        expect(s.lastTimestampNs).toBe(r.packetList[r.packets - 1]!.timestampNs);
      }
      fromSegments.push(...r.packetList);
    }
    expect(diffPackets(fromSegments, original)).toBeUndefined();
    expect(segments.reduce((n, s) => n + s.records, 0)).toBe(c.packets);
    if (seg.format === 'pcap') {
      // the records concatenated are the original capture, byte for byte
      expect(concatPcaps(segments.map((s) => s.data)).equals(c.data)).toBe(true);
    }
  });

  test.each(NAMES)('%s: tcpdump reads every segment and together they are the original', async (name) => {
    const c = cap(name);
    const seg = new Segmenter({ maxBytes: Math.ceil(c.data.length / 12) });
    const segments: Segment[] = [];
    for (const ch of randomChunks(c.data, 1500, 11)) segments.push(...seg.push(ch));
    const last = seg.end().segment;
    if (last) segments.push(last);
    expect(segments.length).toBeGreaterThanOrEqual(10);
    const files: string[] = [];
    for (let i = 0; i < segments.length; i++) files.push(await writeTemp(tmp!.dir, `${name}.seg${i}`, segments[i]!.data));
    const joined = await tcpdumpReadEach(tmp!.dir, files);
    expect(joined).toBe(c.view);
  });

  test.each(['pcap-us', 'pcapng'])('%s segmented live from the pipe, rotated by time and size', async (name) => {
    const c = cap(name);
    const l = live.get(name)!;
    expect(l.truncatedBytes).toBe(0);
    expect(l.segments.length).toBeGreaterThan(3);
    expect(diffPackets(packetsOf(l.segments), parseCapture(c.data).packetList)).toBeUndefined();
    for (const s of l.segments) if (s.records > 1) expect(s.data.length).toBeLessThanOrEqual(8000);
    const files: string[] = [];
    for (let i = 0; i < l.segments.length; i++) files.push(await writeTemp(tmp!.dir, `${name}.live${i}`, l.segments[i]!.data));
    expect(await tcpdumpReadEach(tmp!.dir, files)).toBe(c.view);
  });

  test('time rotation with cut() keeps incomplete records for the next segment', async () => {
    const c = cap('pcap-us');
    const seg = new Segmenter({ maxBytes: 10_000_000 });
    const segments: Segment[] = [];
    const chunks = randomChunks(c.data, 900, 5);
    chunks.forEach((ch, i) => {
      segments.push(...seg.push(ch));
      if (i % 10 === 9) {
        const s = seg.cut();
        if (s) segments.push(s);
      }
    });
    const last = seg.end().segment;
    if (last) segments.push(last);
    expect(segments.length).toBeGreaterThan(5);
    for (const s of segments) expect(s.records).toBeGreaterThan(0);
    expect(concatPcaps(segments.map((s) => s.data)).equals(c.data)).toBe(true);
  });
});

describe('merging real captures', () => {
  test('time-ordered merge of two captures matches mergecap', async () => {
    const a = cap('pcap-us');
    const b = cap('pcap-ns');
    const merged = mergePcaps([a.data, b.data]);
    const r = parseCapture(merged);
    expect(r.errors).toEqual([]);
    expect(r.packets).toBe(a.packets + b.packets);
    const ordered = (list: Packet[]) => list.every((p, i) => i === 0 || p.timestampNs >= list[i - 1]!.timestampNs);
    if (ordered(parseCapture(a.data).packetList) && ordered(parseCapture(b.data).packetList)) {
      expect(ordered(r.packetList)).toBe(true);
    }
    const ours = await writeTemp(tmp!.dir, 'merged.pcap', merged);
    const theirs = `${tmp!.dir}/mergecap.pcap`;
    await inNetns(lab!.nsA, ['mergecap', '-F', 'nsecpcap', '-w', theirs, a.file, b.file]);
    expect((await tcpdumpRead(ours)).text).toBe((await tcpdumpRead(theirs)).text);
  });

  test('link types must agree', () => {
    expect(() => mergePcaps([cap('pcap-us').data, cap('any-sll2').data])).toThrow(/link type/);
  });
});

async function* toAsync(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

/** Bytes of the section header(s) a segment repeats at its start (pcap header, SHB + IDBs). */
function leadLength(s: Segment): number {
  if (s.format === 'pcap') return 24;
  let o = 0;
  while (o + 8 <= s.data.length) {
    const type = s.data.readUInt32LE(o);
    if (type !== BlockType.SectionHeader && type !== BlockType.InterfaceDescription) break;
    o += s.data.readUInt32LE(o + 4);
  }
  return o;
}

