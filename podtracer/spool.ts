// The local spool: every segment is written to disk (data file + JSON sidecar, fsync'd) before it
// is uploaded, and removed only after the collector confirmed it. Bounded: a segment that does
// not fit is dropped at once and counted, so reading the tool's output never waits for storage.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamFormat } from '../lib/pcap/index.js';

export interface SpoolEntry {
  sequence: number;
  format: StreamFormat;
  bytes: number;
  sha256: string;
  records: number;
  dataPath: string;
  metaPath: string;
  /** settles when the files are durably written (rejects when they could not be) */
  written: Promise<void>;
}

/** Writes every byte of `parts` in order (writev, repeated for what a short write left). */
export async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  // bounded: every round writes at least one byte or throws
  for (let round = 0; rest.length > 0 && round < 1_000_000; round++) {
    let { bytesWritten } = await fh.writev(rest.slice(0, 1024));
    while (bytesWritten > 0 && rest.length > 0) {
      const first = rest[0]!;
      if (first.length <= bytesWritten) {
        bytesWritten -= first.length;
        rest = rest.slice(1);
      } else {
        rest = [first.subarray(bytesWritten), ...rest.slice(1)];
        bytesWritten = 0;
      }
    }
  }
}

async function writeDurably(path: string, data: readonly Buffer[] | string): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    if (typeof data === 'string') await fh.writeFile(data);
    else await writeAll(fh, data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

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
  private chain: Promise<void> = Promise.resolve();
  /** bytes handed to add() whose files are not written yet (they are held in memory) */
  pendingWriteBytes = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  get usedBytes(): number {
    return this.used;
  }

  /**
   * Takes a segment: assigns the next sequence number and queues its durable write; returns
   * undefined (and counts the loss) when the spool has no room for it.
   */
  add(parts: readonly Buffer[], format: StreamFormat, records: number, extra: Record<string, unknown> = {}): SpoolEntry | undefined {
    let length = 0;
    for (const p of parts) length += p.length;
    if (length > 0 && this.used + length > this.maxBytes) {
      this.droppedSegments++;
      this.droppedBytes += length;
      return undefined;
    }
    const sequence = this.nextSequence++;
    const name = String(sequence).padStart(6, '0');
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    const sha256 = hash.digest('hex');
    const dataPath = join(this.dir, `${name}.seg`);
    const metaPath = join(this.dir, `${name}.json`);
    // a header in the sidecar gets its sequence number here, where the number is assigned
    const header = typeof extra.header === 'object' && extra.header !== null ? { ...extra.header, sequence } : undefined;
    const meta = JSON.stringify({ ...extra, ...(header ? { header } : {}), sequence, format, bytes: length, sha256, records });
    this.used += length;
    this.pendingWriteBytes += length;
    // Writes are chained so files appear in sequence order; each waits for the previous one.
    const written = this.chain.then(async () => {
      await writeDurably(dataPath, parts);
      await writeDurably(metaPath, meta);
      await syncDir(this.dir);
    });
    this.chain = written.catch(() => undefined).then(() => {
      this.pendingWriteBytes -= length;
    });
    const entry: SpoolEntry = { sequence, format, bytes: length, sha256, records, dataPath, metaPath, written };
    this.entries.push(entry);
    return entry;
  }

  /**
   * The entry's bytes in chunks of `chunkBytes`, read as they are consumed (a whole segment read
   * at once was a fresh 32 MiB buffer per upload: page faults and garbage at capture rates).
   * A read failure is thrown as a SpoolReadError.
   */
  async *readChunks(entry: SpoolEntry, chunkBytes: number): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of createReadStream(entry.dataPath, { highWaterMark: chunkBytes })) yield chunk as Buffer;
    } catch (err) {
      throw new SpoolReadError(`spool file ${entry.dataPath} cannot be read: ${(err as Error).message}`);
    }
  }

  /** Removes a confirmed (or unrecoverable) entry and frees its room. */
  async remove(entry: SpoolEntry): Promise<void> {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.used -= entry.bytes;
    await Promise.all([unlink(entry.dataPath).catch(() => undefined), unlink(entry.metaPath).catch(() => undefined)]);
  }

  /** Forgets an entry whose write failed (its data is lost and counted as dropped). */
  async lose(entry: SpoolEntry): Promise<void> {
    this.droppedSegments++;
    this.droppedBytes += entry.bytes;
    await this.remove(entry);
  }

  /** Waits until every queued write settled. */
  async flushed(): Promise<void> {
    await this.chain;
  }
}
