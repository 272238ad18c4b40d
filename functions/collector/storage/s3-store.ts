// S3 backend: each object is streamed into storage part by part while the gRPC stream delivers
// it. Chunks are copied into a part buffer as they arrive; a full buffer is sent with UploadPart
// and then reused, so one upload holds at most `queueSize` part buffers (5 MiB each by default),
// whatever the segment's size. A segment smaller than one part becomes a single PutObject.
//
// Why not @aws-sdk/lib-storage's Upload fed by a stream: its stream chunker concatenates the
// incoming chunks into each part and keeps the previous part's buffer alive through the leftover
// slice, about three part sizes per upload (measured: ~17 MiB per stream, 450 MiB RSS for 20
// streams). Copying into reused part buffers keeps it at one part size per stream.
import { EventEmitter } from 'node:events';
import { crc32 } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListPartsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Uri } from '../../../lib/s3.js';
import { SHA256_TAG } from '../../../lib/storage-keys.js';
import type { BufferBudget } from './buffer-budget.js';
import { PartBufferPool } from './part-buffers.js';
import { PartSender, captureTarget, type PartPutOptions, type UploadTarget } from './s3-part-put.js';
import { StorageError, type ObjectDigest, type ObjectWriter, type SegmentStore } from './store.js';


export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** Multipart part size (S3's minimum, and the default, is 5 MiB). */
  partSizeBytes: number;
  /** Part buffers per upload: 1 = receive and send in turn; 2 = receive the next part while one is sent. */
  queueSize: number;
  /** Caps part-buffer memory across all uploads of this process. */
  budget: BufferBudget;
  /** Timeout and attempts of each UploadPart (sent below the SDK); default 60 s, 2 attempts. */
  partRequests?: PartPutOptions;
}

// Parts are sent with an unsigned payload and a CRC32 checksum header instead of SigV4 payload
// signing: signing would hash every part with SHA-256 just for the signature (the segment's own
// SHA-256 is already computed once, incrementally, for the reply), while native CRC32 costs a few
// percent of that. AWS S3 verifies x-amz-checksum-crc32 against the bytes; RGW 16 and the embedded
// server were seen to accept a wrong one, so the end-to-end check is the segment's SHA-256 (the
// reply the client compares, the object tag `kubectl snoopy download` checks). Headers stay signed.
// The PUT itself is sent below the SDK (s3-part-put.ts).

/** S3's form of a CRC32: the 4 big-endian bytes in base64. */
export function crc32Base64(data: Uint8Array): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
}

/** Buffers start small (many text segments are) and jump to the part size when outgrown. */
const INITIAL_BUFFER_BYTES = 256 * 1024;

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Removes what an aborted upload left: an object, or an open multipart upload (verified gone with
 * ListParts, and aborted again if a part that was still arriving brought it back, as S3 documents
 * can happen). Retried with backoff, each attempt bounded, all of it bounded by `hurry()`.
 */
class S3Cleanup {
  private readonly deadline = new AbortController();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  hurry(ms: number): void {
    setTimeout(() => this.deadline.abort(new Error('shutdown deadline')), ms).unref();
  }

  /** Aborted only by the shutdown deadline. */
  get deadlineSignal(): { abortSignal: AbortSignal } {
    return { abortSignal: this.deadline.signal };
  }

  private signal(): AbortSignal {
    return AbortSignal.any([this.deadline.signal, AbortSignal.timeout(CLEANUP_REQUEST_MS)]);
  }

  private async retry(what: string, attempts: number, attempt: () => Promise<'done' | 'again'>): Promise<void> {
    let last: unknown;
    for (let i = 0; i < attempts && !this.deadline.signal.aborted; i++) {
      try {
        if ((await attempt()) === 'done') return;
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, Math.min(CLEANUP_MAX_BACKOFF_MS, 100 * 2 ** i)).unref());
    }
    throw new StorageError(`${what} failed: ${last === undefined ? 'gave up' : describe(last)}`);
  }

  /** Must finish before the call is answered: a late removal could hit the client's retry. */
  deleteObject(key: string): Promise<void> {
    return this.retry(`removing ${key}`, CLEANUP_ATTEMPTS, async () => {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: this.signal() });
      return 'done';
    });
  }

  /**
   * A few attempts before the call is answered; if storage is still down, keeps trying in the
   * background (a late abort of this upload id cannot touch a retry, which has its own).
   */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    const once = async (): Promise<'done' | 'again'> => {
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), { abortSignal: this.signal() });
      } catch (err) {
        if (!isNoSuchUpload(err)) throw err;
      }
      try {
        await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MaxParts: 1 }), { abortSignal: this.signal() });
      } catch (err) {
        if (isNoSuchUpload(err)) return 'done';
        throw err;
      }
      return 'again'; // still listed (a part was still arriving): abort again
    };
    const what = `aborting the multipart upload of ${key}`;
    try {
      await this.retry(what, CLEANUP_ATTEMPTS, once);
    } catch (err) {
      const later = this.retry(what, CLEANUP_BACKGROUND_ATTEMPTS, once).catch(() => undefined);
      this.background.add(later);
      void later.finally(() => this.background.delete(later));
      throw err;
    }
  }

  /** Aborts still being retried after their calls were answered. */
  readonly background = new Set<Promise<void>>();
}

