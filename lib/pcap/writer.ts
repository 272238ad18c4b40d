// Writing pcap (and, for tests and tools, pcapng) byte by byte, little-endian.
import { BlockType, MAX_SNAPLEN, PCAP_MAGIC, PCAPNG_BYTE_ORDER_MAGIC } from './constants.js';
import { PcapngTimestampScale } from './timestamp.js';

export interface PcapWriterOptions {
  linkType: number;
  /** default 262144 */
  snaplen?: number;
  /** nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds */
  nanosecond?: boolean;
}

export interface PcapRecordInput {
  timestampNs: bigint;
  data: Buffer;
  /** default data.length */
  originalLength?: number;
}

export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;

  constructor(opts: PcapWriterOptions) {
    if (!Number.isInteger(opts.linkType) || opts.linkType < 0 || opts.linkType > 0xffff) {
      throw new RangeError(`PcapWriter: bad link type ${String(opts.linkType)}`);
    }
    const snaplen = opts.snaplen ?? MAX_SNAPLEN;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0xffffffff) {
      throw new RangeError(`PcapWriter: bad snaplen ${String(snaplen)}`);
    }
    this.linkType = opts.linkType;
    this.snaplen = snaplen;
    this.nanosecond = opts.nanosecond ?? false;
  }

  /** The 24-byte global header. */
  header(): Buffer {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(this.nanosecond ? PCAP_MAGIC.nano : PCAP_MAGIC.micro, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeUInt32LE(this.snaplen, 16);
    b.writeUInt32LE(this.linkType, 20);
    return b;
  }

  /** One record: 16-byte header + data (cut to snaplen). */
  record(p: PcapRecordInput): Buffer {
    if (p.timestampNs < 0n) throw new RangeError('PcapWriter: negative timestamp');
    const cap = Math.min(p.data.length, this.snaplen);
    const b = Buffer.allocUnsafe(16 + cap);
    const sec = p.timestampNs / 1_000_000_000n;
    if (sec > 0xffffffffn) throw new RangeError('PcapWriter: timestamp beyond 2106 does not fit pcap');
    const frac = p.timestampNs % 1_000_000_000n;
    b.writeUInt32LE(Number(sec), 0);
    b.writeUInt32LE(Number(this.nanosecond ? frac : frac / 1000n), 4);
    b.writeUInt32LE(cap, 8);
    b.writeUInt32LE(Math.max(p.originalLength ?? p.data.length, cap), 12);
    p.data.copy(b, 16, 0, cap);
    return b;
  }
}

export interface PcapngInterfaceOptions {
  linkType: number;
  snaplen?: number;
  /** if_tsresol byte (default 6 = microseconds; 9 = nanoseconds; 0x80|n = 2^-n) */
  tsresol?: number;
  /** if_tsoffset in seconds */
  tsoffsetSeconds?: bigint;
  name?: string;
}

/** Builds pcapng blocks in either byte order: one section at a time (call shb() to start one). */
export class PcapngWriter {
  private readonly le: boolean;
  private scales: PcapngTimestampScale[] = [];

  constructor(opts: { bigEndian?: boolean } = {}) {
    this.le = !opts.bigEndian;
  }

  /** Section Header Block; starts a new section (interface numbering restarts). */
  shb(opts: { userAppl?: string; sectionLength?: bigint } = {}): Buffer {
    this.scales = [];
    const body = Buffer.alloc(16);
    this.u32(body, PCAPNG_BYTE_ORDER_MAGIC, 0);
    this.u16(body, 1, 4);
    this.u16(body, 0, 6);
    const length = opts.sectionLength ?? -1n; // -1: unknown
    if (this.le) body.writeBigInt64LE(length, 8);
    else body.writeBigInt64BE(length, 8);
    const options = opts.userAppl ? [this.option(4, Buffer.from(opts.userAppl))] : [];
    return this.block(BlockType.SectionHeader, body, options);
  }

