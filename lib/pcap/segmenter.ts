// Cuts a tool's stdout (a pcap or pcapng stream, or text) into self-contained segments: every
// segment of a capture is a valid capture file on its own (the section's header blocks are
// repeated at its start) and holds only whole records; text segments hold whole lines.
// Work is O(bytes): records are framed in place in a ByteQueue, and a segment's parts are views
// of the pushed chunks (no copy of the bulk).
import { ByteQueue } from './byte-queue.js';
import { BlockType, MAX_FRAME_BYTES } from './constants.js';
import { FrameDecoder, type Frame } from './frame-decoder.js';
import { sniffFormat } from './sniff.js';
import type { TimestampScale } from './timestamp.js';
import { segmentOf, type Segment, type SegmentSource, type StreamFormat } from './types.js';

export interface SegmenterOptions {
  /** a segment's data never exceeds this unless one record alone does */
  maxBytes: number;
  /** default 'auto': sniff the first bytes (pcap/pcapng magic, else text). 'text' is taken as
   *  given; a forced 'pcap' or 'pcapng' yields to the magic number the stream starts with. */
  format?: StreamFormat | 'auto';
}

const EMPTY = Buffer.alloc(0);
const NEWLINE = 0x0a;

export class Segmenter {
  private readonly maxBytes: number;
  private fmt: StreamFormat | undefined;
  private readonly q = new ByteQueue();
  private readonly decoder = new FrameDecoder();
  /** chunks held until the format is known (auto mode) */
  private sniffChunks: Buffer[] = [];
  private sniffBytes = 0;
  /** header blocks of the current section (pcap header, or SHB + IDBs + DSBs) for future segments */
  private prefix: Buffer = EMPTY;
  /** the prefix as it was when the current segment began; emitted before the body */
  private lead: Buffer = EMPTY;
  /** the body (queue bytes before the cursor) holds records or other non-header content */
  private bodyContent = false;
  private bodyRecords = 0;
  private firstTs: bigint | undefined;
  private lastScale: TimestampScale | undefined;
  private lastHigh = 0;
  private lastLow = 0;
  private damagedReason: string | undefined;
  private ended = false;
  private segments = 0;
  /** stream offset of the queue's first byte: everything before it is in emitted segments */
  private taken = 0;

