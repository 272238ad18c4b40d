// snoopy.v1.Collector/UploadSegment: header, then chunks streamed into one object, then the end
// marker; the reply is sent only once the object is durable, and any failure or cancellation
// leaves no object behind.
//
// Order of events: a cancelling client's HTTP/2 stream sends END_STREAM and then RST_STREAM, so
// the collector sees a half-close first and the cancellation a moment later: a half-close alone
// does not prove the segment is whole. The end marker (SegmentEnd: byte count and SHA-256) does:
// storage is completed only after it arrived and matched. A half-close without it (a client that
// predates the marker, or one that sent nothing at all) is acted on only after HALF_CLOSE_SETTLE_MS
// without a cancellation. Either way a cancellation that arrives later, up to the reply, removes the
// object again: the writer serializes that removal after its own final requests.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../lib/log.js';
import type { SegmentHeader, UploadRequest, UploadResponse } from '../../lib/proto.js';
import type { CollectorEvents } from './events.js';
import type { CollectorMetrics, UploadResult } from './metrics.js';
import type { InflightCalls } from './inflight.js';
import type { ObjectWriter, SegmentStore } from './storage/store.js';
import { checkHeader, type BodyCheck } from './validate.js';

export interface UploadHandlerDeps {
  store: SegmentStore;
  events: CollectorEvents;
  metrics: CollectorMetrics;
  inflight: InflightCalls;
  log: Logger;
  prefix: string;
  tokenKey: string | undefined;
  maxSegmentBytes: number;
  /** A client that sends nothing for this long (while the collector is reading) is dropped. */
  idleMs: number;
}

/** header → data → ended (end marker seen) → finishing (storage completing) → done. */
type State = 'header' | 'data' | 'ended' | 'finishing' | 'done';

/**
 * How long a half-close without an end marker waits for a cancellation that may follow it (the
 * RST_STREAM sent right after END_STREAM). It is then followed by one turn of the event loop's I/O
 * phase, so a loop that was busy still reads the RST before deciding.
 */
export const HALF_CLOSE_SETTLE_MS = 300;

const RESULT_OF: Partial<Record<grpc.status, UploadResult>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid',
  [grpc.status.UNAUTHENTICATED]: 'unauthenticated',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.CANCELLED]: 'cancelled',
};

/**
 * grpc-js makes each call's Readable with the object-mode default highWaterMark of 16 messages,
 * and keeps reading from HTTP/2 until that many are queued even while the call is paused: 16 MiB
 * per stream with 1 MiB chunks (64 MiB with 4 MiB messages). One message of read-ahead keeps the
 * pipe full; the rest is left to HTTP/2 flow control, i.e. to the client.
 */
export function limitReadAhead(call: NodeJS.ReadableStream): void {
  // _readableState is Node's own (undocumented but stable) Readable state; guarded in case it moves.
  const state = (call as unknown as { _readableState?: { highWaterMark?: number } })._readableState;
  if (state && typeof state.highWaterMark === 'number') state.highWaterMark = 1;
}

/**
 * Whether grpc-js had already marked the call cancelled underneath the handler's stream object
 * (its internal call objects carry a boolean `cancelled`; guarded, as they are not public API).
 */
export function cancelledBeforeStart(call: unknown): boolean {
  let node = (call as { call?: unknown }).call as { cancelled?: unknown; nextCall?: unknown } | undefined;
  for (let depth = 0; depth < 8 && node && typeof node === 'object'; depth++) {
    if (node.cancelled === true) return true;
    node = node.nextCall as typeof node;
  }
  return false;
}

