// The local spool: every segment is written to disk (data file + JSON sidecar, fsync'd) before it
// is uploaded, and removed only after the collector confirmed it. Bounded: a segment that does
// not fit is dropped at once and counted, so reading the tool's output never waits for storage.
import { createHash } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
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

async function writeDurably(path: string, data: Buffer | string): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.writeFile(data);
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
  add(data: Buffer, format: StreamFormat, records: number, extra: Record<string, unknown> = {}): SpoolEntry | undefined {
    if (data.length > 0 && this.used + data.length > this.maxBytes) {
      this.droppedSegments++;
      this.droppedBytes += data.length;
      return undefined;
    }
    const sequence = this.nextSequence++;
    const name = String(sequence).padStart(6, '0');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const dataPath = join(this.dir, `${name}.seg`);
    const metaPath = join(this.dir, `${name}.json`);
    // a header in the sidecar gets its sequence number here, where the number is assigned
    const header = typeof extra.header === 'object' && extra.header !== null ? { ...extra.header, sequence } : undefined;
    const meta = JSON.stringify({ ...extra, ...(header ? { header } : {}), sequence, format, bytes: data.length, sha256, records });
    this.used += data.length;
    this.pendingWriteBytes += data.length;
    // Writes are chained so files appear in sequence order; each waits for the previous one.
    const written = this.chain.then(async () => {
      await writeDurably(dataPath, data);
      await writeDurably(metaPath, meta);
      await syncDir(this.dir);
    });
    this.chain = written.catch(() => undefined).then(() => {
      this.pendingWriteBytes -= data.length;
    });
    const entry: SpoolEntry = { sequence, format, bytes: data.length, sha256, records, dataPath, metaPath, written };
    this.entries.push(entry);
    return entry;
  }

  read(entry: SpoolEntry): Promise<Buffer> {
    return readFile(entry.dataPath);
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
