// Where a SnoopyJob's objects are and how to read them. Each setting comes from the first of:
// a flag, the environment (S3_ENDPOINT, S3_BUCKET, S3_PREFIX, AWS_*), the SnoopyDataEndpoint the
// SnoopyJob references (its storage block and credentials Secret).
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, s3SettingsFromEnv, type S3Settings } from '../lib/s3.js';
import { snoopyJobPrefix } from '../lib/storage-keys.js';
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

export async function listObjects(s3: S3Client, loc: StorageLocation): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  // bounded: 10,000 pages of 1,000 keys
  for (let page = 0; page < 10_000; page++) {
    let res;
    try {
      res = await s3.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.jobPrefix, ...(token ? { ContinuationToken: token } : {}) }));
    } catch (e) {
      throw storageError(e, loc.where);
    }
    for (const o of res.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag.replace(/"/g, '') } : {}) });
    if (!res.IsTruncated || !res.NextContinuationToken) break;
    token = res.NextContinuationToken;
  }
  return out;
}