  constructor(opts: SegmenterOptions) {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1) {
      throw new RangeError(`Segmenter: maxBytes must be a positive integer, got ${String(opts.maxBytes)}`);
    }
    const format = opts.format ?? 'auto';
    if (!['auto', 'pcap', 'pcapng', 'text'].includes(format)) {
      throw new RangeError(`Segmenter: unknown format ${JSON.stringify(format)}`);
    }
    this.maxBytes = opts.maxBytes;
    this.fmt = format === 'auto' ? undefined : format;
  }

  /** known after the first bytes (or from the options) */
  get format(): StreamFormat | undefined {
    return this.fmt;
  }

  /** bytes buffered but not yet emitted */
  get pendingBytes(): number {
    return this.sniffBytes + this.q.length;
  }

  /** Why the stream stopped being decodable, if it did (segments are then cut by size only). */
  get damaged(): string | undefined {
    return this.damagedReason;
  }

  /** segments emitted so far */
  get emitted(): number {
    return this.segments;
  }

  /** Stream offset up to which every byte is in an emitted segment (or was header-only); the
   *  bytes from here on are still buffered and will be in future segments. */
  get emittedUpTo(): number {
    return this.taken;
  }

  /**
   * Feed the next chunk; returns the segments the size limit completed (zero or more). Segments
   * share memory with the chunks (no copy), so a chunk must not be reused or changed afterwards.
   */
  push(chunk: Buffer): Segment[] {
    if (this.ended) throw new Error('Segmenter: push() after end()');
    const out: Segment[] = [];
    if (chunk.length === 0) return out;
    if (this.fmt !== undefined) {
      this.feed(chunk, out);
      return out;
    }
    this.sniffChunks.push(chunk);
    this.sniffBytes += chunk.length;
    const format = sniffFormat(Buffer.concat(this.sniffChunks));
    if (format === undefined) return out;
    this.fmt = format;
    const held = this.sniffChunks;
    this.sniffChunks = [];
    this.sniffBytes = 0;
    for (const c of held) this.feed(c, out);
    return out;
  }

  /** Time rotation: a segment of everything complete now (undefined if no record yet); an
   *  incomplete trailing record stays buffered for the next segment. */
  cut(): Segment | undefined {
    if (this.ended || this.fmt === undefined) return undefined;
    if (this.damagedReason !== undefined) return this.q.cursor > 0 ? this.emit() : undefined;
    return this.bodyRecords > 0 ? this.emit() : undefined;
  }

  /** End of stream: the last segment. A trailing partial record is dropped and its size
   *  reported; in text, a last line without a newline is kept (together with the complete
   *  lines before it, so call cut() first if the size limit must hold strictly). */
  end(): { segment?: Segment; truncatedBytes: number } {
    if (this.ended) return { truncatedBytes: 0 };
    this.ended = true;
    if (this.fmt === undefined) {
      // fewer than 4 bytes that could have begun a magic number: it was text after all
      if (this.sniffBytes === 0) return { truncatedBytes: 0 };
      const data = Buffer.concat(this.sniffChunks);
      this.sniffChunks = [];
      this.sniffBytes = 0;
      this.fmt = 'text';
      this.segments++;
      this.taken = data.length;
      const source: SegmentSource = { head: EMPTY, start: 0, end: data.length };
      return { segment: segmentOf([data], { format: 'text', records: countLines(data), source }), truncatedBytes: 0 };
    }
    if (this.fmt === 'text' || this.damagedReason !== undefined) {
      if (this.q.available > 0) {
        if (this.fmt === 'text') this.bodyRecords++;
        this.q.advance(this.q.available);
      }
      return this.q.cursor > 0 ? { segment: this.emit(), truncatedBytes: 0 } : { truncatedBytes: 0 };
    }
    const truncatedBytes = this.q.available;
    if (this.q.cursor > 0) return { segment: this.emit(), truncatedBytes };
    return { truncatedBytes };
  }

  private feed(chunk: Buffer, out: Segment[]): void {
    this.q.push(chunk);
    if (this.damagedReason !== undefined) this.feedRaw(out);
    else if (this.fmt === 'text') this.feedText(chunk, out);
    else this.feedFrames(out);
  }

  private feedFrames(out: Segment[]): void {
    for (;;) {
      const f = this.decoder.next(this.q);
      if (f === undefined) return;
      if (f.kind === 'error') {
        this.becomeDamaged(f.message, out);
        return;
      }
      if (f.kind === 'pcap-header' || f.kind === 'shb') {
        // A forced pcap/pcapng format yields to what the magic number says.
        const actual = f.kind === 'shb' ? 'pcapng' : 'pcap';
        if (this.fmt !== actual) {
          if (this.q.cursor > 0) out.push(this.emit());
          this.fmt = actual;
        }
        // A new section starts a new segment, which begins with the section's own header.
        if (this.q.cursor > 0) out.push(this.emit());
        this.lead = EMPTY;
        this.prefix = Buffer.from(this.q.peek(f.length));
        this.q.advance(f.length);
        continue;
      }
      this.addFrame(f, out);
    }
  }

  private addFrame(f: Frame, out: Segment[]): void {
    if (this.bodyContent && this.lead.length + this.q.cursor + f.length > this.maxBytes) out.push(this.emit());
    if (f.kind === 'section-block') {
      this.prefix = Buffer.concat([this.prefix, this.q.peek(f.length)]);
    } else {
      this.bodyContent = true;
      if (f.kind === 'packet') {
        this.bodyRecords++;
        if (f.scale !== undefined) {
          if (this.firstTs === undefined) this.firstTs = f.scale.toNs(f.tsHigh, f.tsLow);
          this.lastScale = f.scale;
          this.lastHigh = f.tsHigh;
          this.lastLow = f.tsLow;
        }
      }
    }
    this.q.advance(f.length);
    if (this.bodyContent && this.lead.length + this.q.cursor >= this.maxBytes) out.push(this.emit());
  }

  private feedText(chunk: Buffer, out: Segment[]): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, from);
      if (nl < 0) break;
      // the chunk is the queue's tail, so its offsets map to queue positions from the end
      const lineEnd = this.q.length - (chunk.length - (nl + 1));
      const len = lineEnd - this.q.cursor;
      if (this.bodyContent && this.q.cursor + len > this.maxBytes) out.push(this.emit());
      this.q.advance(len);
      this.bodyRecords++;
      this.bodyContent = true;
      if (this.q.cursor >= this.maxBytes) out.push(this.emit());
      from = nl + 1;
    }
    // A "line" that never ends (binary output) must not grow without bound: cut it.
    if (this.q.available > Math.max(this.maxBytes, MAX_FRAME_BYTES)) {
      if (this.q.cursor > 0) out.push(this.emit());
      this.q.advance(this.q.available);
      this.bodyRecords++;
      out.push(this.emit());
    }
  }

  private becomeDamaged(reason: string, out: Segment[]): void {
    if (this.q.cursor > 0) out.push(this.emit());
    this.damagedReason = reason;
    this.prefix = EMPTY;
    this.lead = EMPTY;
    this.feedRaw(out);
  }

  /** After damage: pass the bytes on as they are, cut only by size. */
  private feedRaw(out: Segment[]): void {
    while (this.q.available > 0) {
      this.q.advance(Math.min(this.q.available, this.maxBytes - this.q.cursor));
      if (this.q.cursor >= this.maxBytes) out.push(this.emit());
    }
  }

  private emit(): Segment {
    // The segment shares memory with the chunks pushed (no copy of the bulk: at capture rates the
    // copy, and the page faults of its fresh buffer, cost more than everything else together).
    const bodyStart = this.taken;
    const bodyBytes = this.q.cursor;
    this.taken += bodyBytes;
    const parts = this.q.take();
    const leadBytes = this.lead.length;
    if (leadBytes > 0) parts.unshift(this.lead);
    const patched = this.fmt === 'pcapng' && this.damagedReason === undefined ? markSectionLengthUnknown(parts) : 0;
    // the head: the lead, or the patched bytes when they reach past it (the first segment's SHB)
    const headBytes = Math.max(leadBytes, patched);
    const source: SegmentSource = { head: leading(parts, headBytes), start: bodyStart + headBytes - leadBytes, end: bodyStart + bodyBytes };
    const seg: Segment = segmentOf(parts, { format: this.fmt!, records: this.bodyRecords, source });
    if (this.firstTs !== undefined) seg.firstTimestampNs = this.firstTs;
    if (this.lastScale !== undefined) seg.lastTimestampNs = this.lastScale.toNs(this.lastHigh, this.lastLow);
    if (this.damagedReason !== undefined) seg.damaged = this.damagedReason;
    this.lead = this.prefix;
    this.bodyContent = false;
    this.bodyRecords = 0;
    this.firstTs = undefined;
    this.lastScale = undefined;
    this.segments++;
    return seg;
  }
}

