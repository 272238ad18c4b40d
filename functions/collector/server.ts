// Assembles the collector: one gRPC port (UploadSegment, legacy ExportPodData, grpc.health.v1),
// and a separate HTTP port for /metrics, /healthz and /readyz (HTTP/1 cannot share the h2c port).
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import { HealthImplementation } from 'grpc-health-check';
import { EventSink } from '../../lib/event-sink.js';
import type { Logger } from '../../lib/log.js';
import { loadCollectorProtos } from '../../lib/proto.js';
import { createS3Client } from '../../lib/s3.js';
import type { CollectorConfig } from './config.js';
import { CollectorEvents } from './events.js';
import { COLLECTOR_RECEIVE_WINDOWS, widenReceiveWindows } from './http2-windows.js';
import { InflightCalls } from './inflight.js';
import { exportPodDataHandler } from './legacy-handler.js';
import { CollectorMetrics } from './metrics.js';
import { BufferBudget } from './storage/buffer-budget.js';
import { FsSegmentStore } from './storage/fs-store.js';
import { S3SegmentStore } from './storage/s3-store.js';
import type { SegmentStore } from './storage/store.js';
import { uploadSegmentHandler } from './upload-handler.js';

export const COLLECTOR_SERVICE = 'snoopy.v1.Collector';
export const LEGACY_SERVICE = 'protobuf.DataEndpoint';

/** Part of the drain time kept back for cancelling what is left and flushing events (at most 40 %). */
const SHUTDOWN_RESERVE_MS = 5000;

export interface RunningCollector {
  grpcPort: number;
  metricsPort: number;
  address: string;
  metrics: CollectorMetrics;
  sink: EventSink;
  store: SegmentStore;
  inflight: InflightCalls;
  /**
   * Stops taking calls, lets in-flight ones finish, cancels the rest (they remove what they
   * started) and flushes queued events, all within drainMs (default SHUTDOWN_GRACE_SECONDS).
   */
  shutdown(drainMs?: number): Promise<{ drained: boolean }>;
}

async function createStore(config: CollectorConfig, budget: BufferBudget): Promise<SegmentStore> {
  if (config.storage === 'fs') {
    const store = new FsSegmentStore(config.storageDir!, config.bucket);
    await store.init();
    return store;
  }
  const S3_ATTEMPTS = 2;
  const S3_REQUEST_TIMEOUT_MS = 60_000;
  return new S3SegmentStore({
    // Fail fast on a dead endpoint: the client retries from its spool, a hanging call helps no one.
    client: createS3Client({ ...config.s3, maxAttempts: S3_ATTEMPTS, requestTimeoutMs: S3_REQUEST_TIMEOUT_MS }),
    partRequests: { maxAttempts: S3_ATTEMPTS, requestTimeoutMs: S3_REQUEST_TIMEOUT_MS },
    bucket: config.bucket,
    partSizeBytes: config.partSizeBytes,
    queueSize: config.queueSize,
    budget,
  });
}

function listen(app: express.Express, host: string, port: number): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.once('error', reject);
  });
}

