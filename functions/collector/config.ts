// Collector configuration from the environment (functions/collector/README.md). Pure: env in, settings out; a bad
// value is a ConfigError naming the variable.
import { normalizePrefix } from '../../lib/storage-keys.js';
import { COLLECTOR_METRICS_PORT, isReservedPort, RESERVED_PORTS } from '../../lib/knative-serving.js';
import { s3SettingsFromEnv, type S3Settings } from '../../lib/s3.js';

export type StorageKind = 's3' | 'fs';

export interface CollectorConfig {
  port: number;
  metricsPort: number;
  host: string;
  storage: StorageKind;
  storageDir: string | undefined;
  s3: S3Settings;
  bucket: string;
  prefix: string;
  /** Multipart part size and parts in flight per upload: memory per stream ≈ partSize × (queueSize + 1). */
  partSizeBytes: number;
  queueSize: number;
  /** Part-buffer memory for all uploads together; uploads beyond it wait (UPLOAD_BUFFER_BYTES). */
  uploadBufferBytes: number;
  sink: string | undefined;
  ceOverrides: string | undefined;
  tokenKey: string | undefined;
  maxSegmentBytes: number;
  maxMessageBytes: number;
  shutdownGraceSeconds: number;
  /** Drop an upload whose client sends nothing for this long (STREAM_IDLE_SECONDS). */
  streamIdleSeconds: number;
  legacyEnabled: boolean;
  /** A legacy stream's data is cut into objects of at most this size. */
  legacyObjectBytes: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIB = 1024 * 1024;

/** Not 9090: that is queue-proxy's metrics port in every Knative pod (lib/knative-serving). */
export const DEFAULT_METRICS_PORT = COLLECTOR_METRICS_PORT;

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const storage = (env.STORAGE || 's3') as StorageKind;
  if (storage !== 's3' && storage !== 'fs') throw new ConfigError(`STORAGE must be "s3" or "fs", got "${env.STORAGE}"`);
  const storageDir = env.STORAGE_DIR || undefined;
  if (storage === 'fs' && !storageDir) throw new ConfigError('STORAGE=fs needs STORAGE_DIR');
  const bucket = env.S3_BUCKET || (storage === 'fs' ? 'local' : '');
  if (!bucket) throw new ConfigError('STORAGE=s3 needs S3_BUCKET');
  let prefix: string;
  try {
    prefix = normalizePrefix(env.S3_PREFIX);
  } catch (err) {
    throw new ConfigError(`S3_PREFIX: ${(err as Error).message}`);
  }
  const maxMessageBytes = int(env, 'MAX_MESSAGE_BYTES', 4 * MIB, 64 * 1024, 64 * MIB);
  const metricsPort = int(env, 'METRICS_PORT', DEFAULT_METRICS_PORT, 0, 65535);
  // In a Knative pod (K_SERVICE is set by Knative) queue-proxy holds these ports: binding one would
  // fail the revision, so say so plainly instead of EADDRINUSE.
  if (env.K_SERVICE && isReservedPort(metricsPort)) {
    throw new ConfigError(`METRICS_PORT ${metricsPort} is held by Knative's queue-proxy in this pod (reserved: ${RESERVED_PORTS.join(', ')})`);
  }
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    metricsPort,
    host: env.HOST || '0.0.0.0',
    storage,
    storageDir,
    s3: s3SettingsFromEnv(env),
    bucket,
    prefix,
    partSizeBytes: int(env, 'S3_PART_SIZE', 5 * MIB, 5 * MIB, 512 * MIB),
    queueSize: int(env, 'S3_QUEUE_SIZE', 1, 1, 8),
    uploadBufferBytes: int(env, 'UPLOAD_BUFFER_BYTES', 25 * MIB, 5 * MIB),
    sink: env.K_SINK || undefined,
    ceOverrides: env.K_CE_OVERRIDES || undefined,
    tokenKey: env.SNOOPY_TOKEN_KEY || undefined,
    maxSegmentBytes: int(env, 'MAX_SEGMENT_BYTES', 1024 * MIB, 1),
    maxMessageBytes,
    shutdownGraceSeconds: int(env, 'SHUTDOWN_GRACE_SECONDS', 20, 0, 3600),
    streamIdleSeconds: int(env, 'STREAM_IDLE_SECONDS', 120, 1, 86_400),
    // The seed's clients cannot present a token: with tokens required, their unauthenticated
    // write path stays closed unless explicitly opened.
    legacyEnabled: bool(env, 'LEGACY_EXPORT', !env.SNOOPY_TOKEN_KEY),
    legacyObjectBytes: int(env, 'LEGACY_OBJECT_BYTES', 32 * MIB, 1),
  };
}
