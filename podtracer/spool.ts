// The local spool is the tool's output file itself: a segment stays there, as a byte range (plus
// the few header bytes the file does not hold at that place), until the collector confirmed it.
// Nothing is written to disk a second time: at full capture rates a copy of every byte, written
// and fsync'd, cost the node as much CPU and disk as the capture itself. Segments are also kept in
// memory while a budget has room (when uploads keep up, that is all of them), so the uploader
// usually sends them without reading the file.
// Bounded: a segment that does not fit is dropped at once, counted, and its range punched out.
import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Segment, StreamFormat } from '../lib/pcap/index.js';
import { writeFileSynced } from './file-write.js';
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
  private nextSequence = 0;
  /** Memory held by kept segments, counted by the buffers their parts are views of (a part may
   *  be a small view of a 4 MiB read buffer, which stays alive as long as the view does). */
  private readonly buffers = new Map<ArrayBufferLike, number>();
  private inMemory = 0;
  /** dropped segments' ranges not punched yet (adjacent ones merged), punched a step at a time */
  private pendingDrops: { start: number; end: number }[] = [];
  private pendingDropBytes = 0;
  /** a segment was kept after the last dropped one: the next drop must not be merged across it */
  private keptSinceDrop = false;

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
    const hash = createHash('sha256');
    for (const p of segment.parts) hash.update(p);
    const keep = source.end === source.start || this.inMemory + this.newBufferBytes(segment.parts) <= this.memoryMaxBytes;
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
    this.keptSinceDrop = true;
    if (keep) this.hold(segment.parts, 1);
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
   * chunks of `chunkBytes`. A read failure, or bytes that do not hash to the entry's sha256 (found
   * after the last chunk, so that an upload fed from here is cancelled, not completed), is thrown
   * as a SpoolReadError.
   */
  async *readChunks(entry: SpoolEntry, chunkBytes: number): AsyncGenerator<Buffer> {
    if (entry.parts) {
      yield* entry.parts;
      return;
    }
    const hash = createHash('sha256').update(entry.head);
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
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        yield chunk;
      }
    } catch (err) {
      throw new SpoolReadError(`spooled segment ${entry.sequence} cannot be read from ${this.file}: ${(err as Error).message}`);
    } finally {
      await fh?.close();
    }
    if (hash.digest('hex') !== entry.sha256) {
      throw new SpoolReadError(`spooled segment ${entry.sequence} read back from ${this.file} differs from what was spooled`);
    }
  }

  /** Removes a confirmed entry and frees its room (its range is punched out by the reader of the
   *  output file, which alone knows which bytes no later segment needs). */
  remove(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.used -= entry.bytes;
    if (entry.parts) this.hold(entry.parts, -1);
    entry.parts = undefined;
  }

  /**
   * Writes every entry still spooled as a file of its own (`NNNNNN.seg`, a valid capture or text
   * file) with a JSON sidecar, so that what could not be uploaded outlives the output file; each
   * saved range is punched out of the output file at once, so saving needs about one segment of
   * extra disk. An entry that cannot be saved (no space, say) gets a sidecar that says where its
   * bytes are in the output file instead, and the output file must then be kept.
   */
  async saveUnsent(dir: string, sidecar: (entry: SpoolEntry) => Record<string, unknown>): Promise<{ saved: number; failed: number; firstError?: string }> {
    let saved = 0;
    let failed = 0;
    let firstError: string | undefined;
    for (const entry of this.entries) {
      const name = join(dir, String(entry.sequence).padStart(6, '0'));
      const fields = { ...sidecar(entry), sequence: entry.sequence, format: entry.format, bytes: entry.bytes, sha256: entry.sha256, records: entry.records };
      try {
        await writeFileSynced(`${name}.seg`, 0o600, this.readChunks(entry, 1024 * 1024));
        await writeFileSynced(`${name}.json`, 0o600, [Buffer.from(JSON.stringify(fields))]);
        this.puncher.punch(entry.start, entry.end);
        saved++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
        await unlink(`${name}.seg`).catch(() => undefined);
        const where = { outputFile: this.file, start: entry.start, end: entry.end, headBase64: entry.head.toString('base64') };
        await writeFileSynced(`${name}.json`, 0o600, [Buffer.from(JSON.stringify({ ...fields, notSaved: (err as Error).message, source: where }))]).catch(() => undefined);
      }
    }
    return firstError === undefined ? { saved, failed } : { saved, failed, firstError };
  }

  /** Bytes of the buffers under `parts` that no kept segment holds yet. */
  private newBufferBytes(parts: readonly Buffer[]): number {
    let n = 0;
    const seen = new Set<ArrayBufferLike>();
    for (const p of parts) {
      if (!this.buffers.has(p.buffer) && !seen.has(p.buffer)) n += p.buffer.byteLength;
      seen.add(p.buffer);
    }
    return n;
  }

  /** Counts (+1) or releases (-1) one kept segment's hold on the buffers under its parts. */
  private hold(parts: readonly Buffer[], delta: 1 | -1): void {
    for (const buf of new Set(parts.map((p) => p.buffer))) {
      const count = (this.buffers.get(buf) ?? 0) + delta;
      if (count > 0) {
        if (!this.buffers.has(buf)) this.inMemory += buf.byteLength;
        this.buffers.set(buf, count);
      } else {
        this.buffers.delete(buf);
        this.inMemory -= buf.byteLength;
      }
    }
  }

  private dropRange(start: number, end: number): void {
    if (end <= start) return;
    // consecutive dropped segments' ranges touch (or are 24 bytes apart, a new pcapng section's
    // SHB, which the next segment carries in its head): merged, they are one punch
    const last = this.pendingDrops[this.pendingDrops.length - 1];
    if (last && !this.keptSinceDrop && start >= last.end && start - last.end <= 64) last.end = end;
    else this.pendingDrops.push({ start, end });
    this.keptSinceDrop = false;
    this.pendingDropBytes += end - start;
    // a step at a time, like the reader's punches (each punch briefly blocks the tool's writes)
    if (this.pendingDropBytes >= this.puncher.stepBytes) {
      for (const r of this.pendingDrops) this.puncher.punch(r.start, r.end);
      this.pendingDrops = [];
      this.pendingDropBytes = 0;
    }
  }
}
