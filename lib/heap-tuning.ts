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
//   7.3–7.9 → 4.5–4.7 s in the benchmark); old-generation collections are then atomic, pauses of tens of
//   milliseconds on the collector's ~20 MB heap, which a streaming upload does not notice.
// Set at run time: V8 reads these flags each time it decides, so no node command-line flag
// (which the container entrypoints and the executables' shebang lines cannot carry) is needed.
import { setFlagsFromString } from 'node:v8';

/** Heap growing percent for the collector: memory-bounded (its RSS target is < 200 MB with 20 streams). */
export const COLLECTOR_HEAP_GROWING_PERCENT = 100;
/** For upload clients (podtracer): one stream each, so memory is not the constraint. */
export const CLIENT_HEAP_GROWING_PERCENT = 300;
/** The collector's further tuning: see the top of this file. */
export const COLLECTOR_HEAP_TUNING: HeapTuningOptions = { incrementalMarking: false };

export interface HeapTuningOptions {
  /**
   * False turns V8's incremental marking off (see the top of this file): for a process whose
   * off-heap allocations are bulk, short-lived buffers and whose heap is small (the collector).
   */
  incrementalMarking?: boolean;
}

export function tuneHeapForStreaming(growingPercent: number, opts: HeapTuningOptions = {}): void {
  if (!Number.isInteger(growingPercent) || growingPercent < 1 || growingPercent > 1000) {
    throw new RangeError(`heap growing percent must be an integer in 1..1000, got ${growingPercent}`);
  }
  setFlagsFromString(`--heap-growing-percent=${growingPercent}`);
  if (opts.incrementalMarking === false) setFlagsFromString('--no-incremental-marking');
}