export async function startCollector(config: CollectorConfig, log: Logger): Promise<RunningCollector> {
  const budget = new BufferBudget(config.uploadBufferBytes);
  const store = await createStore(config, budget);
  const sink = new EventSink({ sink: config.sink, overrides: config.ceOverrides, logger: log.child({ part: 'events' }) });
  const metrics = new CollectorMetrics(() => sink.stats, budget);
  const inflight = new InflightCalls();
  const location =
    config.storage === 's3' ? { ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}), region: config.s3.region ?? 'us-east-1', forcePathStyle: config.s3.forcePathStyle ?? Boolean(config.s3.endpoint) } : undefined;
  const events = new CollectorEvents(sink, store, config.prefix, log, location);
  const protos = loadCollectorProtos();

  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': 1024 * 1024,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  });
  server.addService(protos.collectorService, {
    UploadSegment: uploadSegmentHandler({
      store,
      events,
      metrics,
      inflight,
      log,
      prefix: config.prefix,
      tokenKey: config.tokenKey,
      maxSegmentBytes: config.maxSegmentBytes,
      idleMs: config.streamIdleSeconds * 1000,
    }),
  });
  if (config.legacyEnabled) {
    server.addService(protos.legacyService, {
      ExportPodData: exportPodDataHandler({
        store,
        metrics,
        inflight,
        log,
        prefix: config.prefix,
        objectBytes: config.legacyObjectBytes,
      }),
    });
  }
  const health = new HealthImplementation({ '': 'SERVING', [COLLECTOR_SERVICE]: 'SERVING' });
  if (config.legacyEnabled) health.setStatus(LEGACY_SERVICE, 'SERVING');
  health.addToServer(server);

  const grpcPort = await new Promise<number>((resolve, reject) => {
    const hostPort = config.host.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
    server.bindAsync(hostPort, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  if (widenReceiveWindows(server, COLLECTOR_RECEIVE_WINDOWS) === 0) log.warn('HTTP/2 receive windows left at their defaults (grpc-js internals changed)');

  let shuttingDown = false;
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(shuttingDown ? 503 : 200).json({ status: shuttingDown ? 'shutting down' : 'ready', inflight: inflight.size });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  const http = await listen(app, config.host, config.metricsPort);
  const metricsPort = (http.address() as AddressInfo).port;

  if (!config.tokenKey) log.warn('SNOOPY_TOKEN_KEY is not set: uploads are accepted without a capture token');
  log.info(
    { grpcPort, metricsPort, storage: config.storage, bucket: store.bucket, prefix: config.prefix, events: sink.enabled, legacy: config.legacyEnabled },
    'collector ready',
  );

  let stopping: Promise<{ drained: boolean }> | undefined;
  const shutdown = (drainMs = config.shutdownGraceSeconds * 1000) => {
    stopping ??= (async () => {
      // Everything below fits in drainMs: uploads get most of it, then the rest are cancelled
      // (their removals bounded too), then queued events get what remains.
      const deadline = Date.now() + drainMs;
      const left = () => Math.max(0, deadline - Date.now());
      const reserve = Math.min(SHUTDOWN_RESERVE_MS, drainMs * 0.4);
      shuttingDown = true;
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(COLLECTOR_SERVICE, 'NOT_SERVING');
      if (config.legacyEnabled) health.setStatus(LEGACY_SERVICE, 'NOT_SERVING');
      log.info({ inflight: inflight.size, drainMs }, 'shutting down: no new calls, draining uploads');
      // No new calls from here on (connections get GOAWAY); calls in progress continue.
      const closed = new Promise<void>((r) => server.tryShutdown(() => r()));
      const drained = await inflight.drain(Math.max(0, left() - reserve));
      if (!drained) {
        log.warn({ inflight: inflight.size }, 'drain time over: cancelling remaining uploads');
        // Cancelled uploads remove what they started; storage gets at most what is left for that.
        store.hurry(Math.max(0, left() - reserve / 2));
        server.forceShutdown();
        await inflight.drain(Math.max(0, left() - reserve / 2));
        if (inflight.size > 0) log.error({ inflight: inflight.size }, 'uploads still removing their objects at the deadline: left to storage');
      }
      await Promise.race([closed, new Promise((r) => setTimeout(r, Math.min(1000, left())).unref())]);
      server.forceShutdown();
      await sink.close(Math.max(0, left() - 200));
      if (sink.pending > 0) log.warn({ events: sink.pending }, 'events not delivered by the deadline: dropped');
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      });
      await store.close();
      log.info({ drained }, 'collector stopped');
      return { drained };
    })();
    return stopping;
  };

  return { grpcPort, metricsPort, address: `127.0.0.1:${grpcPort}`, metrics, sink, store, inflight, shutdown };
}
