// Finds the next whole record (pcap) or block (pcapng) at a ByteQueue's cursor and decodes the
// few header fields the reader and the segmenter need, keeping the per-section state (byte
// order, timestamp precision, interfaces). It never consumes bytes: callers advance the cursor.
import type { ByteQueue } from './byte-queue.js';
import {
  BlockType,
  MAX_FRAME_BYTES,
  MAX_SNAPLEN,
  PCAP_HEADER_LENGTH,
  PCAP_MAGIC,
  PCAPNG_BYTE_ORDER_MAGIC,
} from './constants.js';
import { isPcapMagic, isPcapngMagic, swap32 } from './sniff.js';
import { PCAP_MICRO, PCAP_NANO, PcapngTimestampScale, type TimestampScale } from './timestamp.js';

export type FrameKind =
  /** pcap global header (also when repeated mid-stream, as in concatenated segments) */
  | 'pcap-header'
  /** pcap record, or pcapng EPB/SPB/PB */
  | 'packet'
  /** pcapng Section Header Block */
  | 'shb'
  /** pcapng block every later segment of the section needs to decode (IDB, DSB) */
  | 'section-block'
  /** any other pcapng block (NRB, ISB, custom, unknown) */
  | 'block';

export interface Frame {
  kind: FrameKind;
  /** bytes of the whole record/block */
  length: number;
  /** pcapng block type (0 for pcap) */
  blockType: number;
  // The remaining fields describe packets.
  interfaceId: number;
  linkType: number;
  capturedLength: number;
  originalLength: number;
  /** offset of the packet bytes within the frame */
  dataOffset: number;
  /** raw timestamp words and how to read them; scale undefined = no timestamp (SPB) */
  tsHigh: number;
  tsLow: number;
  scale: TimestampScale | undefined;
  /** the frame is well delimited but its content is bad (e.g. unknown interface): skip it */
  problem?: string;
}

export interface FrameError {
  kind: 'error';
  message: string;
}

/** How the records of the current pcap section are laid out. */
export interface PcapLayout {
  le: boolean;
  scale: TimestampScale;
  linkType: number;
  maxCaplen: number;
  recordHeader: number;
}

/** How the blocks of the current pcapng section are read. */
export interface PcapngLayout {
  le: boolean;
  /** the section's interfaces so far, by id */
  interfaces: ReadonlyArray<{ readonly linkType: number; readonly scale: TimestampScale }>;
}

interface Interface {
  linkType: number;
  snaplen: number;
  scale: PcapngTimestampScale;
}

export class FrameDecoder {
  /** One frame object, refilled by every next() call: a frame is valid until the next call
   *  (saves an allocation per record on the hot path). */
  private readonly current: Frame = {
    kind: 'block',
    length: 0,
    blockType: 0,
    interfaceId: 0,
    linkType: 0,
    capturedLength: 0,
    originalLength: 0,
    dataOffset: 0,
    tsHigh: 0,
    tsLow: 0,
    scale: undefined,
    problem: undefined,
  };
  format: 'pcap' | 'pcapng' | undefined;
  /** records/blocks framed so far (for error messages) */
  frames = 0;

  // pcap state
  private pcapLE = true;
  private pcapScale: TimestampScale = PCAP_MICRO;
  private pcapLinkType = 0;
  private pcapMaxCaplen = MAX_SNAPLEN;
  private pcapRecordHeader = 16;

  // pcapng state
  private ngLE = true;
  private interfaces: Interface[] = [];

