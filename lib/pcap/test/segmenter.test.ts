// The segmenter on text, on hand-built captures (every pcapng corner, concatenated pcaps,
// oversized records, damage), and a throughput benchmark.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { concatPcaps, parseCapture, PcapngWriter, PcapWriter, Segmenter, type Segment } from '../index.js';
import { LinkType } from '../constants.js';
import { diffPackets, oneByteChunks, packetsOf, randomChunks, tcpdumpRead, tcpdumpReadEach, tempDir, writeTemp } from './lab.js';
import { frame, pcapngZoo, pcapPair, T0 } from './zoo.js';

let tmp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

function segmentAll(chunks: Buffer[], opts: ConstructorParameters<typeof Segmenter>[0]): { segments: Segment[]; truncatedBytes: number; seg: Segmenter } {
  const seg = new Segmenter(opts);
  const segments: Segment[] = [];
  for (const c of chunks) segments.push(...seg.push(c));
  const end = seg.end();
  if (end.segment) segments.push(end.segment);
  expectSourcesRebuild(segments, Buffer.concat(chunks));
  expect(seg.emittedUpTo).toBe(Buffer.concat(chunks).length - end.truncatedBytes);
  return { segments, truncatedBytes: end.truncatedBytes, seg };
}

/** Every segment is its source's head followed by its range of the input, ranges in order. */
function expectSourcesRebuild(segments: Segment[], input: Buffer): void {
  let previousEnd = 0;
  for (const s of segments) {
    const src = s.source!;
    expect(src.start).toBeGreaterThanOrEqual(previousEnd);
    expect(src.end).toBeGreaterThanOrEqual(src.start);
    expect(Buffer.concat([src.head, input.subarray(src.start, src.end)]).equals(s.data)).toBe(true);
    previousEnd = src.end;
  }
}

