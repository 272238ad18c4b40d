// The real snoopy-collector executable: health service, legacy ExportPodData from a client of the
// seed proto, metrics, SIGTERM draining an upload in flight, and its command-line surface.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { createCollectorClient, uploadSegment } from '../../../lib/collector-client.js';
import { loadCollectorProtos, type LegacyPodData } from '../../../lib/proto.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import { COLLECTOR_MAIN, header, listBucket, run, sha256, sleep, startCollectorChild, waitFor, type CollectorChild } from './helpers.js';

const BUCKET = 'exec';

function healthClient(address: string) {
  const def = protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  return new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

function check(client: grpc.Client, service: string): Promise<string> {
  return new Promise((resolve, reject) => {
    (client as unknown as { Check: (req: object, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void }).Check(
      { service },
      (err, res) => (err ? reject(err) : resolve(res!.status)),
    );
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('snoopy-collector executable', () => {
  let dir: string;
  let s3: S3ServerChild;
  let s3client: S3Client;
  const children: CollectorChild[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-exec-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
    s3client = s3.client();
  });
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    s3client?.destroy();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}): Promise<CollectorChild> {
    const c = await startCollectorChild({ ...s3.env(BUCKET), ...env });
    children.push(c);
    return c;
  }

  test('answers the standard health check, serves /healthz and /metrics, and stores legacy ExportPodData streams', async () => {
    const c = await start({ S3_PREFIX: 'old', LEGACY_OBJECT_BYTES: String(64 * 1024) });
    const health = healthClient(c.address);
    expect(await check(health, '')).toBe('SERVING');
    expect(await check(health, 'snoopy.v1.Collector')).toBe('SERVING');
    expect(await check(health, 'protobuf.DataEndpoint')).toBe('SERVING');
    health.close();
    expect(await (await fetch(`http://127.0.0.1:${c.metricsPort}/healthz`)).json()).toEqual({ status: 'ok' });

    const { LegacyClient } = loadCollectorProtos();
    const legacy = new LegacyClient(c.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      ExportPodData(): grpc.ClientDuplexStream<LegacyPodData, LegacyPodData>;
    };
    const call = legacy.ExportPodData();
    const replies: Array<{ key: string; bytes: number; sha256: string }> = [];
    call.on('data', (m: LegacyPodData) => replies.push(JSON.parse(m.data.toString()) as (typeof replies)[number]));
    const ended = new Promise<void>((resolve, reject) => {
      call.on('end', () => resolve());
      call.on('error', reject);
    });
    // Two pods on one stream, one name with path tricks; the web-0 data spans two objects.
    const web: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const line = Buffer.from(`64 bytes from 10.0.0.${i}: icmp_seq=${i} ttl=64 time=0.05 ms\n`.repeat(60));
      web.push(line);
      call.write({ name: 'web-0', data: line });
      call.write({ name: '../../evil/pod', data: Buffer.from(`evil ${i}\n`) });
    }
    call.end();
    await ended;
    legacy.close();
    const keys = await listBucket(s3client, BUCKET);
    const webKeys = keys.filter((k) => k.startsWith('old/legacy/web-0/'));
    const evilKeys = keys.filter((k) => k.startsWith('old/legacy/.._.._evil_pod/'));
    expect(webKeys.length).toBeGreaterThanOrEqual(2);
    expect(evilKeys).toHaveLength(1);
    expect(keys).toHaveLength(webKeys.length + evilKeys.length);
    for (const k of keys) expect(k).toMatch(/^old\/legacy\/[A-Za-z0-9._-]+\/\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}-\d{4}\.bin$/);
    // Objects of one stream, in order, are exactly what was sent for that name.
    const parts = await Promise.all(
      webKeys.sort().map(async (k) => Buffer.from(await (await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }))).Body!.transformToByteArray())),
    );
    expect(sha256(Buffer.concat(parts))).toBe(sha256(Buffer.concat(web)));
    expect(parts.every((p) => p.length <= 64 * 1024)).toBe(true);
    expect(replies.map((r) => r.key).sort()).toEqual(keys);
    expect(await metric(c.metricsPort, 'snoopy_collector_legacy_objects_total')).toBe(keys.length);

    // A second stream never appends to the first one's objects.
    const again = new LegacyClient(c.address, grpc.credentials.createInsecure()) as unknown as typeof legacy;
    const call2 = again.ExportPodData();
    call2.on('data', () => undefined);
    const ended2 = new Promise<void>((r, j) => {
      call2.on('end', () => r());
      call2.on('error', j);
    });
    call2.write({ name: 'web-0', data: Buffer.from('second run\n') });
    call2.end();
    await ended2;
    again.close();
    const after = await listBucket(s3client, BUCKET);
    expect(after.filter((k) => !keys.includes(k))).toHaveLength(1);
  });

  test('SIGTERM during an upload lets it finish, refuses new calls, then exits 0', async () => {
    const c = await start({ S3_PREFIX: 'drain', SHUTDOWN_GRACE_SECONDS: '30' });
    const client = createCollectorClient(c.address);
    const pieces: Buffer[] = [];
    let signalled = false;
    async function* slow() {
      for (let i = 0; i < 40; i++) {
        const b = Buffer.alloc(256 * 1024, i);
        pieces.push(b);
        yield b;
        if (i === 5) {
          await waitFor(async () => (await metric(c.metricsPort, 'snoopy_collector_active_uploads')) === 1, 'the upload in flight');
          c.child.kill('SIGTERM');
          signalled = true;
        }
        if (i >= 5) await sleep(20);
      }
    }
    const upload = uploadSegment(client, header({ captureId: 'drain' }), slow());
    await waitFor(() => signalled, 'SIGTERM sent');
    // New calls are refused once the server is shutting down.
    const other = createCollectorClient(c.address);
    const refused = (await uploadSegment(other, header({ captureId: 'late' }), Buffer.from('late')).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(grpc.status[refused.code]).toBe('UNAVAILABLE');
    other.close();
    const reply = await upload;
    expect(reply.sha256).toBe(sha256(Buffer.concat(pieces)));
    expect(await c.exited).toBe(0);
    client.close();
    expect(await listBucket(s3client, BUCKET).then((ks) => ks.filter((k) => k.startsWith('drain/')))).toEqual([reply.key]);
    expect(c.stderr()).toContain('"msg":"collector stopped"');
  });

  test('an upload still running when the grace period ends is cancelled and leaves nothing', async () => {
    const c = await start({ S3_PREFIX: 'grace', SHUTDOWN_GRACE_SECONDS: '1' });
    const client = createCollectorClient(c.address);
    async function* stalled() {
      yield Buffer.alloc(1024 * 1024, 1);
      await waitFor(async () => (await metric(c.metricsPort, 'snoopy_collector_active_uploads')) === 1, 'the upload in flight');
      c.child.kill('SIGTERM');
      await c.exited; // far beyond the grace period
      yield Buffer.alloc(10, 2);
    }
    const err = (await uploadSegment(client, header({ captureId: 'grace' }), stalled()).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(['CANCELLED', 'UNAVAILABLE']).toContain(grpc.status[err.code]);
    expect(await c.exited).toBe(0);
    client.close();
    expect((await listBucket(s3client, BUCKET)).filter((k) => k.startsWith('grace/'))).toEqual([]);
  });

  test('prints --help; a bad setting is a one-line reason and exit 2', async () => {
    const help = await run(process.execPath, [COLLECTOR_MAIN, '--help']);
    expect(help.stdout).toContain('Usage: snoopy-collector');
    await expect(run(process.execPath, [COLLECTOR_MAIN], { env: { PATH: process.env.PATH, STORAGE: 'tape' } })).rejects.toMatchObject({
      code: 2,
      stderr: 'snoopy-collector: STORAGE must be "s3" or "fs", got "tape"\n',
    });
    await expect(run(process.execPath, [COLLECTOR_MAIN], { env: { PATH: process.env.PATH, STORAGE: 's3' } })).rejects.toMatchObject({
      code: 2,
      stderr: 'snoopy-collector: STORAGE=s3 needs S3_BUCKET\n',
    });
    await expect(run(process.execPath, [COLLECTOR_MAIN], { env: { PATH: process.env.PATH, S3_BUCKET: 'b', MAX_SEGMENT_BYTES: '-5' } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^snoopy-collector: MAX_SEGMENT_BYTES must be an integer in 1\.\.\d+, got "-5"\n$/),
    });
  });
});