  /** The frame at the cursor (valid until the next call); undefined = more bytes needed; FrameError = the stream cannot be
   *  framed any further (not pcap/pcapng, or a corrupt length). */
  next(q: ByteQueue): Frame | FrameError | undefined {
    if (q.available < 4) return undefined;
    const magic = q.u32(0, false);
    if (this.format === undefined) {
      if (isPcapMagic(magic)) return this.pcapHeader(q, magic);
      if (isPcapngMagic(magic)) return this.sectionHeader(q);
      return error(`not a pcap or pcapng stream (starts with 0x${hex(magic)})`);
    }
    if (this.format === 'pcap') {
      // A global header where a record should start: the next segment of a concatenation.
      if (isPcapMagic(magic)) {
        if (q.available < PCAP_HEADER_LENGTH) return undefined;
        if (this.looksLikePcapHeader(q, magic)) return this.pcapHeader(q, magic);
      }
      return this.pcapRecord(q);
    }
    if (isPcapngMagic(magic)) return this.sectionHeader(q);
    return this.pcapngBlock(q);
  }

  /** The current pcap section's record layout (undefined unless the stream is pcap), for a
   *  reader that frames a run of records out of one buffer itself. */
  get pcapLayout(): PcapLayout | undefined {
    if (this.format !== 'pcap') return undefined;
    return {
      le: this.pcapLE,
      scale: this.pcapScale,
      linkType: this.pcapLinkType,
      maxCaplen: this.pcapMaxCaplen,
      recordHeader: this.pcapRecordHeader,
    };
  }

  /** The current pcapng section's byte order and interfaces (undefined unless the stream is
   *  pcapng), for a reader that frames a run of packet blocks out of one buffer itself. */
  get pcapngLayout(): PcapngLayout | undefined {
    if (this.format !== 'pcapng') return undefined;
    return { le: this.ngLE, interfaces: this.interfaces };
  }

  private frame(kind: FrameKind, length: number, blockType: number): Frame {
    const f = this.current;
    f.kind = kind;
    f.length = length;
    f.blockType = blockType;
    f.interfaceId = 0;
    f.linkType = 0;
    f.capturedLength = 0;
    f.originalLength = 0;
    f.dataOffset = 0;
    f.tsHigh = 0;
    f.tsLow = 0;
    f.scale = undefined;
    f.problem = undefined;
    return f;
  }

  private pcapHeader(q: ByteQueue, magic: number): Frame | FrameError | undefined {
    if (this.format === 'pcapng') return error(`pcap header inside a pcapng stream after ${this.frames} blocks`);
    if (q.available < PCAP_HEADER_LENGTH) return undefined;
    const le = magic !== PCAP_MAGIC.micro && magic !== PCAP_MAGIC.nano && magic !== PCAP_MAGIC.modified;
    const m = le ? swap32(magic) : magic;
    const major = q.u16(4, le);
    if (major !== 2) return error(`unsupported pcap version ${major}.${q.u16(6, le)}`);
    const snaplen = q.u32(16, le);
    this.format = 'pcap';
    this.pcapLE = le;
    this.pcapScale = m === PCAP_MAGIC.nano ? PCAP_NANO : PCAP_MICRO;
    this.pcapRecordHeader = m === PCAP_MAGIC.modified ? 24 : 16;
    // the low 16 bits are the link type; the upper bits may carry FCS information
    this.pcapLinkType = q.u32(20, le) & 0xffff;
    this.pcapMaxCaplen = Math.min(Math.max(snaplen, MAX_SNAPLEN), MAX_FRAME_BYTES);
    this.frames++;
    return this.frame('pcap-header', PCAP_HEADER_LENGTH, 0);
  }

  /** Some record timestamps are magic numbers too (0x4d3cb2a1 is 2011-01-23T23:38:41Z), so a
   *  header mid-stream must also have version 2 and zero sigfigs: as a record that would take
   *  microseconds ≡ 2 (mod 65536) and an original length of 0 as well. */
  private looksLikePcapHeader(q: ByteQueue, magic: number): boolean {
    const le = magic !== PCAP_MAGIC.micro && magic !== PCAP_MAGIC.nano && magic !== PCAP_MAGIC.modified;
    return q.u16(4, le) === 2 && q.u32(12, le) === 0;
  }

