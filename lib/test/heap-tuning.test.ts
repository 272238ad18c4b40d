import { describe, expect, test } from '@jest/globals';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { CLIENT_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_TUNING, noteStreamedBytes, tuneHeapForStreaming } from '../heap-tuning.js';

/** Forced young-generation GCs seen while `fn` runs (perf_hooks reports each GC as an entry). */
async function scavengesDuring(fn: () => void): Promise<number> {
  let seen = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // Node's GC entries carry { kind, flags } in `detail`, which the PerformanceEntry type lacks
      const detail = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR && ((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) seen++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  fn();
  // GC entries are delivered asynchronously; a timer turn lets them arrive
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return seen;
}

describe('tuneHeapForStreaming', () => {
  test.each([0, -5, 1.5, 1001, Number.NaN])('refuses %p', (p) => {
    expect(() => tuneHeapForStreaming(p)).toThrow(RangeError);
  });

  test.each([0, -1, 0.5, Number.NaN])('refuses a scavenge interval of %p bytes', (bytes) => {
    expect(() => tuneHeapForStreaming(COLLECTOR_HEAP_GROWING_PERCENT, { scavengeEveryBytes: bytes })).toThrow(RangeError);
  });

  test('the project values are in range and the collector, bounded by memory, grows its heap less than a client', () => {
    expect(COLLECTOR_HEAP_GROWING_PERCENT).toBeLessThan(CLIENT_HEAP_GROWING_PERCENT);
    expect(() => tuneHeapForStreaming(COLLECTOR_HEAP_GROWING_PERCENT)).not.toThrow();
  });

  test('noteStreamedBytes does nothing until enabled, then runs a scavenge each time the interval is reached', async () => {
    const before = await scavengesDuring(() => noteStreamedBytes(1 << 30));
    expect(before).toBe(0);
    tuneHeapForStreaming(COLLECTOR_HEAP_GROWING_PERCENT, { ...COLLECTOR_HEAP_TUNING, scavengeEveryBytes: 1000 });
    const below = await scavengesDuring(() => noteStreamedBytes(999));
    expect(below).toBe(0);
    const reached = await scavengesDuring(() => {
      noteStreamedBytes(1); // 1000 reached: one scavenge
      for (let i = 0; i < 3; i++) noteStreamedBytes(1000); // three more
    });
    expect(reached).toBe(4);
  });
});
