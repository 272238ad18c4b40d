// Where segments go: to the collector through the spool (UploadSink), or into a directory
// (DirectorySink, --output-dir). Both take segments without ever blocking the caller, which reads
// the tool's stdout: a tool like tcpdump drops packets when its output is not read.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_CHUNK_BYTES, createCollectorClient, isRetryableUploadError, uploadSegment, type CollectorClient } from '../lib/collector-client.js';
import type { Logger } from '../lib/log.js';
import type { Segment, StreamFormat } from '../lib/pcap/index.js';
import type { FormatName, SegmentHeader } from '../lib/proto.js';
import { writeFileSynced } from './file-write.js';
import type { HolePuncher } from './hole-punch.js';
import { EVIDENCE_OBJECT } from '../lib/storage-keys.js';
import { Spool, SpoolReadError, type SpoolEntry } from './spool.js';

export interface SinkResult {
  segments: number;
  bytes: number;
  /** packets (pcap/pcapng) or lines (text) in the stored segments */
  records: number;
  objects: string[];
  spoolDroppedSegments: number;
  spoolDroppedBytes: number;
  unsentSegments: number;
  uploadRetries: number;
  error?: string;
  /** the tool's output file still holds segments that could not be saved otherwise */
  keepOutputFile?: boolean;
}

export interface SegmentSink {
  /** Takes one segment; never waits. */
  accept(segment: Segment): void;
  /** Segments accepted so far (including dropped ones). */
  readonly accepted: number;
  /** No more segments: store what is left (the newest is the capture's last) and report. */
  finish(): Promise<SinkResult>;
  /** Stop retrying at once (a second termination signal). */
  abort(): void;
  /** Resolves when segments waiting in memory for the disk are below the limit (reading may go on). */
  waitForRoom(): Promise<void>;
  /** The lowest offset of the tool's output file that a taken segment still needs from the file
   *  (Infinity: none); the reader punches out what lies before it. */
  neededFrom(): number;
  /** Stores the target's evidence object (lib/evidence) beside the segments; before finish().
   *  Resolves to its key or path, or to the reason it could not be stored. Never rejects. */
  storeEvidence(body: Buffer): Promise<{ object: string } | { error: string }>;
}

/** Segments held in memory while their files are written; beyond this the reader waits. */
export const MAX_PENDING_WRITE_BYTES = 64 * 1024 * 1024;

