// Sends CloudEvents in binary mode over HTTP to K_SINK, as Knative's SinkBinding expects.
// Delivery is asynchronous and bounded: a slow or dead sink costs a queue slot, never a blocked
// caller; non-2xx answers are retried with exponential backoff, then logged and counted.
import { CloudEvent, HTTP } from 'cloudevents';
import type { Logger } from './log.js';

export interface EventSinkOptions {
  /** K_SINK; when undefined, events are only logged at debug level. */
  sink?: string;
  /** K_CE_OVERRIDES: {"extensions": {...}} merged into every event. */
  overrides?: string;
  logger: Logger;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Events waiting beyond this are dropped (and counted) so memory stays bounded. */
  maxQueue?: number;
  requestTimeoutMs?: number;
}

export interface EventInput {
  type: string;
  source: string;
  subject?: string;
  data?: unknown;
  extensions?: Record<string, string | undefined>;
}

export interface EventSinkStats {
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
}

const CORE_ATTRIBUTES = new Set(['id', 'source', 'specversion', 'type', 'datacontenttype', 'dataschema', 'subject', 'time', 'data', 'data_base64']);

function parseOverrides(raw: string | undefined, logger: Logger): Record<string, string> {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as { extensions?: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed.extensions ?? {})) {
      // CloudEvents refuses any other attribute name, which would make every event unbuildable
      if (!/^[a-z0-9]+$/.test(k)) {
        logger.warn({ extension: k }, 'K_CE_OVERRIDES extension name is not lower-case alphanumeric; ignoring it');
        continue;
      }
      // overrides add extensions; they never replace what identifies the event
      if (CORE_ATTRIBUTES.has(k)) {
        logger.warn({ extension: k }, 'K_CE_OVERRIDES may not set a core CloudEvents attribute; ignoring it');
        continue;
      }
      out[k] = String(v);
    }
    return out;
  } catch (err) {
    logger.warn({ err }, 'K_CE_OVERRIDES is not valid JSON; ignoring it');
    return {};
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class EventSink {
  readonly stats: EventSinkStats = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  private readonly overrides: Record<string, string>;
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: EventSinkOptions) {
    this.overrides = parseOverrides(opts.overrides, opts.logger);
  }

  get enabled(): boolean {
    return Boolean(this.opts.sink);
  }

  /** Events queued or being delivered. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Builds the CloudEvent that would be sent (exposed for tests and logging). */
  build(input: EventInput): CloudEvent<unknown> {
    const extensions: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.extensions ?? {})) if (v !== undefined && v !== '') extensions[k] = v;
    return new CloudEvent<unknown>({
      specversion: '1.0',
      type: input.type,
      source: input.source,
      ...(input.subject ? { subject: input.subject } : {}),
      datacontenttype: 'application/json',
      data: input.data,
      ...extensions,
      ...this.overrides,
    });
  }

  /** Queues an event for delivery and returns at once. */
  emit(input: EventInput): void {
    let event: CloudEvent<unknown>;
    try {
      event = this.build(input);
    } catch (err) {
      // callers emit in the middle of their work: a malformed event is logged and counted, never thrown
      this.stats.failed++;
      this.opts.logger.error({ type: input.type, err: String(err) }, 'event not sent: it is not a valid CloudEvent');
      return;
    }
    if (!this.opts.sink || this.closed) {
      this.opts.logger.debug({ type: event.type, id: event.id }, 'event not sent: no sink');
      return;
    }
    if (this.inflight.size >= (this.opts.maxQueue ?? 1000)) {
      this.stats.dropped++;
      this.opts.logger.error({ type: event.type, id: event.id }, 'event dropped: sink backlog full');
      return;
    }
    const p = this.deliver(event).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Waits (bounded) for queued events, e.g. on shutdown. */
  async flush(timeoutMs = 5000): Promise<void> {
    const all = Promise.allSettled([...this.inflight]);
    await Promise.race([all, sleep(timeoutMs)]);
  }

  async close(timeoutMs = 5000): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
  }

  private async deliver(event: CloudEvent<unknown>): Promise<void> {
    const message = HTTP.binary(event);
    const maxAttempts = this.opts.maxAttempts ?? 5;
    let backoff = this.opts.initialBackoffMs ?? 200;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        const res = await fetch(this.opts.sink!, {
          method: 'POST',
          headers: message.headers as Record<string, string>,
          body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body ?? null),
          signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.stats.sent++;
          return;
        }
        this.opts.logger.warn({ type: event.type, id: event.id, status: res.status, attempt }, 'event sink answered non-2xx');
      } catch (err) {
        this.opts.logger.warn({ type: event.type, id: event.id, attempt, err: String(err) }, 'event delivery failed');
      }
      if (attempt < maxAttempts) {
        this.stats.retries++;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 10_000);
      }
    }
    this.stats.failed++;
    this.opts.logger.error({ type: event.type, id: event.id }, 'event given up after retries');
  }
}
