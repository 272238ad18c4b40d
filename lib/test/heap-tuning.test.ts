import { describe, expect, test } from '@jest/globals';
import { CLIENT_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_TUNING, tuneHeapForStreaming } from '../heap-tuning.js';

describe('tuneHeapForStreaming', () => {
  test.each([0, -5, 1.5, 1001, Number.NaN])('refuses %p', (p) => {
    expect(() => tuneHeapForStreaming(p)).toThrow(RangeError);
  });

  test('the project values are in range and the collector, bounded by memory, grows its heap less than a client', () => {
    expect(COLLECTOR_HEAP_GROWING_PERCENT).toBeLessThan(CLIENT_HEAP_GROWING_PERCENT);
    expect(COLLECTOR_HEAP_TUNING.incrementalMarking).toBe(false);
    expect(() => tuneHeapForStreaming(COLLECTOR_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_TUNING)).not.toThrow();
  });
});