function isNoSuchUpload(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchUpload' || e?.Code === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
}

const CLEANUP_REQUEST_MS = 10_000;
/** Inline attempts (about 3 s of backoff when storage refuses connections). */
const CLEANUP_ATTEMPTS = 5;
/** Background attempts for an open multipart upload: about 5 minutes at the longest backoff. */
const CLEANUP_BACKGROUND_ATTEMPTS = 65;
const CLEANUP_MAX_BACKOFF_MS = 5000;

class S3ObjectWriter extends EventEmitter implements ObjectWriter {
  readonly failed: Promise<never>;
  private rejectFailed!: (err: StorageError) => void;
  private error: StorageError | undefined;
  /** The buffer being filled and how much of it is. */
  private current: Buffer | undefined;
  private filled = 0;
  /** Full buffers ready for reuse once their part is sent. */
  private readonly spare: Buffer[] = [];
  private readonly inflight = new Set<Promise<void>>();
  /** Bytes of a chunk that did not fit while every buffer was busy; copied in when one frees up. */
  private pendingTail: Buffer | undefined;
  private needDrain = false;
  private nextPart = 1;
  private readonly parts: CompletedPart[] = [];
  private createUpload: Promise<string> | undefined;
  private uploadId: string | undefined;
  /** Where the SDK sent CreateMultipartUpload: the parts go to the same address. */
  private target: UploadTarget | undefined;
  private readonly abortController = new AbortController();
  /** finish(): the final requests; settles once none is outstanding. */
  private completion: Promise<void> | undefined;
  /** A PutObject or CompleteMultipartUpload was sent: an object may exist. */
  private finalSent = false;
  private aborting: Promise<void> | undefined;
  private state: 'open' | 'completing' | 'stored' | 'aborted' = 'open';
  /** Memory reserved from the process budget: taken at the first byte, returned at the end. */
  private reservation: Promise<void> | undefined;
  private reserved = false;
  private readonly reserveBytes: number;

