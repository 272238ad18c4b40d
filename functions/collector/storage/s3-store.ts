// S3 backend: each object is a lib-storage Upload fed by a PassThrough, so chunks flow from the
// gRPC stream into multipart parts without buffering the whole segment. Memory per upload stays
// near partSize × (queueSize + 1): lib-storage only pulls the next part when a slot is free, the
// PassThrough fills, write() returns false and the caller pauses its gRPC call.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3Uri } from '../../../lib/s3.js';
import { StorageError, type ObjectWriter, type SegmentStore } from './store.js';

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  partSizeBytes: number;
  queueSize: number;
  /** Bytes buffered between the gRPC stream and the part being assembled. */
  bufferBytes?: number;
}

class S3ObjectWriter extends EventEmitter implements ObjectWriter {
  readonly failed: Promise<never>;
  private readonly body: PassThrough;
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;
  private aborting: Promise<void> | undefined;

  constructor(
    private readonly opts: S3StoreOptions,
    private readonly key: string,
    metadata: Record<string, string>,
    contentType: string,
  ) {
    super();
    const hwm = opts.bufferBytes ?? 1024 * 1024;
    this.body = new PassThrough({ highWaterMark: hwm });
    this.body.on('drain', () => this.emit('drain'));
    this.upload = new Upload({
      client: opts.client,
      params: { Bucket: opts.bucket, Key: key, Body: this.body, Metadata: metadata, ContentType: contentType },
      partSize: opts.partSizeBytes,
      queueSize: opts.queueSize,
      leavePartsOnError: false,
    });
    this.done = this.upload.done();
    this.failed = this.done.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => {
        throw new StorageError(`S3 upload of ${key} failed: ${describe(err)}`);
      },
    );
    this.failed.catch(() => undefined); // observed by callers that care; never unhandled
  }

  write(chunk: Buffer): boolean {
    return this.body.write(chunk);
  }

  async complete(): Promise<void> {
    this.body.end();
    try {
      await this.done;
    } catch (err) {
      throw new StorageError(`S3 upload of ${this.key} failed: ${describe(err)}`);
    }
  }

  abort(reason: Error): Promise<void> {
    this.aborting ??= this.doAbort(reason);
    return this.aborting;
  }

  private async doAbort(reason: Error): Promise<void> {
    // Failing the body makes lib-storage stop pulling parts and send AbortMultipartUpload itself;
    // awaiting done() then means the abort has reached the server (upload.abort() alone would
    // settle done() at once, with the abort still on its way). A body that never ended cannot
    // produce a single-part PutObject, so no object appears.
    this.body.destroy(reason);
    const outcome = await this.done.then(
      () => 'stored' as const,
      () => 'aborted' as const,
    );
    if (outcome === 'stored') {
      // Only when the whole body was already handed over: a cancelled call still leaves nothing.
      await this.opts.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key })).catch(() => undefined);
    }
    await this.upload.abort().catch(() => undefined);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export class S3SegmentStore implements SegmentStore {
  readonly kind = 's3' as const;
  readonly bucket: string;

  constructor(private readonly opts: S3StoreOptions) {
    this.bucket = opts.bucket;
  }

  uri(key: string): string {
    return s3Uri(this.bucket, key);
  }

  open(key: string, metadata: Record<string, string>, contentType: string): ObjectWriter {
    return new S3ObjectWriter(this.opts, key, metadata, contentType);
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      let res;
      try {
        res = await this.opts.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
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
    this.opts.client.destroy();
  }
}
