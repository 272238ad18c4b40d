// The reader on every corner of both formats, checked against tcpdump's reading of the same
// bytes, and on damaged input (which must never throw).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Readable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mergePcaps, PacketParser, parseCapture, PcapWriter, readPackets, readRecords, sniffFormat, iteratePackets, type Packet, type PacketRecord } from '../index.js';

const run = promisify(execFile);
import { LinkType, PCAP_MAGIC } from '../constants.js';
import { diffPackets, oneByteChunks, randomChunks, tcpdumpRead, tempDir, writeTemp } from './lab.js';
import { frame, pcapngZoo, pcapPair, swapPcap, T0 } from './zoo.js';

let tmp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

/** tcpdump's view of `data` must equal its view of our packets re-encoded as a ns pcap. */
async function expectTcpdumpAgrees(name: string, data: Buffer, packets: Packet[]): Promise<void> {
  const w = new PcapWriter({ linkType: packets[0]?.linkType ?? 1, nanosecond: true });
  const rewritten = Buffer.concat([w.header(), ...packets.map((p) => w.record(p))]);
  const theirs = await tcpdumpRead(await writeTemp(tmp.dir, `${name}.in`, data));
  const ours = await tcpdumpRead(await writeTemp(tmp.dir, `${name}.out`, rewritten));
  expect(theirs.packets).toBe(packets.length);
  expect(ours.text).toBe(theirs.text);
}

async function* chunksOf(list: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of list) yield c;
}

describe('sniffFormat', () => {
  test.each([
    [[0xd4, 0xc3, 0xb2, 0xa1], 'pcap'],
    [[0xa1, 0xb2, 0xc3, 0xd4], 'pcap'],
    [[0x4d, 0x3c, 0xb2, 0xa1], 'pcap'],
    [[0xa1, 0xb2, 0x3c, 0x4d], 'pcap'],
    [[0x34, 0xcd, 0xb2, 0xa1], 'pcap'],
    [[0x0a, 0x0d, 0x0d, 0x0a], 'pcapng'],
    [[0x50, 0x49, 0x4e, 0x47], 'text'],
    [[0x0a, 0x0a, 0x0a, 0x0a], 'text'],
    [[0xd4, 0xc3], undefined],
    [[0x0a], undefined],
    [[], undefined],
    [[0x50], 'text'],
  ])('%j → %s', (bytes, format) => {
    expect(sniffFormat(Buffer.from(bytes))).toBe(format);
  });
});

