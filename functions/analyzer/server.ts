// The HTTP face of the function: CloudEvents (binary or structured mode) on POST /, health and
// metrics, graceful shutdown. Analyses run at most `concurrency` at a time so memory stays bounded.
import express, { type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP, type CloudEvent } from 'cloudevents';
import type { S3Client } from '@aws-sdk/client-s3';
import { EventSink } from '../../lib/event-sink.js';
import type { Logger } from '../../lib/log.js';
import { s3SettingsFromEnv } from '../../lib/s3.js';
import { parseTrustedEndpoints, StorageClients } from './storage-location.js';
import type { AnalyzerOptions } from './analysis.js';
import { createHandler, InvalidEventError } from './handle.js';
import { AnalyzerMetrics } from './metrics.js';

export interface ServerOptions {
  port: number;
  host?: string;
  s3: S3Client;
  /** clients for the storage an event names (trusted endpoints only); default: `s3` for all */
  storage?: StorageClients;
  sink: EventSink;
  log: Logger;
  concurrency?: number;
  analyzer?: AnalyzerOptions;
  /** bucket POST /dead-letter keeps undeliverable events in (DEAD_LETTER_BUCKET) */
  deadLetterBucket?: string;
}

/** Where a dead-lettered event is kept: one JSON object per event, by type and id. */
/** The request's CloudEvent (binary or structured mode); undefined after answering 400. */
function eventOf(req: Request, res: Response): CloudEvent<unknown> | undefined {
  try {
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const parsed = HTTP.toEvent({ headers: req.headers as Record<string, string>, body });
    if (Array.isArray(parsed)) throw new Error('batched CloudEvents are not supported');
    return parsed as CloudEvent<unknown>;
  } catch (err) {
    res.status(400).json({ error: `not a CloudEvent: ${(err as Error).message}` });
    return undefined;
  }
}

export function deadLetterKey(type: string, id: string): string {
  const safe = (t: string) => t.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 200) || '_';
  return `dead-letters/${safe(type)}/${safe(id)}.json`;
}

export interface AnalyzerServer {
  port: number;
  url: string;
  metrics: AnalyzerMetrics;
  close(): Promise<void>;
}

/** A counting semaphore: analyses beyond the limit wait their turn. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export async function startServer(opts: ServerOptions): Promise<AnalyzerServer> {
  const metrics = new AnalyzerMetrics();
  const handle = createHandler({ s3: opts.s3, ...(opts.storage ? { storage: opts.storage } : {}), sink: opts.sink, log: opts.log, metrics, ...(opts.analyzer ? { analyzer: opts.analyzer } : {}) });
  const limiter = new Limiter(opts.concurrency ?? 2);
  let shuttingDown = false;
  const app = express();
  app.get('/health/liveness', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/readiness', (_req, res) => {
    res.status(shuttingDown ? 503 : 200).json({ status: shuttingDown ? 'shutting down' : 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The Broker's and Triggers' dead-letter sink (knative/eventing): an event that could not be
  // delivered is kept in S3 with its attributes, so nothing is dropped silently.
  app.post('/dead-letter', express.raw({ type: () => true, limit: '4mb' }), async (req: Request, res: Response) => {
    const event = eventOf(req, res);
    if (!event) return;
    const key = deadLetterKey(event.type, event.id);
    try {
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await opts.s3.send(new PutObjectCommand({ Bucket: opts.deadLetterBucket ?? 'snoopy', Key: key, Body: JSON.stringify(event.toJSON(), null, 2), ContentType: 'application/json' }));
    } catch (err) {
      opts.log.error({ eventId: event.id, type: event.type, err: (err as Error).message }, 'dead letter not stored');
      res.status(500).json({ error: (err as Error).message });
      return;
    }
    opts.log.warn({ eventId: event.id, type: event.type, key }, 'dead letter stored');
    res.status(204).end();
  });
  app.post('/', express.raw({ type: () => true, limit: '4mb' }), async (req: Request, res: Response) => {
    const event = eventOf(req, res);
    if (!event) return;
    try {
      const reply = await limiter.run(() => handle({ log: opts.log.child({ eventId: event.id }) }, event));
      if (!reply) {
        res.status(204).end();
        return;
      }
      const msg = HTTP.binary(reply);
      res.status(200).set(msg.headers as Record<string, string>);
      res.send(typeof msg.body === 'string' ? msg.body : JSON.stringify(msg.body));
    } catch (err) {
      const invalid = err instanceof InvalidEventError;
      opts.log.error({ eventId: event.id, err: (err as Error).message }, invalid ? 'invalid event' : 'analysis failed');
      res.status(invalid ? 400 : 500).json({ error: (err as Error).message });
    }
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, opts.host ?? '0.0.0.0', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    metrics,
    async close() {
      shuttingDown = true;
      // requests in flight finish (their analyses complete and their events are flushed)
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await opts.sink.close();
    },
  };
}

/** Everything from the environment (PORT, S3_*, AWS_*, K_SINK, K_CE_OVERRIDES, …). */
export function serverOptionsFromEnv(env: NodeJS.ProcessEnv, log: Logger): ServerOptions {
  const port = intEnv(env, 'PORT', 8080, 0, 65535);
  const concurrency = intEnv(env, 'ANALYZER_CONCURRENCY', 2, 1, 64);
  const maxFlows = intEnv(env, 'ANALYZER_MAX_FLOWS', 50_000, 10, 10_000_000);
  const listFlows = intEnv(env, 'ANALYZER_LIST_FLOWS', 1000, 0, 1_000_000);
  const vxlanPort = intEnv(env, 'ANALYZER_VXLAN_PORT', 0, 0, 65535);
  let storage: StorageClients;
  try {
    storage = new StorageClients(s3SettingsFromEnv(env), parseTrustedEndpoints(env.S3_TRUSTED_ENDPOINTS));
  } catch (err) {
    throw new ConfigError(`S3_TRUSTED_ENDPOINTS / S3_ENDPOINT: ${(err as Error).message}`);
  }
  return {
    port,
    ...(env.HOST ? { host: env.HOST } : {}),
    s3: storage.defaultClient,
    storage,
    sink: new EventSink({ ...(env.K_SINK ? { sink: env.K_SINK } : {}), ...(env.K_CE_OVERRIDES ? { overrides: env.K_CE_OVERRIDES } : {}), logger: log }),
    log,
    concurrency,
    analyzer: { maxFlows, listFlows, vxlanPort },
    deadLetterBucket: env.DEAD_LETTER_BUCKET || 'snoopy',
  };
}

export class ConfigError extends Error {}

function intEnv(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}="${raw}" is not an integer in ${min}..${max}`);
  return n;
}
