// Which S3 service a capture.completed event's objects are read from. The collector puts its
// storage location (endpoint, region, path style; never credentials) in the event; the analyzer
// reads from it with its own credentials, and only when the endpoint is its own S3_ENDPOINT or
// listed in S3_TRUSTED_ENDPOINTS: an event must not be able to point the analyzer's credentials
// at an arbitrary host.
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from '../../lib/s3.js';

export interface StorageLocation {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

/** An event names storage this analyzer may not use (answered 400: retrying would not help). */
export class UntrustedStorageError extends Error {
  override name = 'UntrustedStorageError';
}

/** Stands for AWS S3 (no endpoint URL) in S3_TRUSTED_ENDPOINTS. */
export const AWS = 'aws';

/** "http://Minio.ns.svc:9000/" → "http://minio.ns.svc:9000": scheme, host and port only. */
export function normalizeEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UntrustedStorageError(`storage endpoint "${url}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UntrustedStorageError(`storage endpoint "${url}" is not http(s)`);
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search) {
    throw new UntrustedStorageError(`storage endpoint "${url}" must be scheme://host[:port] only`);
  }
  return u.origin;
}

/** S3_TRUSTED_ENDPOINTS: comma- or space-separated URLs, and "aws" for AWS S3. */
export function parseTrustedEndpoints(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((e) => (e.toLowerCase() === AWS ? AWS : normalizeEndpoint(e)));
}

/** Parses an event's `storage` field; undefined when absent. Bad shapes are refused. */
export function parseStorageLocation(v: unknown): StorageLocation | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new UntrustedStorageError('data.storage must be an object');
  const o = v as Record<string, unknown>;
  const out: StorageLocation = {};
  if (o.endpoint !== undefined) {
    if (typeof o.endpoint !== 'string' || o.endpoint === '') throw new UntrustedStorageError('data.storage.endpoint must be a URL');
    out.endpoint = o.endpoint;
  }
  if (o.region !== undefined) {
    if (typeof o.region !== 'string' || !/^[a-z0-9-]{1,64}$/.test(o.region)) throw new UntrustedStorageError('data.storage.region must be a region name');
    out.region = o.region;
  }
  if (o.forcePathStyle !== undefined) {
    if (typeof o.forcePathStyle !== 'boolean') throw new UntrustedStorageError('data.storage.forcePathStyle must be true or false');
    out.forcePathStyle = o.forcePathStyle;
  }
  return out;
}

/** S3 clients by storage location: the analyzer's own, or a trusted one with the same credentials. */
export class StorageClients {
  private readonly own: string;
  private readonly trusted: Set<string>;
  private readonly clients = new Map<string, S3Client>();

  constructor(
    private readonly settings: S3Settings,
    trustedEndpoints: string[] = [],
    readonly defaultClient: S3Client = createS3Client(settings),
  ) {
    this.own = settings.endpoint ? normalizeEndpoint(settings.endpoint) : AWS;
    this.trusted = new Set([this.own, ...trustedEndpoints]);
  }

  /** The client for an event's storage; the analyzer's own for none or the same location. */
  clientFor(loc: StorageLocation | undefined): S3Client {
    if (!loc) return this.defaultClient;
    const endpoint = loc.endpoint ? normalizeEndpoint(loc.endpoint) : AWS;
    if (!this.trusted.has(endpoint)) {
      throw new UntrustedStorageError(`storage endpoint ${endpoint} is not trusted by this analyzer (its own S3_ENDPOINT or S3_TRUSTED_ENDPOINTS)`);
    }
    const region = loc.region ?? this.settings.region ?? 'us-east-1';
    const pathStyle = loc.forcePathStyle ?? (endpoint !== AWS);
    const key = `${endpoint} ${region} ${pathStyle}`;
    if (endpoint === this.own && region === (this.settings.region ?? 'us-east-1') && pathStyle === (this.settings.forcePathStyle ?? Boolean(this.settings.endpoint))) return this.defaultClient;
    let c = this.clients.get(key);
    if (!c) {
      c = createS3Client({ ...this.settings, ...(endpoint === AWS ? { endpoint: undefined } : { endpoint }), region, forcePathStyle: pathStyle });
      this.clients.set(key, c);
    }
    return c;
  }

  destroy(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}