export function uploadSegmentHandler(deps: UploadHandlerDeps): grpc.handleClientStreamingCall<UploadRequest, UploadResponse> {
  return (call, callback) => {
    limitReadAhead(call);
    // Response headers at once: behind Knative's queue-proxy this is the response start, so its
    // response-start timeout measures how soon the collector takes a call, not how long the whole
    // upload lasts (lib/knative-serving: the upload timeout chain).
    call.sendMetadata(new grpc.Metadata());
    const started = process.hrtime.bigint();
    const hash = createHash('sha256');
    let state: State = 'header';
    let header: SegmentHeader | undefined;
    let key = '';
    let writer: ObjectWriter | undefined;
    let bytes = 0;
    // an object checked whole before it is stored (a node manifest): its bytes, kept as they arrive
    let bodyCheck: BodyCheck | undefined;
    const body: Buffer[] = [];
    let settle!: () => void;
    deps.inflight.add(new Promise<void>((r) => (settle = r)));
    deps.metrics.activeUploads.inc();

    const log = () => deps.log.child({ key: key || undefined, peer: call.getPeer() });

    // Idle clock: runs only while the collector waits for the client, not while it holds the
    // call paused itself, so a stalled client cannot keep part buffers reserved forever.
    let idleTimer: NodeJS.Timeout | undefined;
    const stopIdle = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = undefined;
    };
    const armIdle = () => {
      stopIdle();
      idleTimer = setTimeout(
        () => void fail(grpc.status.DEADLINE_EXCEEDED, `no data from the client for ${deps.idleMs / 1000} s`, 'cancelled'),
        deps.idleMs,
      );
      idleTimer.unref();
    };
    armIdle();

    const end = () => {
      stopIdle();
      deps.metrics.activeUploads.dec();
      settle();
    };

    const fail = async (code: grpc.status, message: string, result?: UploadResult): Promise<void> => {
      if (state === 'done') return;
      state = 'done';
      stopIdle();
      // Keep reading (and dropping) whatever the client still sends, so it is never stuck on
      // flow control and sees the status.
      call.resume();
      if (writer) log().debug({ code: grpc.status[code], details: message }, 'upload failing: removing what it stored');
      if (writer) await writer.abort(new Error(message)).catch((err) => log().error({ err: String(err) }, 'abort failed'));
      deps.metrics.uploads.inc({ result: result ?? RESULT_OF[code] ?? 'invalid' });
      const level = code === grpc.status.UNAVAILABLE ? 'error' : 'warn';
      log()[level]({ code: grpc.status[code], details: message, bytes }, 'upload refused or failed; nothing stored');
      callback({ code, details: message, name: 'UploadError', message });
      end();
    };

    const onHeader = (req: UploadRequest): void => {
      if (req.part !== 'header' || !req.header) {
        void fail(grpc.status.INVALID_ARGUMENT, 'first message must be the segment header');
        return;
      }
      header = req.header;
      const check = checkHeader(header, { prefix: deps.prefix, tokenKey: deps.tokenKey });
      if (!check.ok) {
        void fail(check.code, check.message);
        return;
      }
      key = check.key;
      bodyCheck = check.body;
      try {
        writer = deps.store.open(key, check.metadata, check.contentType);
      } catch (err) {
        void fail(grpc.status.UNAVAILABLE, `storage unavailable: ${(err as Error).message}`);
        return;
      }
      writer.failed.catch((err: Error) => void fail(grpc.status.UNAVAILABLE, `storage unavailable: ${err.message}`));
      state = 'data';
    };

    let sha256 = '';
    const onEndMarker = (req: UploadRequest): void => {
      const declared = Number(req.end?.bytes ?? -1);
      if (declared !== bytes) {
        void fail(grpc.status.INVALID_ARGUMENT, `end marker declares ${String(req.end?.bytes)} bytes but ${bytes} were received`);
        return;
      }
      sha256 = hash.digest('hex');
      const claimed = (req.end?.sha256 ?? '').toLowerCase();
      if (claimed !== '' && claimed !== sha256) {
        void fail(grpc.status.INVALID_ARGUMENT, `end marker declares sha256 ${claimed} but the bytes received hash to ${sha256}`);
        return;
      }
      state = 'ended';
      log().debug({ bytes, sha256 }, 'end marker received: the segment is whole');
    };

    const onChunk = (req: UploadRequest): void => {
      if (req.part === 'header') {
        void fail(grpc.status.INVALID_ARGUMENT, 'a second segment header is not allowed: one call uploads one segment');
        return;
      }
      if (req.part === 'end') {
        onEndMarker(req);
        return;
      }
      const chunk = req.chunk ?? Buffer.alloc(0);
      bytes += chunk.length;
      deps.metrics.bytesReceived.inc(chunk.length);
      if (bytes > deps.maxSegmentBytes) {
        void fail(
          grpc.status.INVALID_ARGUMENT,
          `segment larger than the collector's limit of ${deps.maxSegmentBytes} bytes (MAX_SEGMENT_BYTES)`,
          'too_large',
        );
        return;
      }
      if (bodyCheck) {
        if (bytes > bodyCheck.maxBytes) {
          void fail(grpc.status.INVALID_ARGUMENT, `node manifest larger than the limit of ${bodyCheck.maxBytes} bytes`, 'too_large');
          return;
        }
        body.push(chunk);
      }
      hash.update(chunk);
      if (!writer!.write(chunk)) {
        // Storage is behind: stop reading from the client until the upload drains (HTTP/2 flow
        // control then holds the sender), so memory stays bounded per stream.
        deps.metrics.backpressurePauses.inc();
        call.pause();
        stopIdle();
        writer!.once('drain', () => {
          if (state !== 'data') return;
          armIdle();
          call.resume();
        });
      }
    };

    call.on('data', (req: UploadRequest) => {
      if (state === 'header' || state === 'data' || state === 'ended') armIdle();
      if (state === 'header') onHeader(req);
      else if (state === 'data') onChunk(req);
      else if (state === 'ended') void fail(grpc.status.INVALID_ARGUMENT, 'nothing may follow the end marker');
    });

    /** Resolves true if the call is cancelled within HALF_CLOSE_SETTLE_MS (see the top of this file). */
    const cancelledSoon = (): Promise<boolean> =>
      new Promise((resolve) => {
        if (call.cancelled) return resolve(true);
        const onCancel = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          setImmediate(() => {
            call.off('cancelled', onCancel);
            resolve(call.cancelled);
          });
        }, HALF_CLOSE_SETTLE_MS);
        call.once('cancelled', onCancel);
      });

    call.on('end', () => {
      if (state === 'header') {
        stopIdle();
        void cancelledSoon().then((cancelled) => {
          if (!cancelled) void fail(grpc.status.INVALID_ARGUMENT, 'first message must be the segment header');
        });
        return;
      }
      if (state !== 'data' && state !== 'ended') return;
      const endMarker = state === 'ended';
      state = 'finishing';
      stopIdle();
      void (async () => {
        if (!endMarker) {
          if (await cancelledSoon()) return; // fail() has run (the 'cancelled' listener)
          sha256 = hash.digest('hex');
        }
        if (state !== 'finishing') return;
        const refused = bodyCheck?.check(Buffer.concat(body));
        if (refused !== undefined) {
          await fail(grpc.status.INVALID_ARGUMENT, refused);
          return;
        }
        try {
          await writer!.complete({ sha256 });
        } catch (err) {
          await fail(grpc.status.UNAVAILABLE, `storage unavailable: ${(err as Error).message}`);
          return;
        }
        if (state !== 'finishing') return; // cancelled meanwhile: fail() removed the object
        if (call.cancelled) {
          // Cancelled while storage completed, and the event is not delivered yet: remove it now.
          await fail(grpc.status.CANCELLED, 'call cancelled by the client');
          return;
        }
        state = 'done';
        const reply: UploadResponse = {
          bucket: deps.store.bucket,
          key,
          bytes: String(bytes),
          sha256,
          uri: deps.store.uri(key),
        };
        deps.metrics.uploads.inc({ result: 'stored' });
        deps.metrics.bytesStored.inc(bytes);
        deps.metrics.uploadSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        log().info({ bytes, sha256: reply.sha256, sequence: header!.sequence, last: header!.last, endMarker }, 'segment stored');
        callback(null, reply);
        // a node manifest is no target's object: readers find it by its key, no event announces it
        if (header!.format !== 'FORMAT_NODE_MANIFEST') deps.events.segmentStored(header!, reply);
        if (header!.last && header!.format !== 'FORMAT_EVIDENCE' && header!.format !== 'FORMAT_NODE_MANIFEST') await deps.events.captureCompleted(header!);
        end();
      })();
    });

    // The client went away (cancelled, deadline, connection lost) or grpc-js refused a message
    // (e.g. larger than the receive limit): discard the partial object.
    call.on('cancelled', () => void fail(grpc.status.CANCELLED, 'call cancelled by the client'));
    call.on('error', (err: Error) => void fail(grpc.status.CANCELLED, `stream error: ${err.message}`));
    // A call cancelled between grpc-js accepting it and starting this handler never emits
    // 'cancelled' (nor anything else) here: without this check it would wait for the idle timer.
    if (cancelledBeforeStart(call)) void fail(grpc.status.CANCELLED, 'call cancelled by the client');
  };
}