describe('text', () => {
  const lines = Array.from({ length: 300 }, (_, i) => `64 bytes from 192.0.2.2: icmp_seq=${i} ttl=64 time=0.0${i % 10} ms${'!'.repeat(i % 50)}\n`);
  const text = Buffer.from(lines.join(''));

  test.each([
    ['one', 200],
    [7, 500],
    [3000, 1024],
    [100_000, 1_000_000],
  ] as const)('whole lines under the limit (chunks %s, maxBytes %d)', (chunking, maxBytes) => {
    const chunks = chunking === 'one' ? oneByteChunks(text) : randomChunks(text, chunking, 9);
    const { segments, truncatedBytes, seg } = segmentAll(chunks, { maxBytes });
    expect(seg.format).toBe('text');
    expect(truncatedBytes).toBe(0);
    expect(Buffer.concat(segments.map((s) => s.data)).equals(text)).toBe(true);
    for (const s of segments) {
      expect(s.format).toBe('text');
      expect(s.data.length).toBeLessThanOrEqual(maxBytes);
      expect(s.data[s.data.length - 1]).toBe(0x0a);
      expect(s.records).toBe(s.data.toString().split('\n').length - 1);
      expect(s.firstTimestampNs).toBeUndefined();
    }
    expect(segments.reduce((n, s) => n + s.records, 0)).toBe(lines.length);
    if (maxBytes < text.length) expect(segments.length).toBeGreaterThan(text.length / maxBytes - 1);
  });

  test('a line longer than the limit is emitted alone, whole', () => {
    const input = Buffer.from(`short\n${'x'.repeat(250)}\nshort again\n`);
    const { segments } = segmentAll(randomChunks(input, 13, 1), { maxBytes: 100 });
    expect(segments.map((s) => s.data.toString())).toEqual(['short\n', `${'x'.repeat(250)}\n`, 'short again\n']);
  });

  test('cut() emits complete lines only; end() keeps a last line without newline', () => {
    const seg = new Segmenter({ maxBytes: 1000 });
    expect(seg.push(Buffer.from('first\nsec'))).toEqual([]);
    expect(seg.format).toBe('text');
    expect(seg.pendingBytes).toBe(9);
    const cut = seg.cut();
    expect(cut?.data.toString()).toBe('first\n');
    expect(cut?.records).toBe(1);
    expect(seg.pendingBytes).toBe(3);
    expect(seg.cut()).toBeUndefined();
    seg.push(Buffer.from('ond\nthird without newline'));
    const end = seg.end();
    expect(end).toMatchObject({ truncatedBytes: 0, segment: { records: 2 } });
    expect(end.segment?.data.toString()).toBe('second\nthird without newline');
    expect(() => seg.push(Buffer.from('x'))).toThrow(/after end/);
  });

  test('output shorter than a magic number is text', () => {
    const seg = new Segmenter({ maxBytes: 100 });
    expect(seg.push(Buffer.from([0x0a]))).toEqual([]);
    expect(seg.format).toBeUndefined();
    expect(seg.pendingBytes).toBe(1);
    const last = seg.end();
    expect(last.truncatedBytes).toBe(0);
    expect({ data: last.segment!.data, format: last.segment!.format, records: last.segment!.records, bytes: last.segment!.bytes }).toEqual({
      data: Buffer.from([0x0a]),
      format: 'text',
      records: 1,
      bytes: 1,
    });
    expect(new Segmenter({ maxBytes: 100 }).end()).toEqual({ truncatedBytes: 0 });
  });

  test('bad options are refused', () => {
    expect(() => new Segmenter({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => new Segmenter({ maxBytes: 1.5 })).toThrow(/maxBytes/);
    expect(() => new Segmenter({ maxBytes: 10, format: 'csv' as 'text' })).toThrow(/format/);
  });

  test('a forced capture format yields to the magic number', () => {
    const { le } = pcapPair(false, 4);
    const seg = new Segmenter({ maxBytes: 1 << 20, format: 'pcapng' });
    expect(seg.format).toBe('pcapng');
    const { segments } = (() => {
      const out = seg.push(le);
      const end = seg.end();
      return { segments: end.segment ? [...out, end.segment] : out };
    })();
    expect(seg.format).toBe('pcap');
    expect(segments).toHaveLength(1);
    expect(segments[0]).toMatchObject({ format: 'pcap', records: 4 });
    expect(segments[0]!.data.equals(le)).toBe(true);
    const zoo = pcapngZoo();
    const ng = segmentAll([zoo.data], { maxBytes: 1 << 20, format: 'pcap' });
    expect(ng.seg.format).toBe('pcapng');
    expect(ng.segments.map((s) => s.records)).toEqual([zoo.firstSectionPackets, zoo.expected.length - zoo.firstSectionPackets]);
  });

  test('forced text wins over sniffing', () => {
    const { le } = pcapPair(false, 3);
    const { segments } = segmentAll([le], { maxBytes: 1 << 20, format: 'text' });
    expect(segments.every((s) => s.format === 'text')).toBe(true);
    expect(Buffer.concat(segments.map((s) => s.data)).equals(le)).toBe(true);
  });
});

describe('captures', () => {
  test.each([
    ['one', 250],
    [17, 400],
    [600, 900],
    [5000, 100_000],
  ] as const)('pcapng zoo: chunks %s, maxBytes %d', async (chunking, maxBytes) => {
    const zoo = pcapngZoo();
    const chunks = chunking === 'one' ? oneByteChunks(zoo.data) : randomChunks(zoo.data, chunking, 4);
    const { segments, truncatedBytes } = segmentAll(chunks, { maxBytes });
    expect(truncatedBytes).toBe(0);
    expect(diffPackets(packetsOf(segments), parseCapture(zoo.data).packetList)).toBeUndefined();
    // a new section always starts a new segment, so no segment mixes byte orders
    for (const s of segments) {
      expect(s.format).toBe('pcapng');
      expect(s.data.readUInt32BE(0)).toBe(0x0a0d0d0a);
      expect(s.data.indexOf(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), 4)).toBe(-1);
    }
    // every segment is a file tcpdump reads, and all of them are the original's packets
    const files: string[] = [];
    for (let i = 0; i < segments.length; i++) files.push(await writeTemp(tmp.dir, `zoo-${maxBytes}-${i}`, segments[i]!.data));
    const joined = await tcpdumpReadEach(tmp.dir, files);
    const first = await tcpdumpRead(await writeTemp(tmp.dir, 'zoo-s1', zoo.data.subarray(0, zoo.secondSection)));
    const second = await tcpdumpRead(await writeTemp(tmp.dir, 'zoo-s2', zoo.data.subarray(zoo.secondSection)));
    expect(joined).toBe(first.text + second.text);
  });

  test('a section length in the SHB is marked unknown in every segment', async () => {
    const w = new PcapngWriter();
    const blocks = [w.idb({ linkType: LinkType.ETHERNET })];
    for (let i = 0; i < 20; i++) blocks.push(w.epb({ interfaceId: 0, timestampNs: T0 + BigInt(i) * 1000n, data: frame(i, 100) }));
    const body = Buffer.concat(blocks);
    const shbLength = new PcapngWriter().shb().length;
    const data = Buffer.concat([new PcapngWriter().shb({ sectionLength: BigInt(body.length) }), body]);
    expect(data.readBigInt64LE(16)).toBe(BigInt(body.length));
    expect(shbLength).toBe(28);
    const { segments } = segmentAll(randomChunks(data, 90, 3), { maxBytes: 700 });
    expect(segments.length).toBeGreaterThan(3);
    for (const s of segments) expect(s.data.readBigInt64LE(16)).toBe(-1n);
    // segments share memory with the pushed chunks, which are never written to
    expect(data.readBigInt64LE(16)).toBe(BigInt(body.length));
    for (const s of segments) {
      expect(Buffer.concat(s.parts as Buffer[]).equals(s.data)).toBe(true);
      expect(s.bytes).toBe(s.data.length);
    }
    expect(diffPackets(packetsOf(segments), parseCapture(data).packetList)).toBeUndefined();
    const files: string[] = [];
    for (let i = 0; i < segments.length; i++) files.push(await writeTemp(tmp.dir, `seclen-${i}`, segments[i]!.data));
    expect(await tcpdumpReadEach(tmp.dir, files)).toBe((await tcpdumpRead(await writeTemp(tmp.dir, 'seclen', data))).text);
  });

  test('concatenated pcaps: each new global header starts a new segment', () => {
    const a = pcapPair(false, 5).le;
    const b = pcapPair(true, 7).le;
    const { segments } = segmentAll(randomChunks(Buffer.concat([a, b, a]), 300, 8), { maxBytes: 1 << 20 });
    expect(segments.map((s) => s.records)).toEqual([5, 7, 5]);
    expect(segments.map((s) => s.data.equals(a) || s.data.equals(b))).toEqual([true, true, true]);
  });

  test('records larger than maxBytes come alone; the limit holds otherwise', () => {
    const w = new PcapWriter({ linkType: LinkType.ETHERNET });
    const sizes = [60, 1400, 60, 60, 60, 9000, 60, 1400, 1400, 60];
    const data = Buffer.concat([w.header(), ...sizes.map((n, i) => w.record({ timestampNs: T0 + BigInt(i), data: frame(i, n) }))]);
    const { segments } = segmentAll(randomChunks(data, 1000, 2), { maxBytes: 1000 });
    for (const s of segments) {
      if (s.records > 1) expect(s.data.length).toBeLessThanOrEqual(1000);
      else expect(s.records).toBe(1);
    }
    expect(segments.filter((s) => s.data.length > 1000).map((s) => s.data.length - 24 - 16)).toEqual([1400, 9000, 1400, 1400]);
    expect(concatPcaps(segments.map((s) => s.data)).equals(data)).toBe(true);
    expect(segments[0]!.firstTimestampNs).toBe(T0);
  });

  test('end(): a partial trailing record is dropped and counted; cut() leaves it buffered', () => {
    const { le } = pcapPair(true, 6);
    const cutAt = le.length - 25;
    const seg = new Segmenter({ maxBytes: 1 << 20 });
    expect(seg.cut()).toBeUndefined();
    seg.push(le.subarray(0, 20)); // not even the whole header yet
    expect(seg.cut()).toBeUndefined();
    seg.push(le.subarray(20, cutAt));
    const first = seg.cut()!;
    expect(first.records).toBe(5);
    expect(seg.emittedUpTo).toBe(first.data.length);
    expect(seg.pendingBytes).toBe(cutAt - first.data.length);
    const end = seg.end();
    expect(end.segment).toBeUndefined();
    expect(end.truncatedBytes).toBe(seg.pendingBytes);
    expect(end.truncatedBytes).toBeGreaterThan(0);
    // a capture with no packets at all still ends with a valid, empty capture file
    const empty = new Segmenter({ maxBytes: 100 });
    empty.push(le.subarray(0, 24));
    expect(empty.cut()).toBeUndefined();
    expect(empty.end()).toMatchObject({ truncatedBytes: 0, segment: { records: 0, format: 'pcap', data: le.subarray(0, 24) } });
  });

  test('damage: clean segments up to it, then the rest passed on unchanged, cut by size', () => {
    const { le } = pcapPair(false, 20);
    const bad = Buffer.from(le);
    let o = 24;
    for (let i = 0; i < 12; i++) o += 16 + le.readUInt32LE(o + 8);
    bad.writeUInt32LE(0xffffff00, o + 8);
    const { segments, truncatedBytes, seg } = segmentAll(randomChunks(bad, 500, 6), { maxBytes: 3000 });
    expect(truncatedBytes).toBe(0);
    expect(seg.damaged).toMatch(/exceeds the limit/);
    const clean = segments.filter((s) => !s.damaged);
    const damaged = segments.filter((s) => s.damaged);
    expect(clean.reduce((n, s) => n + s.records, 0)).toBe(12);
    expect(concatPcaps(clean.map((s) => s.data)).equals(bad.subarray(0, o))).toBe(true);
    expect(Buffer.concat(damaged.map((s) => s.data)).equals(bad.subarray(o))).toBe(true);
    for (const s of damaged) expect(s.data.length).toBeLessThanOrEqual(3000);
    expect(damaged.length).toBeGreaterThan(1);
  });
});

describe('benchmark', () => {
  test('segmenting and reading run at hundreds of MB/s (printed, not asserted)', () => {
    // ~64 MB of pcap with a realistic mix of sizes, fed in 64 KiB pipe-sized chunks
    const w = new PcapWriter({ linkType: LinkType.ETHERNET });
    const sizes = [66, 66, 1514, 1514, 1514, 590, 1514, 98];
    const payloads = sizes.map((n, i) => frame(i, n));
    const records: Buffer[] = [w.header()];
    let total = 24;
    for (let i = 0; total < 64 * 1024 * 1024; i++) {
      const r = w.record({ timestampNs: T0 + BigInt(i) * 1000n, data: payloads[i % payloads.length]! });
      records.push(r);
      total += r.length;
    }
    const data = Buffer.concat(records);
    const chunks: Buffer[] = [];
    for (let o = 0; o < data.length; o += 65536) chunks.push(data.subarray(o, o + 65536));
    const mb = data.length / 1e6;

    // best of three runs each, interleaved, so a busy machine skews all of them alike
    const best = { copy: Infinity, seg: Infinity, small: Infinity, read: Infinity, text: Infinity };
    // ~64 MB of ping-like text lines
    const line = Buffer.from('64 bytes from 192.0.2.2: icmp_seq=1 ttl=64 time=0.045 ms\n');
    const text = Buffer.alloc(Math.floor(data.length / line.length) * line.length);
    for (let o = 0; o < text.length; o += line.length) line.copy(text, o);
    const textChunks: Buffer[] = [];
    for (let o = 0; o < text.length; o += 65536) textChunks.push(text.subarray(o, o + 65536));
    let textLines = 0;
    let count = 0;
    let segs = 0;
    let smallCount = 0;
    let r = parseCapture(Buffer.alloc(0));
    const time = (key: keyof typeof best, fn: () => void): void => {
      const t = process.hrtime.bigint();
      fn();
      best[key] = Math.min(best[key], Number(process.hrtime.bigint() - t) / 1e6);
    };
    for (let round = 0; round < 3; round++) {
      time('copy', () => {
        const copies: Buffer[] = [];
        for (let i = 0; i < chunks.length; i += 512) copies.push(Buffer.concat(chunks.slice(i, i + 512)));
      });
      time('seg', () => {
        const seg = new Segmenter({ maxBytes: 32 * 1024 * 1024 });
        count = 0;
        segs = 0;
        for (const c of chunks) {
          for (const s of seg.push(c)) {
            count += s.records;
            segs++;
          }
        }
        const last = seg.end().segment;
        if (last) {
          count += last.records;
          segs++;
        }
      });
      time('small', () => {
        const small = new Segmenter({ maxBytes: 64 * 1024 });
        smallCount = 0;
        for (const c of chunks) for (const s of small.push(c)) smallCount += s.records;
        smallCount += small.end().segment?.records ?? 0;
      });
      time('read', () => {
        r = parseCapture(data);
      });
      time('text', () => {
        const t = new Segmenter({ maxBytes: 1024 * 1024, format: 'text' });
        textLines = 0;
        for (const c of textChunks) for (const s of t.push(c)) textLines += s.records;
        textLines += t.end().segment?.records ?? 0;
      });
    }
    const copyMs = best.copy;
    const segMs = best.seg;
    const smallMs = best.small;
    const readMs = best.read;

    expect(count).toBe(records.length - 1);
    expect(smallCount).toBe(records.length - 1);
    expect(r.packets).toBe(records.length - 1);
    expect(segs).toBe(Math.ceil(data.length / (32 * 1024 * 1024)));
    expect(textLines).toBe(text.length / line.length);
    console.log(
      `pcap benchmark, ${mb.toFixed(0)} MB, ${records.length - 1} records in 64 KiB chunks:\n` +
        `  plain copy (Buffer.concat)      ${(mb / (copyMs / 1000)).toFixed(0)} MB/s\n` +
        `  Segmenter, 32 MiB segments      ${(mb / (segMs / 1000)).toFixed(0)} MB/s  (${(segMs / copyMs).toFixed(1)}x the copy)\n` +
        `  Segmenter, 64 KiB segments      ${(mb / (smallMs / 1000)).toFixed(0)} MB/s  (${(smallMs / copyMs).toFixed(1)}x the copy)\n` +
        `  parseCapture (packet objects)   ${(mb / (readMs / 1000)).toFixed(0)} MB/s\n` +
        `  Segmenter, text lines, 1 MiB    ${(text.length / 1e6 / (best.text / 1000)).toFixed(0)} MB/s  (${((best.text / text.length) * data.length / copyMs).toFixed(1)}x the copy per byte)`,
    );
  });
});