  private pcapRecord(q: ByteQueue): Frame | FrameError | undefined {
    const hl = this.pcapRecordHeader;
    if (q.available < hl) return undefined;
    const le = this.pcapLE;
    const caplen = q.u32(8, le);
    if (caplen > this.pcapMaxCaplen) {
      return error(`pcap record ${this.frames}: captured length ${caplen} exceeds the limit ${this.pcapMaxCaplen} (corrupt data)`);
    }
    if (q.available < hl + caplen) return undefined;
    this.frames++;
    const f = this.frame('packet', hl + caplen, 0);
    f.linkType = this.pcapLinkType;
    f.capturedLength = caplen;
    f.originalLength = q.u32(12, le);
    f.dataOffset = hl;
    f.tsHigh = q.u32(0, le);
    f.tsLow = q.u32(4, le);
    f.scale = this.pcapScale;
    return f;
  }

  private sectionHeader(q: ByteQueue): Frame | FrameError | undefined {
    if (this.format === 'pcap') return error(`pcapng block inside a pcap stream after ${this.frames} records`);
    if (q.available < 12) return undefined;
    const bom = q.u32(8, true);
    let le: boolean;
    if (bom === PCAPNG_BYTE_ORDER_MAGIC) le = true;
    else if (bom === swap32(PCAPNG_BYTE_ORDER_MAGIC)) le = false;
    else return error(`pcapng section header ${this.frames}: bad byte-order magic 0x${hex(bom)}`);
    const len = q.u32(4, le);
    const bad = checkBlockLength(len, 28);
    if (bad) return error(`pcapng section header at block ${this.frames}: ${bad}`);
    if (q.available < len) return undefined;
    if (q.u32(len - 4, le) !== len) return error(`pcapng section header at block ${this.frames}: trailing length differs`);
    const major = q.u16(12, le);
    if (major !== 1) return error(`unsupported pcapng version ${major}.${q.u16(14, le)}`);
    this.format = 'pcapng';
    this.ngLE = le;
    this.interfaces = [];
    this.frames++;
    return this.frame('shb', len, BlockType.SectionHeader);
  }

  private pcapngBlock(q: ByteQueue): Frame | FrameError | undefined {
    if (q.available < 8) return undefined;
    const le = this.ngLE;
    const type = q.u32(0, le);
    const len = q.u32(4, le);
    const bad = checkBlockLength(len, 12);
    if (bad) return error(`pcapng block ${this.frames} (type 0x${hex(type)}): ${bad}`);
    if (q.available < len) return undefined;
    if (q.u32(len - 4, le) !== len) {
      return error(`pcapng block ${this.frames} (type 0x${hex(type)}): trailing length differs from ${len} (corrupt data)`);
    }
    this.frames++;
    switch (type) {
      case BlockType.InterfaceDescription:
        return this.interfaceDescription(q, len);
      case BlockType.EnhancedPacket:
        return this.packetBlock(q, len, type, q.u32(8, le), 28);
      case BlockType.Packet:
        return this.packetBlock(q, len, type, q.u16(8, le), 28);
      case BlockType.SimplePacket:
        return this.simplePacket(q, len);
      case BlockType.DecryptionSecrets:
        return this.frame('section-block', len, type);
      default:
        return this.frame('block', len, type);
    }
  }

  private interfaceDescription(q: ByteQueue, len: number): Frame {
    const f = this.frame('section-block', len, BlockType.InterfaceDescription);
    if (len < 20) {
      f.problem = `pcapng interface block ${this.frames - 1} is too short (${len} bytes)`;
      // keep interface numbering aligned with what other readers see
      this.interfaces.push({ linkType: 0, snaplen: 0, scale: new PcapngTimestampScale() });
      return f;
    }
    const le = this.ngLE;
    const block = q.peek(len);
    let tsresol = 6;
    let offset = 0n;
    forEachOption(block, 16, len - 4, le, (code, value) => {
      if (code === 9 && value.length >= 1) tsresol = value[0]!;
      if (code === 14 && value.length >= 8) offset = le ? value.readBigInt64LE(0) : value.readBigInt64BE(0);
    });
    let scale: PcapngTimestampScale;
    if ((tsresol & 0x80 ? tsresol & 0x7f : tsresol) > 60) {
      f.problem = `pcapng interface ${this.interfaces.length}: unusable if_tsresol ${tsresol}, microseconds assumed`;
      scale = new PcapngTimestampScale(6, offset);
    } else {
      scale = new PcapngTimestampScale(tsresol, offset);
    }
    this.interfaces.push({
      linkType: le ? block.readUInt16LE(8) : block.readUInt16BE(8),
      snaplen: le ? block.readUInt32LE(12) : block.readUInt32BE(12),
      scale,
    });
    return f;
  }

