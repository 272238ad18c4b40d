// The process-wide part-buffer budget: reservations are FIFO and all-or-nothing, and uploads over
// the budget wait (paused) rather than grow memory, then all complete.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCollectorClient, uploadSegment } from '../../../lib/collector-client.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { BufferBudget } from '../storage/buffer-budget.js';
import { header, listBucket, sha256, sleep, startInProcessCollector } from './helpers.js';

const MIB = 1024 * 1024;

describe('BufferBudget', () => {
  test('grants in order, all or nothing, and lets an oversized request through an idle budget', async () => {
    const budget = new BufferBudget(10);
    const order: string[] = [];
    await budget.acquire(6);
    const b = budget.acquire(6).then(() => order.push('b'));
    const c = budget.acquire(1).then(() => order.push('c')); // fits, but waits behind b (FIFO)
    await sleep(10);
    expect(order).toEqual([]);
    expect(budget.waiting).toBe(2);
    budget.release(6);
    await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.inUse).toBe(7);
    const big = budget.acquire(50).then(() => order.push('big'));
    budget.release(7);
    await big;
    expect(order).toEqual(['b', 'c', 'big']);
    budget.release(50);
    expect(budget.inUse).toBe(0);
  });
});

describe('uploads over the memory budget', () => {
  let dir: string;
  let s3: S3ServerChild;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-budget-'));
    s3 = await startS3Server({ dir, buckets: ['budget'] });
  });
  afterAll(async () => {
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('wait their turn and all complete intact', async () => {
    // Room for one upload's part buffer at a time.
    const collector = await startInProcessCollector({ ...s3.env('budget'), UPLOAD_BUFFER_BYTES: String(5 * MIB) });
    const client = createCollectorClient(collector.address);
    const s3client = s3.client();
    try {
      const bodies = Array.from({ length: 4 }, (_, i) => Buffer.alloc(11 * MIB + i, 0x41 + i));
      let maxWaiting = 0;
      const sample = async () => {
        const m = (await collector.metrics.registry.getSingleMetric('snoopy_collector_uploads_waiting_for_buffer')?.get())?.values[0]?.value ?? 0;
        maxWaiting = Math.max(maxWaiting, m);
      };
      const sampler = setInterval(() => void sample(), 5);
      const replies = await Promise.all(bodies.map((b, i) => uploadSegment(client, header({ captureId: 'budget', pod: `p${i}` }), b)));
      clearInterval(sampler);
      expect(replies.map((r) => r.sha256)).toEqual(bodies.map(sha256));
      expect(maxWaiting).toBeGreaterThan(0);
      expect(await listBucket(s3client, 'budget')).toHaveLength(4);
    } finally {
      client.close();
      s3client.destroy();
      await collector.shutdown(1000);
    }
  });
});
