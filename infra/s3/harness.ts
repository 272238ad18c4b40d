// One interface over the S3 servers tests, benchmarks and the demo can run against: the embedded
// server (a child process), a throwaway Ceph RGW cluster, or any endpoint given by URL (whose
// credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). `--s3 embedded|rgw|URL`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/s3.js';
import { startS3Server } from './child.js';
import { startRgw } from './rgw.js';

export type S3Backend = 'embedded' | 'rgw' | 'url';

export interface S3Spec {
  backend: S3Backend;
  /** for backend "url" */
  url?: string;
}

/** "embedded", "rgw" or an http(s) URL; anything else is a clear error. */
export function parseS3Spec(spec: string): S3Spec {
  if (spec === 'embedded' || spec === 'rgw') return { backend: spec };
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new Error(`--s3 must be "embedded", "rgw" or an http(s) URL, got "${spec}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--s3 URL must be http or https, got "${spec}"`);
  return { backend: 'url', url: spec.replace(/\/+$/, '') };
}

export interface S3TestServerOptions {
  /** Buckets created before the server is handed out. */
  buckets?: string[];
  /** Address the server listens on (embedded and rgw; default 127.0.0.1). */
  address?: string;
  /** Parent of the server's own directory (default: the OS temp dir). */
  parentDir?: string;
  /** Bound on the start (ms). */
  startTimeoutMs?: number;
  /** Credentials for a URL backend (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). */
  env?: NodeJS.ProcessEnv;
}

export interface S3TestServer {
  backend: S3Backend;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Milliseconds from nothing to serving (0 for a URL). */
  startMs: number;
  /** Env for a process that should use this server (STORAGE, S3_ENDPOINT, AWS_* …). */
  env(bucket: string): Record<string, string>;
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Whether kill()/restart() can take the S3 endpoint down and up (not for a URL). */
  canKill: boolean;
  /** SIGKILLs the process serving S3 (a storage outage); objects stored so far stay. */
  kill(): Promise<void>;
  /** Serves again on the same endpoint, with the objects it had. */
  restart(): Promise<void>;
  /** Stops everything it started and removes its files. Idempotent. */
  stop(): Promise<void>;
}

function common(endpoint: string, region: string, accessKeyId: string, secretAccessKey: string) {
  const client = () => createS3Client({ endpoint, region, forcePathStyle: true, accessKeyId, secretAccessKey });
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    env: (bucket: string) => ({
      STORAGE: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    client,
    async createBucket(name: string) {
      const c = client();
      try {
        await c.send(new CreateBucketCommand({ Bucket: name })).catch((err: { name?: string }) => {
          if (err.name !== 'BucketAlreadyOwnedByYou') throw err;
        });
      } finally {
        c.destroy();
      }
    },
  };
}

export async function startS3TestServer(spec: S3Spec | string, opts: S3TestServerOptions = {}): Promise<S3TestServer> {
  const s = typeof spec === 'string' ? parseS3Spec(spec) : spec;
  const t0 = Date.now();
  if (s.backend === 'embedded') {
    const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'snoopy-s3-'));
    try {
      const child = await startS3Server({
        dir,
        buckets: opts.buckets ?? [],
        ...(opts.address ? { address: opts.address } : {}),
        ...(opts.startTimeoutMs ? { startTimeoutMs: opts.startTimeoutMs } : {}),
      });
      let stopped = false;
      return {
        backend: 'embedded',
        ...common(child.endpoint, 'us-east-1', child.accessKeyId, child.secretAccessKey),
        startMs: Date.now() - t0,
        canKill: true,
        kill: () => child.kill(),
        restart: () => child.restart(),
        async stop() {
          if (stopped) return;
          stopped = true;
          await child.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  if (s.backend === 'rgw') {
    const rgw = await startRgw({
      buckets: opts.buckets ?? [],
      ...(opts.address ? { address: opts.address } : {}),
      ...(opts.parentDir ? { parentDir: opts.parentDir } : {}),
      ...(opts.startTimeoutMs ? { startTimeoutMs: opts.startTimeoutMs } : {}),
    });
    return {
      backend: 'rgw',
      ...common(rgw.endpoint, rgw.region, rgw.accessKeyId, rgw.secretAccessKey),
      startMs: rgw.startMs,
      canKill: true,
      kill: () => rgw.killGateway(),
      restart: () => rgw.restartGateway(),
      stop: () => rgw.stop(),
    };
  }
  const env = opts.env ?? process.env;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new Error(`--s3 ${s.url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  const server: S3TestServer = {
    backend: 'url',
    ...common(s.url!, env.S3_REGION || env.AWS_REGION || 'us-east-1', accessKeyId, secretAccessKey),
    startMs: 0,
    canKill: false,
    kill: () => Promise.reject(new Error(`cannot take ${s.url} down: it was not started here`)),
    restart: () => Promise.reject(new Error(`cannot restart ${s.url}: it was not started here`)),
    stop: () => Promise.resolve(),
  };
  for (const b of opts.buckets ?? []) await server.createBucket(b);
  return server;
}