  /** Interface Description Block; returns it, the interface id is the count of earlier ones. */
  idb(opts: PcapngInterfaceOptions): Buffer {
    const tsresol = opts.tsresol ?? 6;
    this.scales.push(new PcapngTimestampScale(tsresol, opts.tsoffsetSeconds ?? 0n));
    const body = Buffer.alloc(8);
    this.u16(body, opts.linkType, 0);
    this.u32(body, opts.snaplen ?? MAX_SNAPLEN, 4);
    const options: Buffer[] = [];
    if (opts.name) options.push(this.option(2, Buffer.from(opts.name)));
    if (opts.tsresol !== undefined) options.push(this.option(9, Buffer.from([tsresol])));
    if (opts.tsoffsetSeconds !== undefined) {
      const v = Buffer.alloc(8);
      if (this.le) v.writeBigInt64LE(opts.tsoffsetSeconds);
      else v.writeBigInt64BE(opts.tsoffsetSeconds);
      options.push(this.option(14, v));
    }
    return this.block(BlockType.InterfaceDescription, body, options);
  }

  /** Enhanced Packet Block. */
  epb(p: { interfaceId: number; timestampNs: bigint; data: Buffer; originalLength?: number; comment?: string }): Buffer {
    return this.packetLike(BlockType.EnhancedPacket, p);
  }

  /** The obsolete Packet Block (interface id and drop count in 16 bits each). */
  pb(p: { interfaceId: number; timestampNs: bigint; data: Buffer; originalLength?: number }): Buffer {
    return this.packetLike(BlockType.Packet, p);
  }

  /** Simple Packet Block (interface 0, no timestamp). */
  spb(p: { data: Buffer; originalLength?: number }): Buffer {
    const body = Buffer.alloc(4 + pad4(p.data.length));
    this.u32(body, p.originalLength ?? p.data.length, 0);
    p.data.copy(body, 4);
    return this.block(BlockType.SimplePacket, body, []);
  }

  /** Any block from its body (without type, lengths and options). */
  block(type: number, body: Buffer, options: Buffer[] = []): Buffer {
    const opts = options.length ? Buffer.concat([...options, Buffer.alloc(4)]) : Buffer.alloc(0);
    const len = 12 + pad4(body.length) + opts.length;
    const b = Buffer.alloc(len);
    this.u32(b, type, 0);
    this.u32(b, len, 4);
    body.copy(b, 8);
    opts.copy(b, 8 + pad4(body.length));
    this.u32(b, len, len - 4);
    return b;
  }

  /** One option (code, length, value padded to 4). */
  option(code: number, value: Buffer): Buffer {
    const b = Buffer.alloc(4 + pad4(value.length));
    this.u16(b, code, 0);
    this.u16(b, value.length, 2);
    value.copy(b, 4);
    return b;
  }

  private packetLike(
    type: number,
    p: { interfaceId: number; timestampNs: bigint; data: Buffer; originalLength?: number; comment?: string },
  ): Buffer {
    const scale = this.scales[p.interfaceId];
    if (scale === undefined) throw new RangeError(`PcapngWriter: no interface ${p.interfaceId} in this section`);
    const units = scale.fromNs(p.timestampNs);
    const body = Buffer.alloc(20 + pad4(p.data.length));
    if (type === BlockType.Packet) this.u16(body, p.interfaceId, 0);
    else this.u32(body, p.interfaceId, 0);
    this.u32(body, Number(units >> 32n), 4);
    this.u32(body, Number(units & 0xffffffffn), 8);
    this.u32(body, p.data.length, 12);
    this.u32(body, p.originalLength ?? p.data.length, 16);
    p.data.copy(body, 20);
    const options = p.comment ? [this.option(1, Buffer.from(p.comment))] : [];
    return this.block(type, body, options);
  }

  private u16(b: Buffer, v: number, o: number): void {
    if (this.le) b.writeUInt16LE(v, o);
    else b.writeUInt16BE(v, o);
  }

  private u32(b: Buffer, v: number, o: number): void {
    if (this.le) b.writeUInt32LE(v >>> 0, o);
    else b.writeUInt32BE(v >>> 0, o);
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
