// Garbage-collector tuning for processes that stream bulk bytes through gRPC (the collector and
// its clients). grpc-js allocates a fresh Buffer for every message it frames or reassembles, and
// HTTP/2 one per socket read: about 2 GiB of short-lived off-heap memory per GiB received. V8
// reacts to that off-heap memory in two ways that cost the collector most of its GC time:
// - it counts it against the old generation's limit, which it sets at about twice the tiny live
//   heap, so it ran a full mark-compact every ~16 MB of traffic (~80 per 640 MiB, measured with
//   --trace-gc). A larger heap growing factor lets the buffers die in batches.
// - past 64 MB allocated off-heap since the last mark-compact it starts incremental marking,
//   which ends in a mark-compact of the whole heap: still ~54 per 640 MiB, a quarter of the
//   collector's CPU, although the buffers were all dead by then. With incremental marking off V8
//   starts nothing on that soft limit (5-8 mark-compacts per 640 MiB; collector CPU per GiB
//   7.0 → 4.2 s in the benchmark); old-generation collections are then atomic, pauses of tens of
//   milliseconds on the collector's ~20 MB heap, which a streaming upload does not notice.
// - the dead buffers are freed by the next scavenge (young-generation GC) at the latest, but with
//   little allocated on the JavaScript heap those come only every ~10-20 MiB of traffic, so RSS
//   carried 40-50 MB of them (peak 201-212 MB at 20 streams); a scavenge forced every 8 MiB
//   received brings that to 174-183 MB for well under a millisecond each.
// Set at run time: V8 reads these flags each time it decides, so no node command-line flag
// (which the container entrypoints and the executables' shebang lines cannot carry) is needed.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Heap growing percent for the collector: memory-bounded (its RSS target is < 200 MB with 20 streams). */
export const COLLECTOR_HEAP_GROWING_PERCENT = 100;
/** For upload clients (podtracer): one stream each, so memory is not the constraint. */
export const CLIENT_HEAP_GROWING_PERCENT = 300;
/** The collector's further tuning: see the top of this file. */
export const COLLECTOR_HEAP_TUNING: HeapTuningOptions = { incrementalMarking: false, scavengeEveryBytes: 8 * 1024 * 1024 };

export interface HeapTuningOptions {
  /**
   * False turns V8's incremental marking off (see the top of this file): for a process whose
   * off-heap allocations are bulk, short-lived buffers and whose heap is small (the collector).
   */
  incrementalMarking?: boolean;
  /** Run a young-generation GC after this many bytes passed noteStreamedBytes() (see below). */
  scavengeEveryBytes?: number;
}

type GcFunction = (options: { type: 'minor' | 'major' }) => void;
let scavenge: GcFunction | undefined;
let scavengeEvery = 0;
let sinceScavenge = 0;

/**
 * Counts bytes that passed through short-lived buffers; every `scavengeEveryBytes` a scavenge (a
 * young-generation GC, well under a millisecond on a small heap) frees the dead ones, which keeps
 * the process's RSS close to what it holds live. A no-op unless tuneHeapForStreaming enabled it.
 */
export function noteStreamedBytes(bytes: number): void {
  if (!scavenge) return;
  sinceScavenge += bytes;
  if (sinceScavenge < scavengeEvery) return;
  sinceScavenge = 0;
  scavenge({ type: 'minor' });
}

export function tuneHeapForStreaming(growingPercent: number, opts: HeapTuningOptions = {}): void {
  if (!Number.isInteger(growingPercent) || growingPercent < 1 || growingPercent > 1000) {
    throw new RangeError(`heap growing percent must be an integer in 1..1000, got ${growingPercent}`);
  }
  setFlagsFromString(`--heap-growing-percent=${growingPercent}`);
  if (opts.incrementalMarking === false) setFlagsFromString('--no-incremental-marking');
  if (opts.scavengeEveryBytes !== undefined) {
    if (!Number.isInteger(opts.scavengeEveryBytes) || opts.scavengeEveryBytes < 1) {
      throw new RangeError(`scavenge interval must be a positive integer of bytes, got ${opts.scavengeEveryBytes}`);
    }
    // V8's gc() extension, exposed at run time: a fresh context created after the flag has it.
    setFlagsFromString('--expose-gc');
    scavenge = runInNewContext('gc') as GcFunction;
    scavengeEvery = opts.scavengeEveryBytes;
  }
}
