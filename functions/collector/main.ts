#!/usr/bin/env node
// snoopy-collector: receives capture segments over gRPC and stores them in S3 (or a directory).
import { COLLECTOR_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_TUNING, tuneHeapForStreaming } from '../../lib/heap-tuning.js';
import { createLogger } from '../../lib/log.js';
import { ConfigError, configFromEnv } from './config.js';
import { startCollector } from './server.js';

const HELP = `Usage: snoopy-collector

Receives capture segments over gRPC (snoopy.v1.Collector/UploadSegment, the legacy
protobuf.DataEndpoint/ExportPodData, grpc.health.v1.Health) and stores each as one object.
Configured by environment:
  PORT (8080)              gRPC port (h2c)
  METRICS_PORT (9095)      HTTP: /metrics, /healthz, /readyz (not 8012, 8013, 8022, 9090,
                           9091 under Knative: queue-proxy's)
  STORAGE (s3)             s3 | fs
  STORAGE_DIR              directory for STORAGE=fs
  S3_ENDPOINT S3_BUCKET S3_PREFIX S3_REGION S3_FORCE_PATH_STYLE  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  S3_PART_SIZE (5 MiB)     multipart part size;  S3_QUEUE_SIZE (1) parts in flight per upload
  UPLOAD_BUFFER_BYTES (25 MiB)  part-buffer memory for all uploads; more uploads wait, paused
  K_SINK K_CE_OVERRIDES    CloudEvents destination and extension overrides
  SNOOPY_TOKEN_KEY         HMAC key for capture tokens (unset: no authentication, with a warning)
  MAX_SEGMENT_BYTES (1 GiB)  MAX_MESSAGE_BYTES (4 MiB)  SHUTDOWN_GRACE_SECONDS (20)
  STREAM_IDLE_SECONDS (120)  drop an upload whose client sends nothing for this long
  LEGACY_EXPORT (true)     serve ExportPodData;  LEGACY_OBJECT_BYTES (32 MiB) object size for it
  HOST (0.0.0.0)  LOG_LEVEL (info)
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  if (args.length > 0) {
    process.stderr.write(`snoopy-collector: unexpected argument "${args[0]}" (configuration is by environment; see --help)\n`);
    process.exit(2);
  }
  let config;
  try {
    config = configFromEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`snoopy-collector: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  tuneHeapForStreaming(COLLECTOR_HEAP_GROWING_PERCENT, COLLECTOR_HEAP_TUNING);
  const log = createLogger('snoopy-collector');
  let collector;
  try {
    collector = await startCollector(config, log);
  } catch (err) {
    process.stderr.write(`snoopy-collector: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    log.info({ signal }, 'signal received');
    // shutdown() keeps within the drain time; this is the backstop should anything still hang.
    setTimeout(() => {
      log.error('drain time over and shutdown not finished: exiting');
      process.exit(0);
    }, config.shutdownGraceSeconds * 1000 + 2000).unref();
    collector.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
