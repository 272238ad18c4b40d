// The process-wide pool of part buffers: what finished uploads give back is what new ones take,
// bounded by the budget's worth; buffers of another size are not kept.
import { describe, expect, test } from '@jest/globals';
import { PartBufferPool } from '../storage/part-buffers.js';

describe('PartBufferPool', () => {
  test('a buffer given back is the next one taken; a new one only when none is idle', () => {
    const pool = new PartBufferPool(1024, 2);
    expect(pool.takeIdle()).toBeUndefined();
    const a = pool.take();
    expect(a.length).toBe(1024);
    pool.give(a);
    expect(pool.idleCount).toBe(1);
    expect(pool.take()).toBe(a);
    expect(pool.idleCount).toBe(0);
    const b = pool.take();
    expect(b).not.toBe(a);
  });

  test('keeps at most `max` idle buffers and none of another size', () => {
    const pool = new PartBufferPool(1024, 2);
    const bufs = [pool.take(), pool.take(), pool.take()];
    for (const buf of bufs) pool.give(buf);
    expect(pool.idleCount).toBe(2);
    pool.give(Buffer.alloc(512));
    expect(pool.idleCount).toBe(2);
    const small = new PartBufferPool(1024, 4);
    small.give(Buffer.alloc(2048));
    expect(small.takeIdle()).toBeUndefined();
  });
});
