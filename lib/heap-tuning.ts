// Garbage-collector tuning for processes that stream bulk bytes through gRPC (the collector and
// its clients). grpc-js allocates a fresh Buffer for every message it frames or reassembles; V8
// counts that off-heap memory against the old generation's limit, which it sets at about twice
// the tiny live heap, so it ran a full mark-compact every ~16 MB of traffic (~80 per 640 MiB,
// measured with --trace-gc) — a third of the collector's CPU. A larger growing factor lets the
// short-lived buffers die in batches. Set at run time: V8 reads the flag each time it computes
// the next limit, so no node command-line flag (which the container entrypoints and the
// executables' shebang lines cannot carry) is needed.
import { setFlagsFromString } from 'node:v8';

/** Heap growing percent for the collector: memory-bounded (its RSS target is < 200 MB with 20 streams). */
export const COLLECTOR_HEAP_GROWING_PERCENT = 100;
/** For upload clients (podtracer): one stream each, so memory is not the constraint. */
export const CLIENT_HEAP_GROWING_PERCENT = 300;

export function tuneHeapForStreaming(growingPercent: number): void {
  if (!Number.isInteger(growingPercent) || growingPercent < 1 || growingPercent > 1000) {
    throw new RangeError(`heap growing percent must be an integer in 1..1000, got ${growingPercent}`);
  }
  setFlagsFromString(`--heap-growing-percent=${growingPercent}`);
}
