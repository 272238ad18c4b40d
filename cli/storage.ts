// Where a SnoopyJob's objects are and how to read them. Each setting comes from the first of:
// a flag, the environment (S3_ENDPOINT, S3_BUCKET, S3_PREFIX, AWS_*), the SnoopyDataEndpoint the
// SnoopyJob references (its storage block and credentials Secret).
import { createHash } from 'node:crypto';
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ManifestError, parseNodeManifest, type NodeManifest } from '../lib/contracts/node-capture.js';
import { createS3Client, s3SettingsFromEnv, type S3Settings } from '../lib/s3.js';
import { NODE_MANIFEST_DIR, SHA256_TAG, parseNodeManifestKey, sanitizeKeyElement, snoopyJobPrefix } from '../lib/storage-keys.js';
import type { Kube } from '../lib/kube/client.js';
import type { SnoopyJob } from '../lib/api/schema.js';
import { CliError, apiError, networkCode } from './errors.js';
import { getDataEndpoint } from './resources.js';

export interface StorageFlags {
  's3-endpoint'?: string;
  bucket?: string;
  prefix?: string;
  region?: string;
}

export interface StorageLocation {
  settings: S3Settings;
  bucket: string;
  /** the SnoopyJob's key prefix, ending in "/" */
  jobPrefix: string;
  /** for messages */
  where: string;
}

export async function resolveStorage(kube: Kube, sj: SnoopyJob, flags: StorageFlags, env: NodeJS.ProcessEnv = process.env): Promise<StorageLocation> {
  const fromEnv = s3SettingsFromEnv(env);
  let storage: NonNullable<NonNullable<Awaited<ReturnType<typeof getDataEndpoint>>>['spec']['storage']> | undefined;
  let secretCreds: { accessKeyId?: string; secretAccessKey?: string } = {};
  const ref = sj.spec.dataEndpointRef;
  if (ref) {
    const refNs = ref.namespace || sj.metadata.namespace;
    const de = await getDataEndpoint(kube, refNs, ref.name);
    storage = de?.spec.storage;
    const cs = storage?.credentialsSecret;
    if (cs && !(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)) {
      try {
        const secret = await kube.core.readNamespacedSecret({ namespace: refNs, name: cs.name });
        const value = (k: string) => (secret.data?.[k] ? Buffer.from(secret.data[k]!, 'base64').toString('utf8') : secret.stringData?.[k]);
        secretCreds = { accessKeyId: value(cs.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID'), secretAccessKey: value(cs.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY') };
      } catch (e) {
        throw apiError(e, `reading the storage credentials Secret ${refNs}/${cs.name} (or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`);
      }
    }
  }
  const endpoint = flags['s3-endpoint'] || env.S3_ENDPOINT || storage?.endpoint || undefined;
  const settings: S3Settings = {
    ...(endpoint ? { endpoint } : {}),
    region: flags.region || env.S3_REGION || env.AWS_REGION || storage?.region || 'us-east-1',
    forcePathStyle: env.S3_FORCE_PATH_STYLE ? fromEnv.forcePathStyle : (storage?.forcePathStyle ?? Boolean(endpoint)),
    ...(fromEnv.accessKeyId ? { accessKeyId: fromEnv.accessKeyId, secretAccessKey: fromEnv.secretAccessKey } : secretCreds),
    ...(fromEnv.sessionToken ? { sessionToken: fromEnv.sessionToken } : {}),
    // a dead storage server should fail the command in seconds, not after the SDK's long defaults
    requestTimeoutMs: 15_000,
    maxAttempts: 2,
  };
  const bucket = flags.bucket || env.S3_BUCKET || storage?.bucket || 'snoopy';
  const prefix = flags.prefix ?? env.S3_PREFIX ?? storage?.prefix;
  return { settings, bucket, jobPrefix: snoopyJobPrefix(prefix, sj.metadata.namespace, sj.metadata.name), where: `${endpoint ?? 'AWS S3'} bucket ${bucket}` };
}

