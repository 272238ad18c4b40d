// The local spool is the tool's output file itself: a segment stays there, as a byte range (plus
// the few header bytes the file does not hold at that place), until the collector confirmed it.
// Nothing is written to disk a second time: at full capture rates a copy of every byte, written
// and fsync'd, cost the node as much CPU and disk as the capture itself. The newest segments are
// also kept in memory up to a budget, so the uploader usually sends them without reading the file.
// Bounded: a segment that does not fit is dropped at once, counted, and its range punched out.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Segment, StreamFormat } from '../lib/pcap/index.js';
import type { HolePuncher } from './hole-punch.js';

export interface SpoolEntry {
  sequence: number;
  format: StreamFormat;
  bytes: number;
  /** of the segment's bytes, computed when it was spooled: a reply matching it proves the bytes
   *  sent (from memory or read back from the file) were the segment's */
  sha256: string;
  records: number;
  /** the segment is `head` followed by the output file's bytes [start, end) */
  head: Buffer;
  start: number;
  end: number;
  /** the whole segment in memory while the memory budget allows, else undefined */
  parts: readonly Buffer[] | undefined;
}

const EMPTY = Buffer.alloc(0);

export class SpoolReadError extends Error {
  override name = 'SpoolReadError';
}

export class Spool {
  /** entries not yet confirmed, in sequence order */
  readonly entries: SpoolEntry[] = [];
  droppedSegments = 0;
  droppedBytes = 0;
  private used = 0;
  private inMemory = 0;
  private nextSequence = 0;
  /** consecutive dropped segments' ranges, punched out together in the puncher's steps */
  private dropRun: { start: number; end: number } | undefined;

  /** the tool's output file, which the segments' ranges refer to */
  readonly file: string;

  constructor(
    /** punches holes into the tool's output file (and names it) */
    private readonly puncher: HolePuncher,
    readonly maxBytes: number,
    /** segments also kept in memory, up to this many bytes, so uploads rarely read the file */
    readonly memoryMaxBytes: number,
  ) {
    this.file = puncher.path;
  }

  get usedBytes(): number {
    return this.used;
  }

  get memoryBytes(): number {
    return this.inMemory;
  }

  /**
   * Takes a segment: assigns the next sequence number; returns undefined (and counts the loss)
   * when the spool has no room for it. A segment without a source (not cut from the output file)
   * is held as a head alone.
   */
  add(segment: Segment): SpoolEntry | undefined {
    const source = segment.source ?? { head: segment.parts.length === 0 ? EMPTY : segment.data, start: 0, end: 0 };
    if (segment.bytes > 0 && this.used + segment.bytes > this.maxBytes) {
      this.droppedSegments++;
      this.droppedBytes += segment.bytes;
      this.dropRange(source.start, source.end);
      return undefined;
    }
    this.flushDropRun();
    const hash = createHash('sha256');
    for (const p of segment.parts) hash.update(p);
    const keep = source.end === source.start || this.inMemory + segment.bytes <= this.memoryMaxBytes;
    const entry: SpoolEntry = {
      sequence: this.nextSequence++,
      format: segment.format,
      bytes: segment.bytes,
      sha256: hash.digest('hex'),
      records: segment.records,
      head: source.head,
      start: source.start,
      end: source.end,
      parts: keep ? segment.parts : undefined,
    };
    this.used += entry.bytes;
    if (keep) this.inMemory += entry.bytes;
    this.entries.push(entry);
    return entry;
  }

  /** The lowest offset of the output file that a spooled segment still needs (Infinity: none). */
  neededFrom(): number {
    for (const e of this.entries) if (e.end > e.start) return e.start;
    return Infinity;
  }

  /**
   * The entry's bytes: from memory when held, else its head and then its range of the file in
   * chunks of `chunkBytes`. A read failure is thrown as a SpoolReadError.
   */
  async *readChunks(entry: SpoolEntry, chunkBytes: number): AsyncGenerator<Buffer> {
    if (entry.parts) {
      yield* entry.parts;
      return;
    }
    if (entry.head.length > 0) yield entry.head;
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.file, 'r');
      for (let pos = entry.start; pos < entry.end; ) {
        // a fresh buffer per chunk: the consumer may still hold the previous one
        const buf = Buffer.allocUnsafe(Math.min(chunkBytes, entry.end - pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) throw new Error(`the file ends at ${pos}, before ${entry.end}`);
        pos += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } catch (err) {
      throw new SpoolReadError(`spooled segment ${entry.sequence} cannot be read from ${this.file}: ${(err as Error).message}`);
    } finally {
      await fh?.close();
    }
  }

  /** Removes a confirmed entry and frees its room (its range is punched out by the reader of the
   *  output file, which alone knows which bytes no later segment needs). */
  remove(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.used -= entry.bytes;
    if (entry.parts) this.inMemory -= entry.bytes;
    entry.parts = undefined;
  }

  /**
   * Writes every entry still spooled as a file of its own (`NNNNNN.seg`, a valid capture or text
   * file) with a JSON sidecar, so that what could not be uploaded outlives the output file.
   * Returns how many were saved.
   */
  async saveUnsent(dir: string, sidecar: (entry: SpoolEntry) => Record<string, unknown>): Promise<number> {
    for (const entry of this.entries) {
      const name = join(dir, String(entry.sequence).padStart(6, '0'));
      const fh = await open(`${name}.seg`, 'w', 0o600);
      try {
        for await (const chunk of this.readChunks(entry, 1024 * 1024)) await fh.write(chunk);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const meta = { ...sidecar(entry), sequence: entry.sequence, format: entry.format, bytes: entry.bytes, sha256: entry.sha256, records: entry.records };
      const mh = await open(`${name}.json`, 'w', 0o600);
      try {
        await mh.writeFile(JSON.stringify(meta));
        await mh.sync();
      } finally {
        await mh.close();
      }
    }
    return this.entries.length;
  }

  /** Punches out what dropped segments still hold. */
  close(): void {
    this.flushDropRun();
  }

  private dropRange(start: number, end: number): void {
    if (end <= start) return;
    // consecutive segments' ranges touch (or are 24 bytes apart, a new pcapng section's SHB,
    // which the next segment carries in its head)
    const run = this.dropRun;
    if (run && start >= run.end && start - run.end <= 64) {
      run.end = end;
    } else {
      this.flushDropRun();
      this.dropRun = { start, end };
    }
    if (this.dropRun!.end - this.dropRun!.start >= this.puncher.stepBytes) this.flushDropRun();
  }

  private flushDropRun(): void {
    if (!this.dropRun) return;
    this.puncher.punch(this.dropRun.start, this.dropRun.end);
    this.dropRun = undefined;
  }
}
