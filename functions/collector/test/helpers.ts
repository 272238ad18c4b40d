// Shared test fixtures: real S3 server child, collectors in-process or as the real executable,
// real pcaps from tcpdump in network namespaces, a recording CloudEvents sink.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from '@jest/globals';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../../lib/log.js';
import { createVethPair, type VethPair } from '../../../lib/testing/veth-pair.js';
import type { SegmentHeader } from '../../../lib/proto.js';
import { configFromEnv } from '../config.js';
import { startCollector, type RunningCollector } from '../server.js';

export const run = promisify(execFile);
export const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const suffix = () => randomBytes(3).toString('hex');

export { COLLECTOR_MAIN, startCollectorChild, type CollectorChild } from '../child.js';
export const SLOW_CLIENT = fileURLToPath(new URL('./fixtures/slow-client.js', import.meta.url));

/** Polls until fn returns a truthy value; bounded. */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function header(overrides: Partial<SegmentHeader> = {}): SegmentHeader {
  return {
    captureId: 'cap-1',
    snoopyJob: 'tcpdump-job',
    snoopyJobNamespace: 'snoopy-operator',
    pod: 'web-0',
    podNamespace: 'shop',
    podUid: '7f0e2a8c-1111-2222-3333-444455556666',
    node: 'node-a',
    container: 'app',
    command: 'tcpdump',
    args: ['-i', 'eth0', '-w', '-'],
    sequence: 0,
    last: false,
    format: 'FORMAT_PCAP',
    startedUnixNanos: String(BigInt(Date.now()) * 1_000_000n),
    token: '',
    ...overrides,
  };
}

export async function listBucket(client: S3Client, bucket: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

/** Completed objects s3rver holds on disk (files named "<key>._S3rver_object"), and pending multipart uploads. */
export function s3rverDisk(dir: string, bucket: string): { objects: string[]; pendingUploads: string[] } {
  const root = join(dir, bucket);
  const objects: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) {
        if (name !== '._S3rver_uploads') walk(full);
      } else if (name.endsWith('._S3rver_object')) objects.push(relative(root, full));
    }
  };
  walk(root);
  const uploads = join(root, '._S3rver_uploads');
  return { objects: objects.sort(), pendingUploads: existsSync(uploads) ? readdirSync(uploads) : [] };
}

/** Nothing of an upload stayed: no object listed, none on s3rver's disk, no multipart upload pending. */
export async function expectNothingStored(client: S3Client, dir: string, bucket: string): Promise<void> {
  expect(await listBucket(client, bucket)).toEqual([]);
  const disk = s3rverDisk(dir, bucket);
  expect(disk.objects).toEqual([]);
  expect(disk.pendingUploads).toEqual([]);
}

/** The call failed with this gRPC status and these details (a RegExp: matching them). */
export async function expectStatus(p: Promise<unknown>, code: grpc.status, details: string | RegExp): Promise<void> {
  const err = (await p.then(
    () => new Error('the upload was accepted'),
    (e: unknown) => e,
  )) as grpc.ServiceError;
  expect(grpc.status[err.code]).toBe(grpc.status[code]);
  if (typeof details === 'string') expect(err.details).toBe(details);
  else expect(err.details).toMatch(details);
}

/** Every file under a directory, relative, sorted. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

export async function startInProcessCollector(env: Record<string, string>): Promise<RunningCollector> {
  const config = configFromEnv({ PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', SHUTDOWN_GRACE_SECONDS: '5', ...env });
  return startCollector(config, createLogger('collector-test', process.env.TEST_LOG_LEVEL ?? 'silent'));
}


/** Two network namespaces joined by a veth pair; ping between them is the traffic to capture. */
export class NetnsPair {
  readonly ipA: string;
  readonly ipB: string;
  private pair: VethPair | undefined;

  constructor() {
    const octet = 1 + Math.floor(Math.random() * 250);
    this.ipA = `10.213.${octet}.1`;
    this.ipB = `10.213.${octet}.2`;
  }

  get a(): string {
    return this.pair!.nsA;
  }
  get vethA(): string {
    return this.pair!.ifA;
  }

  async create(): Promise<void> {
    this.pair = await createVethPair({ tag: 'sc', ipA: this.ipA, ipB: this.ipB, prefixLength: 30 });
  }

  /** Captures `count` ICMP packets on A's veth while A pings B; returns the pcap bytes (tcpdump -w -). */
  async capture(pings: number): Promise<Buffer> {
    const tcpdump = spawn('ip', ['netns', 'exec', this.a, 'tcpdump', '-i', this.vethA, '-U', '-n', '-c', String(pings * 2), '-w', '-', 'icmp'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    tcpdump.stdout.on('data', (d: Buffer) => chunks.push(d));
    const exited = new Promise<number | null>((r) => tcpdump.once('exit', (code) => r(code)));
    // tcpdump says "listening on" on stderr once the capture is armed.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
      tcpdump.stderr.on('data', (d: Buffer) => {
        if (d.toString().includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    try {
      await run('ip', ['netns', 'exec', this.a, 'ping', '-c', String(pings), '-i', '0.2', '-W', '2', this.ipB]);
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code !== 0) throw new Error(`tcpdump ended with ${code}`);
    } finally {
      tcpdump.kill('SIGKILL');
    }
    return Buffer.concat(chunks);
  }

  async destroy(): Promise<void> {
    await this.pair?.remove();
  }
}

/** A stream of `total` random bytes in `piece`-sized buffers, optionally slowed. */
export async function* randomStream(total: number, piece = 256 * 1024): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += piece) yield randomBytes(Math.min(piece, total - sent));
}
