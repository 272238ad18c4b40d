// One interface for where segments go. A writer takes the bytes of one object as they arrive and
// either completes (the object is durable and visible) or aborts (nothing is visible); readers
// never see a partial object.
import type { EventEmitter } from 'node:events';

/** What is known of an object only once all of its bytes have been written. */
export interface ObjectDigest {
  sha256: string;
}

export interface ObjectWriter extends Pick<EventEmitter, 'once' | 'off'> {
  /** Queues a chunk; false means "buffer full": wait for 'drain' before writing more. */
  write(chunk: Buffer): boolean;
  /**
   * Ends the object; resolves once it is durably stored together with its digest, where the
   * backend can record one (S3: the object tag SHA256_TAG), so readers can verify what they read.
   */
  complete(digest: ObjectDigest): Promise<void>;
  /** Discards everything written; resolves once nothing of it remains. Safe to call twice. */
  abort(reason: Error): Promise<void>;
  /** Rejects as soon as the backend fails, even mid-stream (so callers stop waiting for 'drain'). */
  readonly failed: Promise<never>;
}

export interface SegmentStore {
  readonly kind: 's3' | 'fs';
  /** The bucket named in replies and events (for fs, a label). */
  readonly bucket: string;
  uri(key: string): string;
  open(key: string, metadata: Record<string, string>, contentType: string): ObjectWriter;
  /** Shutdown: requests still going to storage (final requests, removals) give up after `ms`. */
  hurry(ms: number): void;
  /** Every key under a prefix (all pages). */
  list(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/** The storage backend failed (maps to gRPC UNAVAILABLE). */
export class StorageError extends Error {
  override name = 'StorageError';
}
