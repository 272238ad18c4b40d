// The embedded local S3 server: s3rver (pure JavaScript, speaks the S3 REST API including
// multipart uploads, stores objects in a plain directory). MinIO is the production choice, but its
// upstream repository is archived and it is a Go binary; for development, tests and the demo a
// real S3-speaking HTTP server that `npm ci` alone installs is what is needed.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);

/** The parts of s3rver's API used here (the package ships no types). */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  /** Koa's middleware stack, composed when the server starts listening. */
  middleware: Middleware[];
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;
interface AwsAccountModule {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

/** s3rver's built-in key pair, always accepted. */
export const DEFAULT_ACCESS_KEY = 'S3RVER';
export const DEFAULT_SECRET_KEY = 'S3RVER';

export interface LocalS3Options {
  directory: string;
  port?: number;
  address?: string;
  buckets?: string[];
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  address: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

/**
 * s3rver does not implement AbortMultipartUpload (DELETE /bucket/key?uploadId=…): it answers 405
 * and keeps the parts. Aborting matters here (a broken capture stream must leave nothing), so the
 * server handles it: the upload's part directory is removed and 204 returned, as S3 does.
 */
function abortMultipartUpload(directory: string): Middleware {
  return async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string') return next();
    const bucket = ctx.path.split('/')[1] ?? '';
    if (!BUCKET_NAME.test(bucket) || !/^[A-Za-z0-9]+$/.test(uploadId)) return next();
    const uploadDir = join(directory, bucket, '._S3rver_uploads', uploadId);
    if (!existsSync(uploadDir)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code>' +
        `<Message>The specified upload does not exist.</Message><UploadId>${uploadId}</UploadId></Error>`;
      return;
    }
    await rm(uploadDir, { recursive: true, force: true });
    ctx.status = 204;
  };
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * s3rver does not implement ListMultipartUploads (GET /bucket?uploads) either: it answers
 * NotImplemented. Open uploads are what an aborted upload must not leave behind, so the server
 * lists them from its upload directories (key file and start time), sorted by key; all of them in
 * one page.
 */
function listMultipartUploads(directory: string): Middleware {
  return async (ctx, next) => {
    const bucket = ctx.path.split('/')[1] ?? '';
    if (ctx.method !== 'GET' || !('uploads' in ctx.query) || (ctx.path !== `/${bucket}` && ctx.path !== `/${bucket}/`) || !BUCKET_NAME.test(bucket)) return next();
    if (!existsSync(join(directory, bucket))) return next(); // s3rver answers NoSuchBucket
    const root = join(directory, bucket, '._S3rver_uploads');
    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    const uploads: { key: string; id: string; initiated: Date }[] = [];
    for (const id of existsSync(root) ? await readdir(root) : []) {
      const key = await readFile(join(root, id, 'key'), 'utf8').catch(() => undefined);
      if (key === undefined || !key.startsWith(prefix)) continue; // removed meanwhile, or not asked for
      uploads.push({ key, id, initiated: (await stat(join(root, id))).birthtime });
    }
    uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${bucket}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${xmlEscape(prefix)}</Prefix>` +
      `<MaxUploads>${Math.max(1000, uploads.length)}</MaxUploads><IsTruncated>false</IsTruncated>` +
      uploads
        .map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`)
        .join('') +
      '</ListMultipartUploadsResult>';
  };
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(name: string): void {
  if (!BUCKET_NAME.test(name) || name.includes('..')) {
    throw new Error(`invalid bucket name "${name}": 3-63 characters of a-z, 0-9, "." and "-"`);
  }
}

/** Starts the server in this process; buckets are created before it listens. */
export async function runLocalS3(opts: LocalS3Options): Promise<LocalS3> {
  const buckets = opts.buckets ?? [];
  buckets.forEach(validateBucketName);
  mkdirSync(opts.directory, { recursive: true });
  const S3rver = require('s3rver') as S3rverCtor;
  const accessKeyId = opts.accessKeyId ?? DEFAULT_ACCESS_KEY;
  const secretAccessKey = opts.secretAccessKey ?? DEFAULT_SECRET_KEY;
  if (opts.accessKeyId) {
    const account = require('s3rver/lib/models/account') as AwsAccountModule;
    account.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  }
  const address = opts.address ?? '127.0.0.1';
  const server = new S3rver({
    address,
    port: opts.port ?? 0,
    directory: opts.directory,
    silent: true,
    // Path-style only: virtual-host buckets would need wildcard DNS.
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  server.middleware.unshift(abortMultipartUpload(opts.directory), listMultipartUploads(opts.directory));
  const info = await server.run();
  const host = info.address.includes(':') ? `[${info.address}]` : info.address;
  return {
    endpoint: `http://${host}:${info.port}`,
    port: info.port,
    address: info.address,
    accessKeyId,
    secretAccessKey,
    close: () => server.close(),
  };
}
