// Typed client for the collector's UploadSegment call (docs/design.md "podtracer → collector"):
// one header message, then the segment's bytes in chunks of at most 1 MiB, then the end marker
// (byte count and SHA-256), then half-close; resolves with the collector's reply once the object
// is durably stored, rejects with the grpc ServiceError (code + details) otherwise.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { loadCollectorProtos, type SegmentHeader, type UploadRequest, type UploadResponse } from './proto.js';

export type { SegmentHeader, UploadResponse };

/** Largest chunk put in one message; well under the collector's message size limit. */
export const MAX_CHUNK_BYTES = 1024 * 1024;
/**
 * Chunk size used unless told otherwise. The receiver holds about one message per open stream
 * in its gRPC decoder and read queue, so smaller messages mean less collector memory per stream
 * (measured with 20 streams: 1 MiB chunks ≈ 260 MiB collector RSS; 256 KiB ≈ 175–193 MiB with the
 * collector's heap tuning). Larger messages cost the sender less CPU per byte.
 */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

export type CollectorClient = grpc.Client;

/**
 * Address is "host:port". Plain h2c (Knative's port "h2c"); keepalive pings notice a dead
 * collector behind a proxy within about a minute instead of hanging until the deadline.
 */
export function createCollectorClient(address: string, options: grpc.ClientOptions = {}): CollectorClient {
  const { CollectorClient: Ctor } = loadCollectorProtos();
  return new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 0,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    ...options,
  });
}

export interface UploadOptions {
  /** Whole-call deadline in milliseconds. */
  deadlineMs?: number;
  /** Chunk size, default 256 KiB (≤ 1 MiB unless a test wants to send an oversized message on purpose). */
  chunkBytes?: number;
  /** Aborts the call (cancels the stream) when signalled. */
  signal?: AbortSignal;
  /**
   * The segment's SHA-256 (hex) when the caller already knows it (podtracer's spool does), sent in
   * the end marker; otherwise it is computed while streaming.
   */
  sha256?: string;
  /**
   * Send the end marker (default true). Only tests turn it off, to act as a client that predates
   * it and ends a segment by half-closing alone.
   */
  sendEnd?: boolean;
}

type Writable = grpc.ClientWritableStream<UploadRequest>;

/**
 * Cancels a call, then once more after the pending microtasks have run. grpc-js (1.14.7) creates a
 * call's HTTP/2 stream a few microtasks after the call starts and does not check whether it was
 * cancelled meanwhile: a cancel in that window is reported to the caller (CANCELLED), yet the stream
 * still goes out with what was written and nothing ever ends it, so the collector would hold the
 * call until its idle timer or the deadline. The second cancel reaches that stream; on a call
 * already ended it does nothing. (The window is in grpc-js's ResolvingCall.getConfig: it creates
 * its child call in a callback of the filter stack's promise chain without checking `ended`; the
 * calls deeper down do check. Only promise callbacks lie in between, so setImmediate comes after.)
 */
export function cancelCall(call: Writable): void {
  call.cancel();
  setImmediate(() => call.cancel());
}

function writeMessage(call: Writable, message: UploadRequest, ended: Promise<void>): Promise<void> {
  // grpc-js returns false from write() when its buffer is full: wait for 'drain', or for the call
  // to end (the server may answer with an error while we wait, and then no 'drain' comes).
  return new Promise<void>((resolve, reject) => {
    const ok = call.write(message, (err: Error | null | undefined) => {
      if (err) reject(err);
    });
    if (ok) return resolve();
    const done = () => {
      call.off('drain', done);
      resolve();
    };
    call.once('drain', done);
    void ended.then(done);
  });
}

async function* chunksOf(data: Buffer | AsyncIterable<Buffer | Uint8Array>, size: number): AsyncGenerator<Buffer> {
  const sources: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer> = Buffer.isBuffer(data) ? [data] : data;
  for await (const piece of sources) {
    const buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, Math.min(off + size, buf.length));
  }
}

/** Streams one segment; rejects with the grpc ServiceError (err.code, err.details) on failure. */
export function uploadSegment(
  client: CollectorClient,
  header: Partial<SegmentHeader>,
  data: Buffer | AsyncIterable<Buffer | Uint8Array>,
  opts: UploadOptions = {},
): Promise<UploadResponse> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const callOptions: grpc.CallOptions = {};
  if (opts.deadlineMs !== undefined) callOptions.deadline = Date.now() + opts.deadlineMs;
  return new Promise<UploadResponse>((resolve, reject) => {
    let settled = false;
    let cancelled = false;
    let cancel = (): void => undefined;
    const onAbort = () => cancel();
    let markEnded!: () => void;
    const ended = new Promise<void>((r) => (markEnded = r));
    const call = client.makeClientStreamRequest<UploadRequest, UploadResponse>(
      '/snoopy.v1.Collector/UploadSegment',
      (m: UploadRequest) => serialize(m),
      (b: Buffer) => deserialize(b),
      new grpc.Metadata(),
      callOptions,
      (err: grpc.ServiceError | null, res?: UploadResponse) => {
        settled = true;
        markEnded();
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      },
    );
    cancel = () => {
      cancelled = true;
      cancelCall(call);
    };
    // Until the reply: a cancellation while the collector is storing still cancels the call.
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const hash = opts.sha256 === undefined ? createHash('sha256') : undefined;
    let bytes = 0;
    void (async () => {
      try {
        await writeMessage(call, { header: header as SegmentHeader }, ended);
        for await (const chunk of chunksOf(data, chunkBytes)) {
          if (settled || cancelled) return; // answered (an error) or cancelled: stop sending
          hash?.update(chunk);
          bytes += chunk.length;
          await writeMessage(call, { chunk }, ended);
        }
        if (settled || cancelled) return;
        // The end marker tells the collector the segment is whole: a cancelled call never sends it,
        // whatever order the server's transport reports the cancellation and the half-close in.
        if (opts.sendEnd !== false) await writeMessage(call, { end: { bytes, sha256: opts.sha256 ?? hash!.digest('hex') } }, ended);
        call.end();
      } catch (err) {
        // A failing data source cancels the call so the collector stores nothing.
        if (!settled) cancel();
        if (!settled) {
          settled = true;
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    })();
  });
}

// The service definition carries the proto-loader (de)serialisers; reuse them for the raw call.
function methodDef(): grpc.MethodDefinition<UploadRequest, UploadResponse> {
  return loadCollectorProtos().collectorService.UploadSegment as grpc.MethodDefinition<UploadRequest, UploadResponse>;
}
function serialize(m: UploadRequest): Buffer {
  return methodDef().requestSerialize(m);
}
function deserialize(b: Buffer): UploadResponse {
  return methodDef().responseDeserialize(b);
}

/** gRPC codes after which retrying the same upload cannot help: the request itself is refused. */
const REFUSED_CODES = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.UNIMPLEMENTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.NOT_FOUND,
]);

/** Whether an upload that failed with this error may succeed when sent again (collector unavailable, deadline, connection lost). */
export function isRetryableUploadError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code !== 'number' || !REFUSED_CODES.has(code);
}
