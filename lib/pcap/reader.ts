// Streaming pcap/pcapng reading in constant memory. Bad data never throws: the packets before
// the damage are delivered and the result says what went wrong.
import { createReadStream } from 'node:fs';
import { ByteQueue } from './byte-queue.js';
import { BlockType, MAX_FRAME_BYTES } from './constants.js';
import { FrameDecoder, type Frame } from './frame-decoder.js';
import { isPcapMagic, sniffFormat } from './sniff.js';
import type { Packet, PacketRecord, ReadResult } from './types.js';

/** Keeps the error list small on a long damaged stream; the rest are counted. */
const MAX_ERRORS = 50;

/** A longer carry is kept as a view (copying it again on every chunk would be quadratic). */
const MAX_CARRY_COPY = 256 * 1024;

/** Incremental parser: push chunks as they come, get packets through the callback — a Packet
 *  object each, or (`forRecords`) one reused PacketRecord view. */
export class PacketParser {
  private readonly q = new ByteQueue();
  private readonly decoder = new FrameDecoder();
  private packets = 0;
  private readonly errors: string[] = [];
  private extraErrors = 0;
  /** pcap records whose sub-second field is a second or more (see timestamp.ts) */
  private badFractions = 0;
  private stopped = false;
  /** known from the magic number even when the header itself is incomplete */
  private format: 'pcap' | 'pcapng' | undefined;

  /** the view handed to a record callback, refilled for every packet */
  private readonly record: PacketRecord = {
    buffer: Buffer.alloc(0),
    offset: 0,
    capturedLength: 0,
    originalLength: 0,
    linkType: 0,
    interfaceId: 0,
    seconds: 0,
    nanos: 0,
    timestampUnknown: false,
  };

  /** With `onRecord`, packets go there as views and `onPacket` is never called. */
  constructor(
    private readonly onPacket: (p: Packet) => void,
    private readonly onRecord?: (r: PacketRecord) => void,
  ) {}

  /** A parser that hands every packet to `onRecord` as one reused view (valid only during the
   *  call): no Packet, no Buffer view and no BigInt per packet, for a caller that reads each
   *  packet once. */
  static forRecords(onRecord: (r: PacketRecord) => void): PacketParser {
    return new PacketParser(() => undefined, onRecord);
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    this.q.push(chunk);
    for (;;) {
      // Packets lying whole in one chunk are framed straight out of it; the queue only carries
      // a record split between chunks and whatever the decoder must look at itself.
      const format = this.decoder.format;
      if (format !== undefined) {
        const rest = this.q.takeWholeRest();
        if (rest !== undefined) {
          const stop = format === 'pcap' ? this.pcapRun(rest) : this.enhancedPacketRun(rest);
          if (stop === rest.length) return;
          this.q.push(stop === 0 ? rest : rest.subarray(stop));
        }
      }
      const f = this.decoder.next(this.q);
      if (f === undefined) break;
      if (f.kind === 'error') {
        this.error(f.message);
        this.stopped = true;
        break;
      }
      if (f.problem !== undefined) this.error(f.problem);
      else if (f.kind === 'packet') this.deliver(f);
      this.q.advance(f.length);
      this.q.drop();
    }
  }

  /** Like push, for a caller that wants to read into the same memory again: the packets
   *  delivered share memory with `chunk` and are valid only during the callback. Returns true
   *  when the parser still holds a view of `chunk` (a long record carried on to the next
   *  chunk), and the next read must then go to fresh memory; a short carry is copied. */
  pushReusable(chunk: Buffer): boolean {
    this.push(chunk);
    if (this.stopped || this.q.available === 0) return false;
    if (this.q.available > MAX_CARRY_COPY) return true;
    this.q.copyRest();
    return false;
  }

  /** The stream ended: what was read and what went wrong. */
  end(): ReadResult {
    let truncated = false;
    if (!this.stopped) {
      const left = this.q.available;
      const sniffed = left >= 4 ? sniffFormat(this.q.peek(4)) : undefined;
      if (this.decoder.format === undefined && (sniffed === 'pcap' || sniffed === 'pcapng')) {
        truncated = true;
        this.format = sniffed;
        this.error(`truncated: the input ends inside the ${sniffed === 'pcap' ? 'file header' : 'section header block'} (${left} bytes)`);
      } else if (this.decoder.format === undefined) {
        this.error(left === 0 ? 'empty input' : `not a pcap or pcapng stream (only ${left} bytes)`);
      } else if (left > 0) {
        truncated = true;
        this.error(`truncated: the input ends inside a ${this.decoder.format === 'pcap' ? 'record' : 'block'} (${left} bytes left over)`);
      }
    }
    this.stopped = true;
    return this.result(truncated);
  }