async function waitUntil(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

const EXTENSION: Record<StreamFormat, string> = { pcap: 'pcap', pcapng: 'pcapng', text: 'txt' };
const FORMAT_NAME: Record<StreamFormat, FormatName> = { pcap: 'FORMAT_PCAP', pcapng: 'FORMAT_PCAPNG', text: 'FORMAT_TEXT' };

/** --output-dir: files 000000.pcap, 000001.pcap, … written in order and fsync'd. */
export class DirectorySink implements SegmentSink {
  accepted = 0;
  private chain: Promise<void>;
  private pendingWriteBytes = 0;
  private readonly objects: string[] = [];
  private bytes = 0;
  private records = 0;
  private error: string | undefined;

  constructor(private readonly dir: string) {
    this.chain = mkdir(dir, { recursive: true }).then(
      () => undefined,
      (err: Error) => {
        this.error = `cannot create ${dir}: ${err.message}`;
      },
    );
  }

  accept(segment: Segment): void {
    const sequence = this.accepted++;
    const path = join(this.dir, `${String(sequence).padStart(6, '0')}.${EXTENSION[segment.format]}`);
    this.pendingWriteBytes += segment.bytes;
    this.chain = this.chain.then(async () => {
      if (this.error) return;
      try {
        await writeFileSynced(path, 0o644, segment.parts);
        this.objects.push(path);
        this.bytes += segment.bytes;
        this.records += segment.records;
      } catch (err) {
        this.error = `cannot write ${path}: ${(err as Error).message}`;
      } finally {
        this.pendingWriteBytes -= segment.bytes;
      }
    });
  }

  waitForRoom(): Promise<void> {
    return waitUntil(() => this.pendingWriteBytes < MAX_PENDING_WRITE_BYTES);
  }

  /** the segments' bytes are in memory until written: nothing is needed from the output file */
  neededFrom(): number {
    return Infinity;
  }

  async finish(): Promise<SinkResult> {
    await this.chain;
    const result: SinkResult = {
      segments: this.objects.length,
      bytes: this.bytes,
      records: this.records,
      objects: [...this.objects],
      spoolDroppedSegments: 0,
      spoolDroppedBytes: 0,
      unsentSegments: this.accepted - this.objects.length,
      uploadRetries: 0,
    };
    if (this.error) result.error = this.error;
    return result;
  }

  abort(): void {}

  async storeEvidence(body: Buffer): Promise<{ object: string } | { error: string }> {
    await this.chain;
    const path = join(this.dir, EVIDENCE_OBJECT);
    try {
      await writeFileSynced(path, 0o644, [body]);
      return { object: path };
    } catch (err) {
      return { error: `cannot write ${path}: ${(err as Error).message}` };
    }
  }
}

export interface UploadSinkOptions {
  collector: string;
  /** names the tool's output file, which is the spool (see spool.ts), and punches holes into it */
  puncher: HolePuncher;
  /** where segments that could not be uploaded are saved as files in the end */
  spoolDir: string;
  spoolMaxBytes: number;
  /** spooled segments also kept in memory, up to this many bytes */
  spoolMemoryBytes: number;
  /** every header field except sequence, last and format */
  header: Omit<SegmentHeader, 'sequence' | 'last' | 'format'>;
  deadlineMs: number;
  /** after finish(): how long to keep retrying before giving up */
  graceMs: number;
  log: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** called once when uploading cannot go on: the collector refuses for good (bad token, bad
   *  names), or the spool cannot be read back; stop capturing */
  onFatal?: (message: string, reason: 'collector-refused' | 'spool-error') => void;
}

/** Refusals (bad token, bad names) fail at once; anything else is retried. */
const isRetryable = isRetryableUploadError;

/**
 * Spool + one sequential uploader per capture. The newest spooled segment is held back until a
 * newer one exists or the capture ended, so that the final upload can carry `last: true`.
 */
export class UploadSink implements SegmentSink {
  accepted = 0;
  private readonly spool: Spool;
  private readonly client: CollectorClient;
  private finished = false;
  private aborted = false;
  private giveUpAt = Infinity;
  private fatal: string | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly abortController = new AbortController();
  private readonly objects: string[] = [];
  private storedBytes = 0;
  private storedRecords = 0;
  private retries = 0;
  private readonly loop: Promise<void>;
  /** the header as the sidecar files of unsent segments record it (the token stays out of files) */
  private readonly sidecarHeader: Record<string, unknown>;

  constructor(private readonly opts: UploadSinkOptions) {
    this.spool = new Spool(opts.puncher, opts.spoolMaxBytes, opts.spoolMemoryBytes);
    const { token: _token, ...rest } = opts.header;
    this.sidecarHeader = rest;
    this.client = createCollectorClient(opts.collector, {
      // reconnect quickly after a collector restart instead of grpc's default of up to 2 minutes
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    this.loop = this.run().catch((err: unknown) => {
      // e.g. the output file cannot be read back: keep what is left and report it
      this.fatal = `uploader stopped: ${(err as Error).message}`;
      this.opts.log.error({ err: this.fatal }, 'uploader stopped');
      this.opts.onFatal?.(this.fatal, 'spool-error');
    });
  }

  accept(segment: Segment): void {
    this.accepted++;
    const entry = this.spool.add(segment);
    if (!entry) {
      this.opts.log.error(
        { bytes: segment.bytes, spoolBytes: this.spool.usedBytes, spoolMaxBytes: this.opts.spoolMaxBytes },
        'spool full: segment dropped',
      );
    } else {
      this.opts.log.info(
        { sequence: entry.sequence, bytes: entry.bytes, records: entry.records, spoolBytes: this.spool.usedBytes, inMemory: entry.parts !== undefined },
        'segment spooled',
      );
    }
    this.wake();
  }

  neededFrom(): number {
    return this.spool.neededFrom();
  }

  async finish(): Promise<SinkResult> {
    this.finished = true;
    this.giveUpAt = Date.now() + this.opts.graceMs;
    const timer = setTimeout(() => this.abortController.abort(), this.opts.graceMs + 1000);
    this.wake();
    await this.loop;
    clearTimeout(timer);
    this.client.close();
    let saveError: string | undefined;
    let keepOutputFile = false;
    if (this.spool.entries.length > 0) {
      // the output file goes away with the capture: what was not uploaded is kept as files
      try {
        await mkdir(this.opts.spoolDir, { recursive: true, mode: 0o700 });
        const { saved, failed, firstError } = await this.spool.saveUnsent(this.opts.spoolDir, (e) => ({
          header: { ...this.sidecarHeader, sequence: e.sequence, format: FORMAT_NAME[e.format] },
        }));
        this.opts.log.error({ spoolDir: this.opts.spoolDir, unsent: this.spool.entries.length, saved, failed }, 'segments not stored: saved in the spool directory');
        if (failed > 0) {
          keepOutputFile = true;
          saveError = `${failed} unsent segment(s) could not be saved as files (${firstError}); their sidecars say where they are in ${this.opts.puncher.path}, which is kept`;
        }
      } catch (err) {
        keepOutputFile = true;
        saveError = `unsent segments could not be saved: ${(err as Error).message}; ${this.opts.puncher.path} is kept`;
      }
    }
    const result: SinkResult = {
      segments: this.objects.length,
      bytes: this.storedBytes,
      records: this.storedRecords,
      objects: [...this.objects],
      spoolDroppedSegments: this.spool.droppedSegments,
      spoolDroppedBytes: this.spool.droppedBytes,
      unsentSegments: this.spool.entries.length,
      uploadRetries: this.retries,
    };
    if (this.fatal) result.error = this.fatal;
    else if (this.spool.entries.length > 0) result.error = `${this.spool.entries.length} segment(s) not stored before giving up`;
    if (saveError) result.error = `${result.error ?? ''}; ${saveError}`;
    if (keepOutputFile) result.keepOutputFile = true;
    return result;
  }

  /** nothing is written on the way (the output file is the spool): reading never waits */
  waitForRoom(): Promise<void> {
    return Promise.resolve();
  }

  abort(): void {
    this.aborted = true;
    this.abortController.abort();
    this.wake();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private waitForWork(): Promise<void> {
    return new Promise((resolve) => (this.wakeUp = resolve));
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abortController.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  async storeEvidence(body: Buffer): Promise<{ object: string } | { error: string }> {
    const header: SegmentHeader = { ...this.opts.header, sequence: 0, last: false, format: 'FORMAT_EVIDENCE' };
    let backoff = this.opts.initialBackoffMs ?? 250;
    const giveUpAt = Date.now() + this.opts.graceMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = await uploadSegment(this.client, header, body, { deadlineMs: this.opts.deadlineMs, signal: this.abortController.signal });
        if (Number(reply.bytes) === body.length) {
          this.opts.log.info({ key: reply.key, bytes: body.length, attempt }, 'evidence stored');
          return { object: reply.key };
        }
      } catch (err) {
        const why = (err as grpc.ServiceError).details ?? String(err);
        if (!isRetryable(err) || this.aborted || Date.now() >= giveUpAt) return { error: `evidence not stored: ${why}` };
        this.opts.log.warn({ attempt, err: why }, 'evidence upload failed: retrying');
      }
      if (this.aborted || Date.now() >= giveUpAt) return { error: 'evidence not stored: the collector did not confirm it' };
      await this.sleep(Math.min(backoff * (0.5 + Math.random() * 0.5), Math.max(0, giveUpAt - Date.now())));
      backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 5000);
    }
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.fatal || this.aborted) return;
      const entry = this.spool.entries[0];
      if (!entry) {
        if (this.finished) return;
        await this.waitForWork();
        continue;
      }
      const newest = this.spool.entries.length === 1;
      if (newest && !this.finished) {
        await this.waitForWork();
        continue;
      }
      const stored = await this.uploadWithRetries(entry);
      if (!stored) return;
    }
  }

  private async uploadWithRetries(entry: SpoolEntry): Promise<boolean> {
    let backoff = this.opts.initialBackoffMs ?? 250;
    const maxBackoff = this.opts.maxBackoffMs ?? 5000;
    for (let attempt = 1; ; attempt++) {
      // `last` is decided per attempt: a segment retried after the capture ended may become the last
      const last = this.finished && this.spool.entries.length === 1 && this.spool.entries[0] === entry;
      const header: SegmentHeader = { ...this.opts.header, sequence: entry.sequence, last, format: FORMAT_NAME[entry.format] };
      try {
        // from memory, or read from the output file again on every attempt, a chunk at a time
        const reply = await uploadSegment(this.client, header, this.spool.readChunks(entry, DEFAULT_CHUNK_BYTES), {
          deadlineMs: this.opts.deadlineMs,
          signal: this.abortController.signal,
          sha256: entry.sha256,
        });
        // entry.sha256 was computed from the segment when it was spooled: a reply that matches it
        // proves the stored object is the segment (and that the output file read back was intact)
        if (Number(reply.bytes) === entry.bytes && reply.sha256 === entry.sha256) {
          this.objects.push(reply.key);
          this.storedBytes += entry.bytes;
          this.storedRecords += entry.records;
          this.spool.remove(entry);
          this.opts.log.info({ sequence: entry.sequence, key: reply.key, bytes: entry.bytes, last, attempt }, 'segment stored');
          return true;
        }
        this.opts.log.warn(
          { sequence: entry.sequence, bytes: entry.bytes, sha256: entry.sha256, replyBytes: reply.bytes, replySha256: reply.sha256 },
          'collector reply does not match what was sent: retrying',
        );
      } catch (err) {
        if (err instanceof SpoolReadError) throw err; // not the collector's fault: retrying cannot help
        if (!isRetryable(err)) {
          this.fatal = `collector refused segment ${entry.sequence}: ${(err as grpc.ServiceError).details ?? String(err)}`;
          this.opts.log.error({ sequence: entry.sequence, code: (err as grpc.ServiceError).code, err: this.fatal }, 'upload refused');
          this.opts.onFatal?.(this.fatal, 'collector-refused');
          return false;
        }
        this.opts.log.warn(
          { sequence: entry.sequence, attempt, code: (err as grpc.ServiceError).code, err: (err as grpc.ServiceError).details ?? String(err) },
          'upload failed: retrying',
        );
      }
      if (this.aborted || Date.now() >= this.giveUpAt) return false;
      this.retries++;
      // full jitter keeps many capture pods from retrying in lockstep after an outage
      const wait = Math.min(backoff * (0.5 + Math.random() * 0.5), Math.max(0, this.giveUpAt - Date.now()));
      await this.sleep(wait);
      if (this.aborted) return false;
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}