  /** EPB and the obsolete PB share their layout after the interface field. */
  private packetBlock(q: ByteQueue, len: number, type: number, interfaceId: number, dataOffset: number): Frame {
    const f = this.frame('packet', len, type);
    if (len < 32) {
      f.problem = `pcapng packet block ${this.frames - 1} is too short (${len} bytes)`;
      return f;
    }
    const le = this.ngLE;
    const iface = this.interfaces[interfaceId];
    f.interfaceId = interfaceId;
    f.tsHigh = q.u32(12, le);
    f.tsLow = q.u32(16, le);
    f.capturedLength = q.u32(20, le);
    f.originalLength = q.u32(24, le);
    f.dataOffset = dataOffset;
    if (iface === undefined) {
      f.problem = `pcapng packet block ${this.frames - 1}: unknown interface ${interfaceId}`;
    } else {
      f.linkType = iface.linkType;
      f.scale = iface.scale;
    }
    if (dataOffset + f.capturedLength + 4 > len) {
      f.problem = `pcapng packet block ${this.frames - 1}: captured length ${f.capturedLength} exceeds the block`;
    }
    return f;
  }

  private simplePacket(q: ByteQueue, len: number): Frame {
    const f = this.frame('packet', len, BlockType.SimplePacket);
    const iface = this.interfaces[0];
    if (len < 16 || iface === undefined) {
      f.problem = `pcapng simple packet block ${this.frames - 1}: ${iface ? 'too short' : 'no interface 0'}`;
      return f;
    }
    f.originalLength = q.u32(8, this.ngLE);
    f.dataOffset = 12;
    f.linkType = iface.linkType;
    // The block carries no captured length: the original length clipped by snaplen and the block.
    let cap = Math.min(f.originalLength, len - 16);
    if (iface.snaplen > 0) cap = Math.min(cap, iface.snaplen);
    f.capturedLength = cap;
    return f;
  }
}

function error(message: string): FrameError {
  return { kind: 'error', message };
}

function checkBlockLength(len: number, min: number): string | undefined {
  if (len < min) return `block length ${len} is below the minimum ${min} (corrupt data)`;
  if (len % 4 !== 0) return `block length ${len} is not a multiple of 4 (corrupt data)`;
  if (len > MAX_FRAME_BYTES) return `block length ${len} exceeds the limit ${MAX_FRAME_BYTES} (corrupt data)`;
  return undefined;
}

/** Walks pcapng options (code, length, value padded to 4) between `start` and `end`. */
export function forEachOption(
  block: Buffer,
  start: number,
  end: number,
  le: boolean,
  visit: (code: number, value: Buffer) => void,
): void {
  let o = start;
  while (o + 4 <= end) {
    const code = le ? block.readUInt16LE(o) : block.readUInt16BE(o);
    const vlen = le ? block.readUInt16LE(o + 2) : block.readUInt16BE(o + 2);
    if (code === 0 || o + 4 + vlen > end) return; // opt_endofopt, or a damaged option list
    visit(code, block.subarray(o + 4, o + 4 + vlen));
    o += 4 + ((vlen + 3) & ~3);
  }
}

function hex(v: number): string {
  return v.toString(16).padStart(8, '0');
}
