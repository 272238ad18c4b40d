// STORAGE=fs: the same contract on a directory; staged files are never visible as objects.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import type { RunningCollector } from '../server.js';
import { filesUnder, header, randomStream, sha256, startInProcessCollector, waitFor } from './helpers.js';

describe('collector with filesystem storage', () => {
  let dir: string;
  let collector: RunningCollector;
  let client: CollectorClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-fs-'));
    collector = await startInProcessCollector({ STORAGE: 'fs', STORAGE_DIR: dir, MAX_SEGMENT_BYTES: String(4 * 1024 * 1024) });
    client = createCollectorClient(collector.address);
  });
  afterAll(async () => {
    client?.close();
    await collector?.shutdown(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  test('stores segments under the key layout with a metadata sidecar, and lists them', async () => {
    const body = Buffer.concat([Buffer.from('line one\n'), Buffer.alloc(3 * 1024 * 1024, 'x'), Buffer.from('\nend\n')]);
    const reply = await uploadSegment(client, header({ format: 'FORMAT_TEXT', captureId: 'fs1', sequence: 12 }), body);
    const key = 'snoopy-operator/tcpdump-job/fs1/shop/web-0/000012.txt';
    expect(reply).toEqual({
      bucket: 'local',
      key,
      bytes: String(body.length),
      sha256: sha256(body),
      uri: pathToFileURL(join(dir, key)).href,
    });
    expect(sha256(readFileSync(join(dir, key)))).toBe(sha256(body));
    expect(JSON.parse(readFileSync(join(dir, `${key}.meta.json`), 'utf8'))).toEqual({
      node: 'node-a',
      'pod-uid': '7f0e2a8c-1111-2222-3333-444455556666',
      container: 'app',
      command: 'tcpdump',
    });
    expect(await collector.store.list('snoopy-operator/tcpdump-job/fs1/')).toEqual([key]);
    expect(readdirSync(join(dir, '.staging'))).toEqual([]);
  });

  test('a broken stream leaves no file, neither in place nor staged', async () => {
    const before = await collector.metrics.uploadCount('cancelled');
    const controller = new AbortController();
    let sent = 0;
    async function* data() {
      for await (const b of randomStream(3 * 1024 * 1024, 64 * 1024)) {
        sent += b.length;
        if (sent > 1024 * 1024) controller.abort();
        yield b;
      }
    }
    const err = (await uploadSegment(client, header({ captureId: 'fs-broken' }), data(), { signal: controller.signal }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.CANCELLED);
    await waitFor(async () => (await collector.metrics.uploadCount('cancelled')) > before, 'the collector to abort');
    expect(filesUnder(dir).filter((f) => f.includes('fs-broken') || f.startsWith('.staging'))).toEqual([]);
  });

  test('oversize and bad names are refused with nothing written', async () => {
    const before = filesUnder(dir);
    const big = (await uploadSegment(client, header({ captureId: 'fs-big' }), randomStream(6 * 1024 * 1024)).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(grpc.status[big.code]).toBe('INVALID_ARGUMENT');
    const bad = (await uploadSegment(client, header({ pod: '../../../tmp/x' }), Buffer.from('x')).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(grpc.status[bad.code]).toBe('INVALID_ARGUMENT');
    expect(bad.details).toMatch(/^pod "\.\.\/\.\.\/\.\.\/tmp\/x" is not a clean name/);
    expect(filesUnder(dir)).toEqual(before);
  });

  test('a retried segment replaces the file', async () => {
    const h = header({ captureId: 'fs-retry', format: 'FORMAT_PCAPNG' });
    await uploadSegment(client, h, Buffer.from('one'));
    const r = await uploadSegment(client, h, Buffer.from('two!'));
    expect(r.key.endsWith('/000000.pcapng')).toBe(true);
    expect(readFileSync(join(dir, r.key), 'utf8')).toBe('two!');
    expect(filesUnder(dir).filter((f) => f.includes('fs-retry'))).toEqual([r.key, `${r.key}.meta.json`]);
  });
});