/**
 * Every pcapng segment begins with its section's SHB, whose section length would describe the
 * whole original section: it is set to unknown (-1, all ones in either byte order). The SHB's
 * first 24 bytes are replaced by a patched copy, so the pushed chunks are never written to.
 * Returns how many leading bytes were replaced (24, or 0 when there is no SHB to patch).
 */
function markSectionLengthUnknown(parts: Buffer[]): number {
  const head = Buffer.alloc(24);
  let filled = 0;
  for (const p of parts) {
    filled += p.copy(head, filled, 0, Math.min(p.length, 24 - filled));
    if (filled === 24) break;
  }
  if (filled < 24 || head.readUInt32BE(0) !== BlockType.SectionHeader) return 0;
  head.fill(0xff, 16, 24);
  let skip = 24;
  while (skip > 0) {
    const first = parts[0]!;
    if (first.length <= skip) {
      parts.shift();
      skip -= first.length;
    } else {
      parts[0] = first.subarray(skip);
      skip = 0;
    }
  }
  parts.unshift(head);
  return 24;
}

/** The first `n` bytes of `parts` as one Buffer (a view when they lie in the first part). */
function leading(parts: readonly Buffer[], n: number): Buffer {
  if (n === 0) return EMPTY;
  if (parts[0]!.length >= n) return parts[0]!.subarray(0, n);
  const out = Buffer.allocUnsafe(n);
  let filled = 0;
  for (const p of parts) {
    filled += p.copy(out, filled, 0, Math.min(p.length, n - filled));
    if (filled === n) break;
  }
  return out;
}

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, i + 1)) n++;
  return data.length > 0 && data[data.length - 1] !== NEWLINE ? n + 1 : n;
}
