// The collector's gRPC port offers the wider HTTP/2 receive windows (http2-windows.ts), seen from a
// plain HTTP/2 client, and uploads still arrive whole through them.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import { COLLECTOR_RECEIVE_WINDOWS } from '../http2-windows.js';
import type { RunningCollector } from '../server.js';
import { header, sha256, startInProcessCollector, waitFor } from './helpers.js';

describe('HTTP/2 receive windows of the gRPC port', () => {
  let dir: string;
  let collector: RunningCollector;
  let client: CollectorClient;
  let session: ClientHttp2Session | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-h2win-'));
    collector = await startInProcessCollector({ STORAGE: 'fs', STORAGE_DIR: dir });
    client = createCollectorClient(collector.address);
  });
  afterAll(async () => {
    session?.destroy();
    client?.close();
    await collector?.shutdown(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a new connection is offered the stream and connection windows', async () => {
    // The defaults would be 65,535 bytes for both.
    expect(COLLECTOR_RECEIVE_WINDOWS.streamBytes).toBeGreaterThan(65_535);
    expect(COLLECTOR_RECEIVE_WINDOWS.connectionBytes).toBeGreaterThan(65_535);
    const s = connect(`http://${collector.address}`);
    session = s;
    s.on('error', () => undefined);
    await waitFor(() => s.remoteSettings.initialWindowSize === COLLECTOR_RECEIVE_WINDOWS.streamBytes, 'the stream window in SETTINGS', 10_000);
    await waitFor(() => s.state.remoteWindowSize === COLLECTOR_RECEIVE_WINDOWS.connectionBytes, 'the connection window update', 10_000);
  });

  test('parallel uploads arrive whole through the wider windows', async () => {
    const bodies = Array.from({ length: 4 }, () => randomBytes(3 * 1024 * 1024 + 17));
    const replies = await Promise.all(bodies.map((body, i) => uploadSegment(client, header({ captureId: 'h2win', sequence: i }), body)));
    for (const [i, reply] of replies.entries()) {
      expect(reply.sha256).toBe(sha256(bodies[i]!));
      expect(sha256(readFileSync(join(dir, reply.key)))).toBe(sha256(bodies[i]!));
    }
  });
});