  constructor(
    private readonly opts: S3StoreOptions,
    private readonly cleanup: S3Cleanup,
    private readonly pool: PartBufferPool,
    private readonly partSender: PartSender,
    private readonly key: string,
    private readonly metadata: Record<string, string>,
    private readonly contentType: string,
  ) {
    super();
    this.reserveBytes = opts.partSizeBytes * opts.queueSize;
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined); // observed by callers that care; never unhandled
  }

  private fail(err: unknown, what: string): StorageError {
    if (!this.error) {
      this.error = err instanceof StorageError ? err : new StorageError(`S3 ${what} for ${this.key} failed: ${describe(err)}`);
      this.rejectFailed(this.error);
    }
    return this.error;
  }

  write(chunk: Buffer): boolean {
    if (this.state !== 'open' || this.error) return true; // dropped: the call is failing anyway
    if (!this.reserved) {
      // Hold the chunk and ask for a pause until the budget grants this upload its buffers.
      this.pendingTail = this.pendingTail ? Buffer.concat([this.pendingTail, chunk]) : chunk;
      this.needDrain = true;
      void this.reserve(); // the budget's grant never rejects
      return false;
    }
    const rest = this.copyIn(chunk);
    if (rest.length === 0) return true;
    // Every buffer is full or being sent: keep the tail (at most one message) and ask for a pause.
    this.pendingTail = rest;
    this.needDrain = true;
    return false;
  }

  private reserve(): Promise<void> {
    this.reservation ??= this.opts.budget.acquire(this.reserveBytes).then(() => {
      if (this.state === 'aborted') {
        this.opts.budget.release(this.reserveBytes);
        return;
      }
      this.reserved = true;
      this.onPartSent();
    });
    return this.reservation;
  }

  /** Copies as much as fits into part buffers, sending full ones; returns what did not fit. */
  private copyIn(chunk: Buffer): Buffer {
    let off = 0;
    while (off < chunk.length) {
      if (!this.current) {
        const buf = this.takeBuffer(chunk.length - off);
        if (!buf) return chunk.subarray(off);
        this.current = buf;
        this.filled = 0;
      }
      const partSize = this.opts.partSizeBytes;
      if (this.filled === this.current.length && this.current.length < partSize) {
        // A segment that outgrows the small first buffer is a big one: go straight to the part
        // size (one small copy) rather than doubling, which would leave a trail of garbage.
        const bigger = this.pool.take();
        this.current.copy(bigger, 0, 0, this.filled);
        this.current = bigger;
      }
      const n = Math.min(this.current.length - this.filled, chunk.length - off);
      chunk.copy(this.current, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === partSize) this.sendFullPart();
    }
    return chunk.subarray(off);
  }

  private takeBuffer(want: number): Buffer | undefined {
    const spare = this.spare.pop();
    if (spare) return spare;
    if (this.inflight.size >= this.opts.queueSize) return undefined;
    if (want >= this.opts.partSizeBytes) return this.pool.take();
    // An idle part buffer costs nothing (its memory is the budget's); a new one starts small.
    return this.pool.takeIdle() ?? Buffer.allocUnsafe(Math.min(this.opts.partSizeBytes, Math.max(INITIAL_BUFFER_BYTES, want)));
  }

  private ensureUpload(): Promise<string> {
    this.createUpload ??= this.opts.client
      .send(
        captureTarget(
          new CreateMultipartUploadCommand({
            Bucket: this.opts.bucket,
            Key: this.key,
            Metadata: this.metadata,
            ContentType: this.contentType,
            // Every part carries its CRC32; S3 then also requires it on completion.
            ChecksumAlgorithm: 'CRC32',
          }),
          (t) => (this.target = t),
        ),
        // Not cancelled by abort(): an upload created on the server while its request was cut
        // short would be left open with an id nobody knows (and billed for ever).
        this.cleanup.deadlineSignal,
      )
      .then((res) => {
      if (!res.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      this.uploadId = res.UploadId;
      return res.UploadId;
    });
    return this.createUpload;
  }

  private sendFullPart(): void {
    const buf = this.current!;
    const length = this.filled;
    this.current = undefined;
    this.filled = 0;
    const partNumber = this.nextPart++;
    const p = (async () => {
      try {
        const uploadId = await this.ensureUpload();
        const body = buf.subarray(0, length);
        const checksum = crc32Base64(body);
        if (!this.target) throw new Error('the address of CreateMultipartUpload was not recorded');
        const etag = await this.partSender.put({
          target: this.target,
          uploadId,
          partNumber,
          body,
          crc32: checksum,
          signal: this.abortController.signal,
        });
        this.parts.push({ PartNumber: partNumber, ETag: etag, ChecksumCRC32: checksum });
      } catch (err) {
        this.fail(err, `part ${partNumber} upload`);
        return;
      }
      // The request is done with it (a failed one may not be: its buffer is left to the GC).
      if (buf.length === this.opts.partSizeBytes) this.spare.push(buf);
    })();
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.onPartSent();
    });
  }

  private onPartSent(): void {
    if (this.state !== 'open' || this.error || !this.needDrain) return;
    const tail = this.pendingTail!;
    this.pendingTail = undefined;
    const rest = this.copyIn(tail);
    if (rest.length > 0) {
      this.pendingTail = rest;
      return;
    }
    this.needDrain = false;
    this.emit('drain');
  }

  async complete(digest: ObjectDigest): Promise<void> {
    if (this.state !== 'open') throw new StorageError(`upload of ${this.key} is ${this.state}`);
    this.state = 'completing';
    this.completion = this.finish(digest);
    try {
      await this.completion;
      this.state = 'stored';
      this.release();
    } catch (err) {
      const failure = this.fail(err, 'upload');
      await this.abort(failure);
      throw failure;
    }
  }

  /** Throws if abort() has begun: checked right before each final request is sent. */
  private checkLive(): void {
    if (this.state === 'aborted') throw this.error ?? new StorageError(`upload of ${this.key} was aborted`);
  }

  /**
   * Sends the last part, the PutObject or CompleteMultipartUpload, then the tag. abort() waits for
   * all of it to settle before it removes anything, so removal and tagging never race on the server
   * (one of them could otherwise recreate what the other removed).
   */
  private async finish(digest: ObjectDigest): Promise<void> {
    if (this.pendingTail && !this.reserved) await Promise.race([this.reserve(), this.failed]);
    // A pending tail exists only while a part is in flight; wait, then take it in.
    for (let i = 0; i < 10_000 && (this.pendingTail || this.inflight.size > 0); i++) {
      if (this.error) throw this.error;
      await Promise.race([Promise.allSettled([...this.inflight]), this.failed]);
      if (this.pendingTail) {
        const tail = this.pendingTail;
        this.pendingTail = undefined;
        const rest = this.copyIn(tail);
        if (rest.length > 0) this.pendingTail = rest;
      }
    }
    if (this.error) throw this.error;
    const body = this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0);
    if (this.nextPart === 1) {
      // Never reached a full part: one PutObject. Final requests are not tied to the abort signal:
      // once one reaches the server it must be seen through, so abort() knows what to remove.
      this.checkLive();
      this.finalSent = true;
      await this.opts.client.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key: this.key,
          Body: body,
          ContentLength: body.length,
          Metadata: this.metadata,
          ContentType: this.contentType,
        }),
        this.cleanup.deadlineSignal,
      );
    } else {
      if (body.length > 0) {
        this.sendFullPart();
        await Promise.allSettled([...this.inflight]);
        // set by a part upload's failure during the await, which tsc's narrowing cannot see
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (this.error) throw this.error;
      }
      const parts = [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!);
      this.checkLive();
      this.finalSent = true;
      await this.opts.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.opts.bucket,
          Key: this.key,
          UploadId: this.uploadId!,
          MultipartUpload: { Parts: parts },
        }),
        this.cleanup.deadlineSignal,
      );
    }
    // The hash is known only now, at the end: tag the stored object (a PutObject's own Tagging
    // header is not honoured by every S3 server). Should tagging fail, complete() removes the
    // object, so no stored segment lacks its digest.
    this.checkLive();
    await this.opts.client.send(
      new PutObjectTaggingCommand({ Bucket: this.opts.bucket, Key: this.key, Tagging: { TagSet: [{ Key: SHA256_TAG, Value: digest.sha256 }] } }),
      this.cleanup.deadlineSignal,
    );
    this.checkLive();
  }

  abort(reason: Error): Promise<void> {
    this.aborting ??= this.doAbort(reason);
    return this.aborting;
  }

  private async doAbort(reason: Error): Promise<void> {
    this.state = 'aborted';
    this.fail(reason, 'upload (aborted)');
    // Parts in flight may be cut short; the upload is aborted (and checked) below anyway.
    this.abortController.abort(reason);
    await Promise.allSettled([...this.inflight]);
    // Every final request already sent is seen through first (see finish()).
    if (this.completion) await this.completion.catch(() => undefined);
    const uploadId = this.uploadId ?? (this.createUpload ? await this.createUpload.catch(() => undefined) : undefined);
    try {
      if (this.finalSent) await this.cleanup.deleteObject(this.key);
      // Also after a CompleteMultipartUpload that may have failed half-way: aborting a completed
      // upload is answered NoSuchUpload, which is fine.
      if (uploadId) await this.cleanup.abortUpload(this.key, uploadId);
    } finally {
      this.release();
    }
  }

  /** Called once no request reads the buffers any more (the upload stored, or aborted and settled). */
  private release(): void {
    if (this.reserved) {
      this.reserved = false;
      this.opts.budget.release(this.reserveBytes);
    }
    if (this.current) this.pool.give(this.current);
    for (const buf of this.spare) this.pool.give(buf);
    this.current = undefined;
    this.spare.length = 0;
    this.pendingTail = undefined;
  }
}