  /** Reading failed (e.g. the source errored): stop and report. */
  fail(message: string): ReadResult {
    this.error(message);
    this.stopped = true;
    return this.result(true);
  }

  private result(truncated: boolean): ReadResult {
    const errors = [...this.errors];
    if (this.badFractions > 0) {
      const unit = this.decoder.pcapLayout?.scale.fractionLimit === 1_000_000 ? 'microsecond field ≥ 10^6' : 'nanosecond field ≥ 10^9';
      errors.push(`${this.badFractions} records with a timestamp ${unit} (invalid; read as the end of their second)`);
    }
    if (this.extraErrors > 0) errors.push(`… and ${this.extraErrors} more errors`);
    return { format: this.decoder.format ?? this.format, packets: this.packets, errors, truncated };
  }

  private deliver(f: Frame): void {
    const limit = f.scale?.fractionLimit;
    if (limit !== undefined && f.tsLow >= limit) this.badFractions++;
    this.packets++;
    if (this.onRecord !== undefined) {
      const r = this.record;
      r.buffer = this.q.slice(f.dataOffset, f.dataOffset + f.capturedLength);
      r.offset = 0;
      r.capturedLength = f.capturedLength;
      r.originalLength = f.originalLength;
      r.linkType = f.linkType;
      r.interfaceId = f.interfaceId;
      if (f.scale === undefined) {
        r.seconds = 0;
        r.nanos = 0;
        r.timestampUnknown = true;
      } else {
        f.scale.split(f.tsHigh, f.tsLow, r);
        r.timestampUnknown = false;
      }
      this.onRecord(r);
      return;
    }
    // A Simple Packet Block has no timestamp: 0, as libpcap reports it.
    const p: Packet = {
      timestampNs: f.scale === undefined ? 0n : f.scale.toNs(f.tsHigh, f.tsLow),
      linkType: f.linkType,
      interfaceId: f.interfaceId,
      capturedLength: f.capturedLength,
      originalLength: f.originalLength,
      data: this.q.slice(f.dataOffset, f.dataOffset + f.capturedLength),
    };
    if (f.scale === undefined) p.timestampUnknown = true;
    this.onPacket(p);
  }

