// protobuf.DataEndpoint/ExportPodData, the seed's protocol, so podtracer images built from it
// still deliver. The seed appended every write to one file per pod name (corrupting pcaps across
// runs); here every stream writes NEW objects, one per name it carries, cut at a size limit:
//   [<prefix>/]legacy/<sanitised name>/<stream start, UTC compact>-<stream id>-<n:4>.bin
// Nothing is ever appended to an earlier object. The seed client has no clean end-of-capture
// signal (it may just drop the connection), so data that arrived before a broken stream is kept.
// When an object is stored the server answers with a PodData{name: key, data: JSON reply}.
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../lib/log.js';
import type { LegacyPodData } from '../../lib/proto.js';
import { normalizePrefix, sanitizeKeyElement } from '../../lib/storage-keys.js';
import type { CollectorMetrics } from './metrics.js';
import type { InflightCalls } from './inflight.js';
import type { ObjectWriter, SegmentStore } from './storage/store.js';
import { limitReadAhead } from './upload-handler.js';

export interface LegacyHandlerDeps {
  store: SegmentStore;
  metrics: CollectorMetrics;
  inflight: InflightCalls;
  log: Logger;
  prefix: string;
  objectBytes: number;
}

/** "2026-11-26T04:05:06.789Z" → "20261126T040506.789Z" (sortable, no ":" in keys). */
export function compactTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

export function legacyKey(prefix: string, name: string, start: Date, streamId: string, n: number): string {
  const clean = sanitizeKeyElement(name.slice(0, 200) || 'unnamed', 'pod name');
  const p = normalizePrefix(prefix);
  const rest = `legacy/${clean}/${compactTimestamp(start)}-${streamId}-${String(n).padStart(4, '0')}.bin`;
  return p ? `${p}/${rest}` : rest;
}

interface OpenObject {
  name: string;
  key: string;
  writer: ObjectWriter;
  bytes: number;
  hash: ReturnType<typeof createHash>;
}

export function exportPodDataHandler(deps: LegacyHandlerDeps): grpc.handleBidiStreamingCall<LegacyPodData, LegacyPodData> {
  return (call) => {
    limitReadAhead(call);
    const start = new Date();
    const streamId = randomBytes(4).toString('hex');
    const open = new Map<string, OpenObject>();
    const counters = new Map<string, number>();
    const completions: Promise<void>[] = [];
    let failed = false;
    let finished = false;
    let settle!: () => void;
    deps.inflight.add(new Promise<void>((r) => (settle = r)));
    const log = deps.log.child({ legacyStream: streamId, peer: call.getPeer() });

    const fail = (err: Error) => {
      if (failed || finished) return;
      failed = true;
      log.error({ err: err.message }, 'legacy stream failed; open objects discarded');
      for (const o of open.values()) void o.writer.abort(err);
      open.clear();
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: `storage unavailable: ${err.message}` });
      settle();
    };

    const complete = (o: OpenObject) => {
      open.delete(o.name);
      const sha256 = o.hash.digest('hex');
      completions.push(
        o.writer.complete({ sha256 }).then(
          () => {
            deps.metrics.legacyObjects.inc({ result: 'stored' });
            const reply = { bucket: deps.store.bucket, key: o.key, bytes: o.bytes, sha256, uri: deps.store.uri(o.key) };
            log.info(reply, 'legacy object stored');
            if (!call.cancelled && !call.destroyed) call.write({ name: o.key, data: Buffer.from(JSON.stringify(reply)) });
          },
          (err: Error) => {
            deps.metrics.legacyObjects.inc({ result: 'failed' });
            fail(err);
          },
        ),
      );
    };

    const objectFor = (name: string, size: number): OpenObject => {
      let o = open.get(name);
      if (o && o.bytes > 0 && o.bytes + size > deps.objectBytes) {
        complete(o);
        o = undefined;
      }
      if (!o) {
        const n = counters.get(name) ?? 0;
        counters.set(name, n + 1);
        const key = legacyKey(deps.prefix, name, start, streamId, n);
        const writer = deps.store.open(key, { 'legacy-name': encodeURIComponent(name.slice(0, 200)) }, 'application/octet-stream');
        writer.failed.catch(fail);
        o = { name, key, writer, bytes: 0, hash: createHash('sha256') };
        open.set(name, o);
      }
      return o;
    };

    const finish = async (why: string) => {
      if (failed || finished) return;
      finished = true;
      for (const o of [...open.values()]) complete(o);
      await Promise.allSettled(completions);
      log.info({ why, objects: completions.length }, 'legacy stream finished');
      if (!failed && !call.cancelled && !call.destroyed) call.end();
      settle();
    };

    call.on('data', (msg: LegacyPodData) => {
      if (failed || finished) return;
      const data = msg.data ?? Buffer.alloc(0);
      if (data.length === 0) return;
      let o: OpenObject;
      try {
        o = objectFor(msg.name, data.length);
      } catch (err) {
        fail(err as Error);
        return;
      }
      o.bytes += data.length;
      o.hash.update(data);
      if (!o.writer.write(data)) {
        call.pause();
        o.writer.once('drain', () => call.resume());
      }
    });
    call.on('end', () => void finish('client finished'));
    call.on('cancelled', () => void finish('client went away'));
    call.on('error', () => void finish('stream error'));
  };
}