export class S3SegmentStore implements SegmentStore {
  readonly kind = 's3' as const;
  readonly bucket: string;

  private readonly cleanup: S3Cleanup;
  private readonly partSender: PartSender;
  /** Part buffers passed from finished uploads to new ones. */
  readonly pool: PartBufferPool;

  constructor(private readonly opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.cleanup = new S3Cleanup(opts.client, opts.bucket);
    this.partSender = new PartSender(opts.client, opts.partRequests ?? { requestTimeoutMs: 60_000, maxAttempts: 2 });
    this.pool = new PartBufferPool(opts.partSizeBytes, Math.max(1, Math.floor(opts.budget.totalBytes / opts.partSizeBytes)));
  }

  /** From now on removals of aborted uploads give up after `ms` (shutdown's deadline). */
  hurry(ms: number): void {
    this.cleanup.hurry(ms);
  }

  uri(key: string): string {
    return s3Uri(this.bucket, key);
  }

  open(key: string, metadata: Record<string, string>, contentType: string): ObjectWriter {
    return new S3ObjectWriter(this.opts, this.cleanup, this.pool, this.partSender, key, metadata, contentType);
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      let res;
      try {
        res = await this.opts.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (err) {
        throw new StorageError(`listing ${prefix} failed: ${describe(err)}`);
      }
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      if (!res.IsTruncated || !res.NextContinuationToken) break;
      token = res.NextContinuationToken;
    }
    return keys;
  }

  async close(): Promise<void> {
    this.partSender.close();
    this.opts.client.destroy();
  }
}