describe('pcap', () => {
  test.each([false, true])('both byte orders read alike (nanosecond=%s), as tcpdump reads them', async (nano) => {
    const { le, be } = pcapPair(nano);
    const a = parseCapture(le);
    const b = parseCapture(be);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect(a.packets).toBe(30);
    expect(diffPackets(a.packetList, b.packetList)).toBeUndefined();
    expect(a.packetList[1]!.timestampNs).toBe(nano ? T0 + 1_234_567n : T0 + 1_234_000n);
    await expectTcpdumpAgrees(`be-${nano}`, be, b.packetList);
  });

  test('modified (Kuznetzov) pcap with 24-byte record headers', async () => {
    const parts: Buffer[] = [Buffer.alloc(24)];
    parts[0]!.writeUInt32LE(PCAP_MAGIC.modified, 0);
    parts[0]!.writeUInt16LE(2, 4);
    parts[0]!.writeUInt16LE(4, 6);
    parts[0]!.writeUInt32LE(65535, 16);
    parts[0]!.writeUInt32LE(LinkType.ETHERNET, 20);
    for (let i = 0; i < 5; i++) {
      const data = frame(i, 60 + i);
      const h = Buffer.alloc(24);
      h.writeUInt32LE(1_700_000_000 + i, 0);
      h.writeUInt32LE(i * 10, 4);
      h.writeUInt32LE(data.length, 8);
      h.writeUInt32LE(data.length, 12);
      h.writeUInt32LE(7, 16); // ifindex
      parts.push(h, data);
    }
    const data: Buffer = Buffer.concat(parts);
    const r = parseCapture(data);
    expect(r.errors).toEqual([]);
    expect(r.packets).toBe(5);
    expect(r.packetList[4]!.timestampNs).toBe(1_700_000_004_000_040_000n);
    await expectTcpdumpAgrees('modified', data, r.packetList);
  });

  test('segments concatenated (repeated global headers) read as one stream', () => {
    const { le } = pcapPair(false, 10);
    const r = parseCapture(Buffer.concat([le, le, le]));
    expect(r.errors).toEqual([]);
    expect(r.packets).toBe(30);
  });

  test('records whose timestamp reads like a magic number are records', async () => {
    const w = new PcapWriter({ linkType: LinkType.ETHERNET });
    // 0x4d3cb2a1 and 0x34cdb2a1 seconds: their little-endian bytes are pcap magics read big-endian
    const stamps = [0x4d3cb2a1, 0x34cdb2a1].map((sec) => BigInt(sec) * 1_000_000_000n + 2000n);
    const data = Buffer.concat([w.header(), ...stamps.map((ts, i) => w.record({ timestampNs: ts, data: frame(i, 80) }))]);
    const r = parseCapture(data);
    expect(r.errors).toEqual([]);
    expect(r.packetList.map((p) => p.timestampNs)).toEqual(stamps);
    await expectTcpdumpAgrees('magic-stamps', data, r.packetList);
  });

  test('every truncation point: the whole records before it, truncated set, never a throw', async () => {
    const { le } = pcapPair(true, 8);
    const ends: number[] = [];
    for (let o = 24; o < le.length; ) {
      o += 16 + le.readUInt32LE(o + 8);
      ends.push(o);
    }
    for (let cut = 0; cut < le.length; cut++) {
      const r = parseCapture(le.subarray(0, cut));
      const whole = ends.filter((e) => e <= cut).length;
      expect(r.packets).toBe(whole);
      if (cut < 24) {
        expect(r.format).toBe(cut < 4 ? undefined : 'pcap');
        expect(r.truncated).toBe(cut >= 4);
        expect(r.errors.length).toBe(1);
      } else {
        expect(r.truncated).toBe(!ends.includes(cut) && cut !== 24);
        expect(r.errors.length).toBe(r.truncated ? 1 : 0);
      }
    }
    // and tcpdump agrees on a cut in the middle of a record
    const cut = ends[4]! + 30;
    const r = parseCapture(le.subarray(0, cut));
    const v = await tcpdumpRead(await writeTemp(tmp.dir, 'trunc.pcap', le.subarray(0, cut)));
    expect(v.packets).toBe(r.packets);
    expect(v.stderr).toMatch(/truncated/);
  });

  test('any chunking, also into reused memory, yields the packets written', async () => {
    // concatenated files: both byte orders, both resolutions, timestamps that read as magic
    // numbers, and a record longer than any carry the reader copies
    const expected: Packet[] = [];
    const parts: Buffer[] = [];
    const file = (opts: { nanosecond: boolean; snaplen?: number; swap?: boolean }, stamps: bigint[], sizes: number[]) => {
      const w = new PcapWriter({ linkType: LinkType.ETHERNET, ...opts });
      const records = stamps.map((ts, i) => {
        const data = frame(expected.length, sizes[i]!);
        expected.push({ timestampNs: ts, linkType: LinkType.ETHERNET, interfaceId: 0, capturedLength: data.length, originalLength: data.length, data });
        return w.record({ timestampNs: ts, data });
      });
      const bytes = Buffer.concat([w.header(), ...records]);
      parts.push(opts.swap ? swapPcap(bytes) : bytes);
    };
    const times = (n: number, step: bigint) => Array.from({ length: n }, (_, i) => T0 + BigInt(i) * step);
    file({ nanosecond: false }, times(40, 1_234_000n), Array.from({ length: 40 }, (_, i) => 40 + ((i * 97) % 1500)));
    file({ nanosecond: true, swap: true }, times(20, 7n), Array.from({ length: 20 }, (_, i) => 60 + i));
    file({ nanosecond: false }, [0x4d3cb2a1, 0x34cdb2a1, 0xa1b2c3d4].map((sec) => BigInt(sec) * 1_000_000_000n + 2000n), [80, 90, 100]);
    const smallFiles = { bytes: Buffer.concat(parts), packets: expected.length };
    file({ nanosecond: true, snaplen: 1 << 20 }, times(5, 1n), [70, 600_000, 75, 300_000, 64]);
    const data = Buffer.concat(parts);

    const whole = parseCapture(data);
    expect(whole.errors).toEqual([]);
    expect(diffPackets(whole.packetList, expected)).toBeUndefined();
    for (const [input, chunks] of [
      [smallFiles, oneByteChunks(smallFiles.bytes)],
      [smallFiles, randomChunks(smallFiles.bytes, 50, 3)],
      [{ bytes: data, packets: expected.length }, randomChunks(data, 5000, 4)],
      [{ bytes: data, packets: expected.length }, randomChunks(data, 400_000, 5)],
    ] as const) {
      const got: Packet[] = [];
      const r = await readPackets(chunksOf(chunks), (p) => got.push(p));
      expect(r).toEqual({ format: 'pcap', packets: input.packets, errors: [], truncated: false });
      expect(diffPackets(got, expected.slice(0, input.packets))).toBeUndefined();
    }

    // pushReusable: every chunk goes through the same memory, scribbled over between chunks
    for (const [max, seed, cut] of [
      [3000, 6, 0],
      [200_000, 7, 0],
      [700_000, 8, 0],
      [3000, 9, 5],
    ] as const) {
      const input = data.subarray(0, data.length - cut);
      const got: Packet[] = [];
      const parser = new PacketParser((p) => got.push({ ...p, data: Buffer.from(p.data) }));
      let memory = Buffer.alloc(max);
      let fresh = 0;
      for (const c of randomChunks(input, max, seed)) {
        memory.fill(0xee);
        c.copy(memory);
        if (parser.pushReusable(memory.subarray(0, c.length))) {
          memory = Buffer.alloc(max);
          fresh++;
        }
      }
      const r = parser.end();
      const reference = parseCapture(input);
      expect(r).toEqual({ format: 'pcap', packets: reference.packets, errors: reference.errors, truncated: cut > 0 });
      expect(diffPackets(got, reference.packetList)).toBeUndefined();
      // only a carry longer than the reader copies keeps the memory
      if (max < 300_000) expect(fresh).toBeGreaterThan(0);
    }
  });

  test('a corrupt record length stops the reader with the packets before it', () => {
    const { le } = pcapPair(false, 10);
    const bad = Buffer.from(le);
    let o = 24;
    for (let i = 0; i < 6; i++) o += 16 + le.readUInt32LE(o + 8);
    bad.writeUInt32LE(0x7fffffff, o + 8);
    const r = parseCapture(bad);
    expect(r.packets).toBe(6);
    expect(r.errors.join()).toMatch(/captured length 2147483647 exceeds/);
  });

  test('unsupported version and non-captures are reported, not thrown', () => {
    const { le } = pcapPair(false, 2);
    const v9: Buffer = Buffer.from(le);
    v9.writeUInt16LE(9, 4);
    expect(parseCapture(v9)).toMatchObject({ packets: 0, errors: [expect.stringMatching(/version 9/)] });
    expect(parseCapture(Buffer.from('PING 192.0.2.2 56(84) bytes of data.\n'))).toMatchObject({
      format: undefined,
      packets: 0,
      errors: [expect.stringMatching(/not a pcap or pcapng stream/)],
    });
    expect(parseCapture(Buffer.alloc(0))).toMatchObject({ format: undefined, errors: ['empty input'] });
  });
});

