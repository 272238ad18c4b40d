// Hand-built captures exercising the less common corners of the formats: big-endian pcap,
// several pcapng sections in both byte orders, timestamp resolutions and offsets, the obsolete
// and simple packet blocks, and blocks a reader must step over.
import { BlockType, LinkType } from '../constants.js';
import { PcapngWriter, PcapWriter } from '../writer.js';
import { rng } from './lab.js';

/** A fake Ethernet frame: deterministic bytes, IPv4 ethertype so tcpdump decodes something. */
export function frame(seed: number, length: number): Buffer {
  const next = rng(seed + 1);
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = next(256);
  if (length >= 14) b.writeUInt16BE(0x0800, 12);
  return b;
}

export const T0 = 1_700_000_000_000_000_000n;

export interface Zoo {
  data: Buffer;
  /** where the second (big-endian) section starts */
  secondSection: number;
  /** packets in the first section */
  firstSectionPackets: number;
  /** packets a reader must deliver, in order (SPB: timestamp written as 0) */
  expected: Array<{ timestampNs: bigint; data: Buffer; originalLength: number; interfaceId: number; spb?: boolean }>;
}

export function pcapngZoo(): Zoo {
  const expected: Zoo['expected'] = [];
  const parts: Buffer[] = [];
  // Section 1, little-endian: two interfaces at µs and ns resolution, and assorted blocks.
  const le = new PcapngWriter();
  parts.push(le.shb({ userAppl: 'zoo' }));
  parts.push(le.idb({ linkType: LinkType.ETHERNET, snaplen: 200 }));
  parts.push(le.idb({ linkType: LinkType.ETHERNET, snaplen: 200, tsresol: 9, name: 'eth-ns' }));
  parts.push(le.block(BlockType.NameResolution, Buffer.from([1, 0, 8, 0, 192, 0, 2, 1, 104, 0, 0, 0, 0, 0, 0, 0])));
  const add = (w: PcapngWriter, kind: 'epb' | 'pb', interfaceId: number, ts: bigint, len: number, seed: number, stored = ts) => {
    const data = frame(seed, len);
    parts.push(w[kind]({ interfaceId, timestampNs: ts, data, originalLength: len + 10 }));
    expected.push({ timestampNs: stored, data, originalLength: len + 10, interfaceId });
  };
  add(le, 'epb', 0, T0 + 1_000_000n, 60, 1);
  add(le, 'epb', 1, T0 + 1_000_123n, 61, 2);
  parts.push(le.block(BlockType.DecryptionSecrets, Buffer.from('TLSK\x04\x00\x00\x00keys', 'latin1')));
  const commented = frame(3, 98);
  parts.push(le.epb({ interfaceId: 1, timestampNs: T0 + 2_000_000_007n, data: commented, comment: 'a comment' }));
  expected.push({ timestampNs: T0 + 2_000_000_007n, data: commented, originalLength: 98, interfaceId: 1 });
  parts.push(le.block(BlockType.InterfaceStatistics, Buffer.alloc(12)));
  add(le, 'pb', 0, T0 + 3_000_000n, 70, 4);
  parts.push(le.block(BlockType.Custom, Buffer.from([0, 0, 0x7f, 0xfe, 1, 2, 3, 4])));
  parts.push(le.block(0x00000101, Buffer.from('an unknown block type')));
  // a Simple Packet Block: interface 0 (snaplen 200) and no timestamp; 300 bytes on the wire
  const spbData = frame(5, 200);
  parts.push(le.spb({ data: spbData, originalLength: 300 }));
  expected.push({ timestampNs: 0n, data: spbData, originalLength: 300, interfaceId: 0, spb: true });
  add(le, 'epb', 0, T0 + 4_000_000n, 180, 6);
  // Section 2, big-endian: interface numbering restarts; binary resolution 2^-20 and an offset.
  const secondSection = parts.reduce((n, b) => n + b.length, 0);
  const firstSectionPackets = expected.length;
  const be = new PcapngWriter({ bigEndian: true });
  parts.push(be.shb());
  parts.push(be.idb({ linkType: LinkType.ETHERNET, snaplen: 200, tsresol: 0x80 | 20, tsoffsetSeconds: 10n }));
  for (let i = 0; i < 3; i++) {
    // 2^-20 s units: the stored value is the written time floored to a unit
    const ts = T0 + 5_000_000_000n + BigInt(i) * 333_333n;
    const units = ((ts - 10_000_000_000n) * (1n << 20n)) / 1_000_000_000n;
    const stored = (units * 1_000_000_000n) / (1n << 20n) + 10_000_000_000n;
    add(be, 'epb', 0, ts, 64 + i, 10 + i, stored);
  }
  return { data: Buffer.concat(parts), expected, secondSection, firstSectionPackets };
}

/** The same packets as a pcap in both byte orders. */
export function pcapPair(nanosecond: boolean, count = 30): { le: Buffer; be: Buffer } {
  const w = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond });
  const parts = [w.header()];
  for (let i = 0; i < count; i++) parts.push(w.record({ timestampNs: T0 + BigInt(i) * 1_234_567n, data: frame(i, 40 + ((i * 37) % 1400)) }));
  const le = Buffer.concat(parts);
  return { le, be: swapPcap(le) };
}

/** Rewrites a little-endian pcap in big-endian byte order. */
export function swapPcap(le: Buffer): Buffer {
  const b = Buffer.from(le);
  b.writeUInt32BE(le.readUInt32LE(0), 0);
  b.writeUInt16BE(le.readUInt16LE(4), 4);
  b.writeUInt16BE(le.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) b.writeUInt32BE(le.readUInt32LE(o), o);
  for (let o = 24; o < le.length; ) {
    const cap = le.readUInt32LE(o + 8);
    for (let k = 0; k < 16; k += 4) b.writeUInt32BE(le.readUInt32LE(o + k), o + k);
    o += 16 + cap;
  }
  return b;
}