/** One line for a failed storage call. */
export function storageError(err: unknown, where: string): CliError {
  const net = networkCode(err);
  // a Service's in-cluster name (the endpoint's own address) is not resolvable outside the cluster
  const service = /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.[a-z0-9.-]+)?(?::(\d+))?/.exec(where);
  if (net === 'ENOTFOUND' && service) {
    const [, svc, ns, port = '80'] = service;
    return new CliError(`cannot reach storage at ${where}: a cluster-internal name; from outside the cluster run "kubectl port-forward -n ${ns} svc/${svc} ${port}" and add --s3-endpoint http://127.0.0.1:${port}`);
  }
  if (net) return new CliError(`cannot reach storage at ${where} (${net}); check --s3-endpoint or S3_ENDPOINT`);
  const name = (err as { name?: string }).name ?? '';
  if (name === 'NoSuchBucket') return new CliError(`storage at ${where}: the bucket does not exist`);
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/.test(name)) return new CliError(`storage at ${where} refused the credentials (${name}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`);
  if (name === 'TimeoutError' || /timed? ?out/i.test((err as Error).message ?? '')) return new CliError(`storage at ${where} did not answer in time`);
  return new CliError(`storage at ${where}: ${name ? `${name}: ` : ''}${((err as Error).message ?? String(err)).split('\n')[0]}`);
}

export function openStorage(loc: StorageLocation): S3Client {
  return createS3Client(loc.settings);
}

export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
}

/** Every object under the SnoopyJob's prefix, or under `prefix` (which starts with it). */
export async function listObjects(s3: S3Client, loc: StorageLocation, prefix = loc.jobPrefix): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  // bounded: 10,000 pages of 1,000 keys
  for (let page = 0; page < 10_000; page++) {
    let res;
    try {
      res = await s3.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    } catch (e) {
      throw storageError(e, loc.where);
    }
    for (const o of res.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag.replace(/"/g, '') } : {}) });
    if (!res.IsTruncated || !res.NextContinuationToken) break;
    token = res.NextContinuationToken;
  }
  return out;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Reads one object whole and checks it: the size the listing gave, a single-part object's ETag (its
 * MD5), and the sha256 the collector recorded as its object tag when it stored it.
 */
export async function fetchObject(s3: S3Client, loc: StorageLocation, key: string, expected: { size: number; etag?: string }): Promise<Buffer> {
  let body: Buffer;
  const tags: Record<string, string> = {};
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key }));
    body = Buffer.from(await res.Body!.transformToByteArray());
    const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: loc.bucket, Key: key }));
    for (const t of tagging.TagSet ?? []) if (t.Key && t.Value !== undefined) tags[t.Key] = t.Value;
  } catch (e) {
    throw storageError(e, loc.where);
  }
  if (body.length !== expected.size) throw new CliError(`${key}: read ${body.length} bytes, storage lists ${expected.size}`);
  if (expected.etag && /^[0-9a-f]{32}$/i.test(expected.etag)) {
    const md5 = createHash('md5').update(body).digest('hex');
    if (md5 !== expected.etag.toLowerCase()) throw new CliError(`${key}: content MD5 ${md5} differs from its ETag ${expected.etag}`);
  }
  const want = tags[SHA256_TAG];
  if (!want) throw new CliError(`${key}: has no ${SHA256_TAG} tag, so its content cannot be verified`);
  const got = sha256(body);
  if (got !== want.toLowerCase()) throw new CliError(`${key}: content sha256 ${got} differs from the ${want} recorded when it was stored`);
  return body;
}

/** The node manifests among listed objects: those of the given runs, or of every run. */
export function nodeManifestObjects(objects: readonly ListedObject[], captureIds?: readonly string[]): ListedObject[] {
  return objects.filter((o) => {
    const p = parseNodeManifestKey(o.key);
    return p !== undefined && (captureIds === undefined || captureIds.includes(p.captureId));
  });
}

/** The node manifests of the given runs: each run's "<run>/_nodes/" folder listed. */
export async function listNodeManifests(s3: S3Client, loc: StorageLocation, captureIds: readonly string[]): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for (const cid of captureIds) out.push(...nodeManifestObjects(await listObjects(s3, loc, `${loc.jobPrefix}${sanitizeKeyElement(cid, 'capture id')}/${NODE_MANIFEST_DIR}/`), [cid]));
  return out;
}

/**
 * The run manifest (docs/design.md "Storage keys"): node manifests, each read whole, verified
 * like a segment and checked against the NodeManifest shape.
 */
export async function readNodeManifests(s3: S3Client, loc: StorageLocation, objects: readonly ListedObject[]): Promise<NodeManifest[]> {
  const out: NodeManifest[] = [];
  // a few reads at a time: a run on hundreds of nodes has as many manifests
  for (let i = 0; i < objects.length; i += 8) {
    const batch = objects.slice(i, i + 8);
    const bodies = await Promise.all(batch.map((o) => fetchObject(s3, loc, o.key, o)));
    bodies.forEach((body, j) => {
      try {
        out.push(parseNodeManifest(body.toString('utf8')));
      } catch (e) {
        if (e instanceof ManifestError) throw new CliError(`${batch[j]!.key}: ${e.message}`);
        throw e;
      }
    });
  }
  return out;
}