describe('pcapng', () => {
  test('the zoo: sections in both byte orders, resolutions, offsets, EPB/PB/SPB and other blocks', async () => {
    const zoo = pcapngZoo();
    const r = parseCapture(zoo.data);
    expect(r.errors).toEqual([]);
    expect(r.format).toBe('pcapng');
    expect(r.packets).toBe(zoo.expected.length);
    r.packetList.forEach((p, i) => {
      const e = zoo.expected[i]!;
      expect(p.data.equals(e.data)).toBe(true);
      expect(p.originalLength).toBe(e.originalLength);
      expect(p.interfaceId).toBe(e.interfaceId);
      expect(p.linkType).toBe(LinkType.ETHERNET);
      if (e.spb) {
        expect(p.timestampUnknown).toBe(true);
        expect(p.timestampNs).toBe(0n);
      } else {
        expect(p.timestampUnknown).toBeUndefined();
        expect(p.timestampNs).toBe(e.timestampNs);
      }
    });
    // tcpdump as the judge, one section at a time (libpcap cannot follow a change of byte
    // order between sections)
    const k = zoo.firstSectionPackets;
    await expectTcpdumpAgrees('zoo1', zoo.data.subarray(0, zoo.secondSection), r.packetList.slice(0, k));
    await expectTcpdumpAgrees('zoo2', zoo.data.subarray(zoo.secondSection), r.packetList.slice(k));
  });

  test('any chunking yields the same packets', async () => {
    const zoo = pcapngZoo();
    const whole = parseCapture(zoo.data).packetList;
    for (const chunks of [oneByteChunks(zoo.data), randomChunks(zoo.data, 50, 1), randomChunks(zoo.data, 700, 2)]) {
      const got: Packet[] = [];
      const r = await readPackets(chunksOf(chunks), (p) => got.push(p));
      expect(r).toEqual({ format: 'pcapng', packets: whole.length, errors: [], truncated: false });
      expect(diffPackets(got, whole)).toBeUndefined();
    }
    // and through reused memory, scribbled over between chunks
    for (const max of [7, 100, 5000]) {
      const got: Packet[] = [];
      const parser = new PacketParser((p) => got.push({ ...p, data: Buffer.from(p.data) }));
      const memory = Buffer.alloc(max);
      for (const c of randomChunks(zoo.data, max, max)) {
        memory.fill(0xee);
        c.copy(memory);
        expect(parser.pushReusable(memory.subarray(0, c.length))).toBe(false);
      }
      expect(parser.end()).toEqual({ format: 'pcapng', packets: whole.length, errors: [], truncated: false });
      expect(diffPackets(got, whole)).toBeUndefined();
    }
  });

  test('every truncation point: never a throw, packets only from whole blocks', () => {
    const zoo = pcapngZoo();
    let previous = 0;
    for (let cut = 0; cut <= zoo.data.length; cut++) {
      const r = parseCapture(zoo.data.subarray(0, cut));
      expect(r.packets).toBeGreaterThanOrEqual(previous);
      previous = r.packets;
      if (cut === zoo.data.length) expect(r.truncated).toBe(false);
      if (r.truncated) expect(r.errors[0]).toMatch(/truncated/);
    }
    expect(previous).toBe(zoo.expected.length);
  });

  test('damaged blocks: a bad interface id is skipped, a broken length stops', () => {
    const zoo = pcapngZoo();
    // locate the blocks of the first section
    const offsets: number[] = [];
    for (let o = 0; o < zoo.data.length; ) {
      offsets.push(o);
      const le = zoo.data.readUInt32BE(o) === 0x0a0d0d0a ? zoo.data.readUInt32LE(o + 8) === 0x1a2b3c4d : true;
      o += le ? zoo.data.readUInt32LE(o + 4) : zoo.data.readUInt32BE(o + 4);
      if (offsets.length > 1 && zoo.data.readUInt32BE(o) === 0x0a0d0d0a) break;
    }
    const firstEpb = offsets[4]!; // SHB, IDB, IDB, NRB, EPB
    expect(zoo.data.readUInt32LE(firstEpb)).toBe(6);
    const badIf = Buffer.from(zoo.data);
    badIf.writeUInt32LE(9, firstEpb + 8);
    const r1 = parseCapture(badIf);
    expect(r1.packets).toBe(zoo.expected.length - 1);
    expect(r1.errors).toEqual([expect.stringMatching(/unknown interface 9/)]);

    const badLen = Buffer.from(zoo.data);
    badLen.writeUInt32LE(badLen.readUInt32LE(firstEpb + 4) + 4, firstEpb + 4);
    const r2 = parseCapture(badLen);
    expect(r2.packets).toBe(0);
    expect(r2.errors).toEqual([expect.stringMatching(/trailing length differs/)]);

    const badBom = Buffer.from(zoo.data);
    badBom.writeUInt32LE(0x11223344, 8);
    expect(parseCapture(badBom).errors).toEqual([expect.stringMatching(/byte-order magic/)]);
  });
});

