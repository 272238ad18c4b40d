// S3 client configuration shared by everything that talks to object storage (collector,
// podtracer tests, analyzer, CLI, demo): AWS S3, MinIO or the embedded local server alike.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3Settings {
  /** e.g. http://127.0.0.1:4568; unset ⇒ AWS's regional endpoint. */
  endpoint?: string;
  region?: string;
  /** Path-style ("host/bucket/key") addressing, needed by MinIO and the local server. */
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Socket-level cap on how long one request may stall (ms). */
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

/** Reads S3_ENDPOINT, S3_REGION (or AWS_REGION), S3_FORCE_PATH_STYLE and AWS_* credentials. */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const endpoint = env.S3_ENDPOINT || undefined;
  const pathStyle = env.S3_FORCE_PATH_STYLE;
  return {
    endpoint,
    region: env.S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // A custom endpoint is almost always MinIO-like: path style unless told otherwise.
    forcePathStyle: pathStyle === undefined || pathStyle === '' ? Boolean(endpoint) : /^(1|true|yes)$/i.test(pathStyle),
    accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
    sessionToken: env.AWS_SESSION_TOKEN || undefined,
  };
}

export function s3ClientConfig(s: S3Settings): S3ClientConfig {
  const config: S3ClientConfig = {
    region: s.region ?? 'us-east-1',
    forcePathStyle: s.forcePathStyle ?? Boolean(s.endpoint),
    // The SDK's default CRC32 request checksums and response validation are not understood by
    // simple S3-compatible servers; only send them where an operation requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: s.maxAttempts ?? 3,
  };
  if (s.endpoint) config.endpoint = s.endpoint;
  if (s.accessKeyId && s.secretAccessKey) {
    config.credentials = {
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}),
    };
  }
  if (s.requestTimeoutMs !== undefined) {
    config.requestHandler = { requestTimeout: s.requestTimeoutMs, connectionTimeout: Math.min(s.requestTimeoutMs, 5000) };
  }
  return config;
}

export function createS3Client(s: S3Settings): S3Client {
  return new S3Client(s3ClientConfig(s));
}

/** "s3://bucket/key" */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Splits "s3://bucket/key" (key may contain "/"); undefined for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}
