// An upload cancelled right after it starts (the client aborts in the same turn of the event loop
// as it opened the call) must not leave a stream open at the collector. grpc-js 1.14 creates a
// call's HTTP/2 stream a few microtasks after the call starts without checking whether the call
// was cancelled meanwhile: the caller sees CANCELLED, yet a stream carrying the header goes out and
// nothing ever ends it, so the collector holds it until its idle timer or the client's deadline.
// The idle timer and deadline are set far out here, so only a real cancellation frees the call.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import type { RunningCollector } from '../server.js';
import { filesUnder, header, startInProcessCollector, waitFor } from './helpers.js';

describe('an upload cancelled as it starts leaves no call open', () => {
  let dir: string;
  let collector: RunningCollector;
  let client: CollectorClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-cancel-start-'));
    collector = await startInProcessCollector({ STORAGE: 'fs', STORAGE_DIR: dir, STREAM_IDLE_SECONDS: '3600' });
    client = createCollectorClient(collector.address);
    // A connected channel, as for every upload after the first: the window is then a few microtasks.
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  });

  afterAll(async () => {
    client?.close();
    await collector?.shutdown(1000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // 0 = aborted synchronously after uploadSegment() returned; n = after n microtask turns.
  test.each([0, 1, 2, 3, 5, 8])('aborted after %i microtask turns: CANCELLED for the client, nothing in flight or stored at the collector', async (turns) => {
    const invalidBefore = await collector.metrics.uploadCount('invalid');
    const storedBefore = await collector.metrics.uploadCount('stored');
    const controller = new AbortController();
    const data = (async function* () {
      for (let i = 0; i < 16; i++) yield Buffer.alloc(64 * 1024, i);
    })();
    const upload = uploadSegment(client, header({ captureId: 'cancel-at-start', pod: `t${turns}`, format: 'FORMAT_TEXT' }), data, {
      signal: controller.signal,
      deadlineMs: 3_600_000,
    });
    for (let i = 0; i < turns; i++) await Promise.resolve(); // one microtask turn
    controller.abort();
    const err = await upload.then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.CANCELLED);
    // A stream left behind by the cancelled call would go out before the next call's frames on the
    // same connection (HTTP/2 keeps their order), so once the next upload is answered the collector
    // has seen it.
    const next = await uploadSegment(client, header({ captureId: 'after-cancel', pod: `t${turns}`, format: 'FORMAT_TEXT' }), Buffer.from('next'));
    expect(next.bytes).toBe('4');
    // Bounded far below the collector's idle timer (1 h here): a stream left open never ends.
    await waitFor(() => collector.inflight.size === 0, 'the collector to have no call in flight', 30_000);
    expect(await collector.metrics.uploadCount('stored')).toBe(storedBefore + 1);
    expect(await collector.metrics.uploadCount('invalid')).toBe(invalidBefore);
    expect(filesUnder(dir).filter((f) => f.includes('cancel-at-start'))).toEqual([]);
  }, 60_000);
});