describe('streams', () => {
  test('a source that fails mid-way resolves with what was read', async () => {
    const { le } = pcapPair(false, 10);
    const source = new Readable({
      read() {
        this.push(le.subarray(0, 500));
        this.destroy(new Error('connection reset'));
      },
    });
    const got: Packet[] = [];
    const r = await readPackets(source, (p) => got.push(p));
    expect(r.truncated).toBe(true);
    expect(r.errors).toEqual([expect.stringMatching(/read error: connection reset/)]);
    expect(r.packets).toBe(got.length);
    expect(got.length).toBeGreaterThan(0);
  });

  test('an exception from the callback is the caller\'s and propagates', async () => {
    const { le } = pcapPair(false, 3);
    await expect(
      readPackets(chunksOf([le]), () => {
        throw new Error('mine');
      }),
    ).rejects.toThrow('mine');
  });

  test('iteratePackets returns the result after the last packet, and can stop early', async () => {
    const { be } = pcapPair(true, 12);
    const it = iteratePackets(chunksOf(randomChunks(be, 100, 3)));
    let n = 0;
    for await (const p of it) {
      expect(p.linkType).toBe(LinkType.ETHERNET);
      if (++n === 5) break;
    }
    expect(n).toBe(5);
    const all = iteratePackets(Readable.from([be]));
    let step = await all.next();
    let count = 0;
    while (!step.done) {
      count++;
      step = await all.next();
    }
    expect(count).toBe(12);
    expect(step.value).toEqual({ format: 'pcap', packets: 12, errors: [], truncated: false });
  });
});