  /** Delivers the whole pcap records at the start of `buf` and returns where it stopped: at
   *  an incomplete record, a (possible) global header or a bad length, all left to the decoder,
   *  which frames them exactly as it would have framed the records delivered here. */
  private pcapRun(buf: Buffer): number {
    const layout = this.decoder.pcapLayout!;
    const { le, scale, linkType, maxCaplen } = layout;
    const fractionLimit = scale.fractionLimit ?? Infinity;
    const hl = layout.recordHeader;
    const end = buf.length;
    const onRecord = this.onRecord;
    const r = this.record;
    if (onRecord !== undefined) {
      r.buffer = buf;
      r.linkType = linkType;
      r.interfaceId = 0;
      r.timestampUnknown = false;
    }
    let o = 0;
    while (o + hl <= end) {
      // a timestamp that reads as a magic number may start a concatenated file's header
      if (isPcapMagic(((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0)) break;
      const caplen = u32(buf, o + 8, le);
      if (caplen > maxCaplen) break;
      const next = o + hl + caplen;
      if (next > end) break;
      this.decoder.frames++;
      this.packets++;
      const fraction = u32(buf, o + 4, le);
      if (fraction >= fractionLimit) this.badFractions++;
      if (onRecord !== undefined) {
        r.offset = o + hl;
        r.capturedLength = caplen;
        r.originalLength = u32(buf, o + 12, le);
        scale.split(u32(buf, o, le), fraction, r);
        onRecord(r);
        o = next;
        continue;
      }
      this.onPacket({
        timestampNs: scale.toNs(u32(buf, o, le), fraction),
        linkType,
        interfaceId: 0,
        capturedLength: caplen,
        originalLength: u32(buf, o + 12, le),
        data: buf.subarray(o + hl, next),
      });
      o = next;
    }
    return o;
  }

  /** The same for pcapng Enhanced Packet Blocks: stops at any other block, and at a block
   *  that is incomplete, damaged or names an unknown interface, all left to the decoder. */
  private enhancedPacketRun(buf: Buffer): number {
    const { le, interfaces } = this.decoder.pcapngLayout!;
    const end = buf.length;
    const onRecord = this.onRecord;
    const r = this.record;
    if (onRecord !== undefined) {
      r.buffer = buf;
      r.timestampUnknown = false;
    }
    let o = 0;
    while (o + 8 <= end) {
      if (u32(buf, o, le) !== BlockType.EnhancedPacket) break;
      const len = u32(buf, o + 4, le);
      // the decoder's checks: length bounds, multiple of 4, whole, trailing copy, fields inside
      if (len < 32 || len % 4 !== 0 || len > MAX_FRAME_BYTES || o + len > end) break;
      if (u32(buf, o + len - 4, le) !== len) break;
      const iface = interfaces[u32(buf, o + 8, le)];
      const caplen = u32(buf, o + 20, le);
      if (iface === undefined || 32 + caplen > len) break;
      this.decoder.frames++;
      this.packets++;
      if (onRecord !== undefined) {
        r.offset = o + 28;
        r.capturedLength = caplen;
        r.originalLength = u32(buf, o + 24, le);
        r.linkType = iface.linkType;
        r.interfaceId = u32(buf, o + 8, le);
        iface.scale.split(u32(buf, o + 12, le), u32(buf, o + 16, le), r);
        onRecord(r);
        o += len;
        continue;
      }
      this.onPacket({
        timestampNs: iface.scale.toNs(u32(buf, o + 12, le), u32(buf, o + 16, le)),
        linkType: iface.linkType,
        interfaceId: u32(buf, o + 8, le),
        capturedLength: caplen,
        originalLength: u32(buf, o + 24, le),
        data: buf.subarray(o + 28, o + 28 + caplen),
      });
      o += len;
    }
    return o;
  }

  private error(message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(message);
    else this.extraErrors++;
  }
}

export type ByteSource = AsyncIterable<Buffer | string | Uint8Array> | NodeJS.ReadableStream;

/** Reads a whole stream, calling onPacket for each packet. Resolves (never rejects on bad
 *  data or a failing source) with what was read; an exception thrown by onPacket propagates. */
export function readPackets(source: ByteSource, onPacket: (p: Packet) => void): Promise<ReadResult> {
  const state = { thrownByCallback: false };
  const parser = new PacketParser((p) => {
    try {
      onPacket(p);
    } catch (e) {
      state.thrownByCallback = true;
      throw e;
    }
  });
  return drain(source, parser, state);
}

/** The same with a record callback (see PacketParser.forRecords): one reused view per packet. */
export function readRecords(source: ByteSource, onRecord: (r: PacketRecord) => void): Promise<ReadResult> {
  const state = { thrownByCallback: false };
  const parser = PacketParser.forRecords((r) => {
    try {
      onRecord(r);
    } catch (e) {
      state.thrownByCallback = true;
      throw e;
    }
  });
  return drain(source, parser, state);
}

/** Pushes a whole stream through the parser; a callback's exception (`state`) propagates, a
 *  failing source ends the read with an error. */
async function drain(source: ByteSource, parser: PacketParser, state: { thrownByCallback: boolean }): Promise<ReadResult> {
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string | Uint8Array>) {
      parser.push(toBuffer(chunk));
    }
  } catch (e) {
    if (state.thrownByCallback) throw e;
    return parser.fail(`read error: ${errorMessage(e)}`);
  }
  return parser.end();
}

/** The same as an async iterator; its return value (after the last packet) is the ReadResult. */
export async function* iteratePackets(source: ByteSource): AsyncGenerator<Packet, ReadResult, undefined> {
  let batch: Packet[] = [];
  const parser = new PacketParser((p) => batch.push(p));
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string | Uint8Array>) {
      parser.push(toBuffer(chunk));
      const ready = batch;
      batch = [];
      yield* ready;
    }
  } catch (e) {
    return parser.fail(`read error: ${errorMessage(e)}`);
  }
  return parser.end();
}

/** Reads a file (any size; streamed). */
export function readPacketsFromFile(path: string, onPacket: (p: Packet) => void): Promise<ReadResult> {
  return readPackets(createReadStream(path), onPacket);
}

export interface ParsedCapture extends ReadResult {
  packetList: Packet[];
}

/** Parses a capture held in memory. */
export function parseCapture(buf: Buffer): ParsedCapture {
  const packetList: Packet[] = [];
  const parser = new PacketParser((p) => packetList.push(p));
  parser.push(buf);
  return { ...parser.end(), packetList };
}

/** An unsigned 32-bit field (the caller has checked the bounds). */
function u32(b: Buffer, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
    : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function toBuffer(chunk: Buffer | string | Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
