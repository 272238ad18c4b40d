// The flow table's eviction picks its oldest tenth by selection rather than by sorting the whole
// table: the selection must give exactly the first n of a stable sort, ties included.
import { describe, expect, test } from '@jest/globals';
import { nthSmallest, smallestSlots } from '../trackers/flows.js';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keys with many ties, nearly sorted runs, free slots (Infinity) and the unfinished offset. */
function keysOf(rnd: () => number, length: number): Float64Array {
  const keys = new Float64Array(length);
  const spread = rnd() < 0.5 ? 4 : 1e6;
  for (let i = 0; i < length; i++) {
    const r = rnd();
    keys[i] = r < 0.1 ? Infinity : (rnd() < 0.5 ? i : Math.floor(rnd() * spread)) + (rnd() < 0.3 ? 2 ** 52 : 0);
  }
  return keys;
}

describe('eviction selection', () => {
  test('nthSmallest is the k-th of the sorted keys', () => {
    const rnd = random(1);
    for (let round = 0; round < 500; round++) {
      const keys = keysOf(rnd, 1 + Math.floor(rnd() * 400));
      const k = Math.floor(rnd() * keys.length);
      expect(nthSmallest(keys.slice(), k)).toBe(keys.slice().sort()[k]);
    }
  });

  test('smallestSlots is the first n of a stable sort by (key, creation order)', () => {
    const rnd = random(2);
    for (let round = 0; round < 500; round++) {
      const used = 1 + Math.floor(rnd() * 400);
      const keys = keysOf(rnd, used);
      const finite = keys.filter((k) => k !== Infinity).length;
      if (finite === 0) continue;
      // creation order is not slot order: slots are reused
      const seqs = new Float64Array(used);
      const order = [...Array(used).keys()].sort(() => rnd() - 0.5);
      order.forEach((slot, i) => (seqs[slot] = i));
      const n = 1 + Math.floor(rnd() * finite);
      const expected = [...Array(used).keys()].sort((a, b) => seqs[a]! - seqs[b]!).sort((a, b) => keys[a]! - keys[b]!).slice(0, n);
      expect(smallestSlots(keys, seqs, used, n)).toEqual(expected);
    }
  });
});