describe('merging', () => {
  test('ties and inputs that step back in time: the same order as mergecap', async () => {
    const make = (secs: number[], seed: number): Buffer => {
      const w = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond: true });
      return Buffer.concat([w.header(), ...secs.map((s, i) => w.record({ timestampNs: T0 + BigInt(s) * 1000n, data: frame(seed * 100 + i, 60) }))]);
    };
    const a = make([5, 5, 3, 9, 12], 1);
    const b = make([5, 4, 10, 1], 2);
    const c = make([0, 5, 20], 3);
    const merged = mergePcaps([a, b, c]);
    const r = parseCapture(merged);
    expect(r.packets).toBe(12);
    const fa = await writeTemp(tmp.dir, 'ma', a);
    const fb = await writeTemp(tmp.dir, 'mb', b);
    const fc = await writeTemp(tmp.dir, 'mc', c);
    const theirs = `${tmp.dir}/mergecap-out`;
    await run('mergecap', ['-F', 'nsecpcap', '-w', theirs, fa, fb, fc]);
    expect((await tcpdumpRead(await writeTemp(tmp.dir, 'mours', merged))).text).toBe((await tcpdumpRead(theirs)).text);
    expect(mergePcaps([a, b], { order: 'concat' }).length).toBe(a.length + b.length - 24);
    expect(() => mergePcaps([a, Buffer.from('not a capture')])).toThrow(/input 1 is not a clean capture/);
    expect(() => mergePcaps([])).toThrow(/no inputs/);
  });
});


describe('record views (PacketParser.forRecords, readRecords)', () => {
  /** A view turned into the Packet it stands for (its bytes copied: the view is reused). */
  const asPacket = (r: PacketRecord): Packet => {
    expect(r.nanos >= 0 && r.nanos < 1e9 && Number.isInteger(r.nanos) && Number.isInteger(r.seconds)).toBe(true);
    return {
      timestampNs: BigInt(r.seconds) * 1_000_000_000n + BigInt(r.nanos),
      linkType: r.linkType,
      interfaceId: r.interfaceId,
      capturedLength: r.capturedLength,
      originalLength: r.originalLength,
      data: Buffer.from(r.buffer.subarray(r.offset, r.offset + r.capturedLength)),
      ...(r.timestampUnknown ? { timestampUnknown: true as const } : {}),
    };
  };

  test('the same packets as Packet objects: pcapng zoo and pcap files of both resolutions and byte orders, any chunking', async () => {
    const { le: micro } = pcapPair(false, 40);
    const { be: nano } = pcapPair(true, 40);
    for (const data of [pcapngZoo().data, Buffer.concat([micro, micro]), nano]) {
      const whole = parseCapture(data);
      for (const chunks of [[data], oneByteChunks(data), randomChunks(data, 300, 3)]) {
        const got: Packet[] = [];
        const r = await readRecords(chunksOf(chunks), (v) => got.push(asPacket(v)));
        expect(r).toEqual({ format: whole.format, packets: whole.packets, errors: whole.errors, truncated: whole.truncated });
        expect(diffPackets(got, whole.packetList)).toBeUndefined();
      }
      // and through reused memory, scribbled over between chunks
      const got: Packet[] = [];
      const parser = PacketParser.forRecords((v) => got.push(asPacket(v)));
      const memory = Buffer.alloc(700);
      for (const c of randomChunks(data, 700, 4)) {
        memory.fill(0xee);
        c.copy(memory);
        parser.pushReusable(memory.subarray(0, c.length));
      }
      parser.end();
      expect(diffPackets(got, whole.packetList)).toBeUndefined();
    }
  });

  test('an exception from the record callback is the caller\'s and propagates', async () => {
    const { le } = pcapPair(false, 3);
    await expect(
      readRecords(chunksOf([le]), () => {
        throw new Error('mine');
      }),
    ).rejects.toThrow('mine');
  });
});
