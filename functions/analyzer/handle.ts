// The Knative function: `handle(context, cloudevent)` in the faas-js-runtime convention. On
// io.fennecproject.snoopy.capture.completed it streams the capture's segments from S3 (in sequence
// order) through the flow analysis, stores `<capture path>.summary.json` next to the segments, and
// announces it with io.fennecproject.snoopy.capture.analyzed: sent to K_SINK when one is
// configured, otherwise returned as the reply event (a Knative Trigger passes it back to the Broker).
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { addressNames, endpointAddress } from '../../lib/evidence/names.js';
import type { Evidence } from '../../lib/evidence/schema.js';
import type { CloudEvent } from 'cloudevents';
import { EventSink } from '../../lib/event-sink.js';
import { EventType, snoopyJobSource, targetSubject } from '../../lib/events.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { s3SettingsFromEnv, s3Uri } from '../../lib/s3.js';
import { parseStorageLocation, parseTrustedEndpoints, StorageClients, type StorageLocation } from './storage-location.js';
import { EVIDENCE_OBJECT, captureTargetPrefix, parseSegmentKey, summaryKey } from '../../lib/storage-keys.js';
import type { AnalyzerOptions } from './analysis.js';
import type { AnalyzerMetrics } from './metrics.js';
import { analyzeSources, type CaptureSource } from './source.js';
import type { Summary } from '../../lib/api/analysis-summary.js';

/** The part of faas-js-runtime's Context the function uses. */
export interface Context {
  log?: Logger;
}

export interface HandlerDeps {
  /** the analyzer's own storage; also used when `storage` is not given */
  s3: S3Client;
  /** clients by the event's storage location, trusted endpoints only (storage-location.ts) */
  storage?: StorageClients;
  sink: EventSink;
  log: Logger;
  metrics?: AnalyzerMetrics;
  analyzer?: AnalyzerOptions;
}

/** A bad event: the HTTP layer answers 400 (retrying would not help). */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

/** capture.completed data, as the collector sends it (functions/collector/events.ts). */
export interface CaptureCompletedData {
  bucket: string;
  /** where the bucket lives (the collector's S3 endpoint, region, path style) */
  storage?: StorageLocation;
  keys: string[];
  prefix?: string;
  captureId?: string;
  pod?: string;
  podNamespace?: string;
  node?: string;
  snoopyJob?: string;
  snoopyJobNamespace?: string;
}

export function parseCaptureCompleted(data: unknown): CaptureCompletedData {
  let d = data;
  if (typeof d === 'string' || Buffer.isBuffer(d)) {
    try {
      d = JSON.parse(d.toString());
    } catch {
      throw new InvalidEventError('capture.completed data is not JSON');
    }
  }
  if (!d || typeof d !== 'object') throw new InvalidEventError('capture.completed without data');
  const o = d as Record<string, unknown>;
  if (typeof o.bucket !== 'string' || o.bucket === '') throw new InvalidEventError('capture.completed data has no bucket');
  if (!Array.isArray(o.keys) || o.keys.length === 0 || !o.keys.every((k) => typeof k === 'string' && k !== '')) {
    throw new InvalidEventError('capture.completed data has no keys (a non-empty list of object keys)');
  }
  const str = (k: string) => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const out: CaptureCompletedData = { bucket: o.bucket, keys: o.keys as string[] };
  try {
    const storage = parseStorageLocation(o.storage);
    if (storage) out.storage = storage;
  } catch (err) {
    throw new InvalidEventError(`capture.completed: ${(err as Error).message}`);
  }
  for (const k of ['prefix', 'captureId', 'pod', 'podNamespace', 'node', 'snoopyJob', 'snoopyJobNamespace'] as const) {
    const v = str(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Packet-capture keys in sequence order; text segments (tool output that is not a capture) are left out. */
export function captureKeys(keys: string[]): string[] {
  const pcaps = keys.filter((k) => /\.(pcap|pcapng)$/.test(k));
  const parsed = pcaps.map((k) => ({ k, p: parseSegmentKey(k) }));
  if (parsed.every((x) => x.p !== undefined)) parsed.sort((a, b) => a.p!.sequence - b.p!.sequence);
  return parsed.map((x) => x.k);
}

/**
 * Where the summary goes: "<capture path>.summary.json", the capture path being the target's
 * capture prefix without its trailing "/" (…/<podNamespace>/<pod>.summary.json, beside the pod's
 * folder of segments); the event's `prefix` when given, else derived from the first segment key;
 * a key that is no segment key gets "<key>.summary.json" (the first key's, for several).
 */
export function summaryKeyFor(data: Pick<CaptureCompletedData, 'prefix' | 'keys'>): string {
  if (data.prefix && data.prefix.replace(/\/+$/, '') !== '') return summaryKey(data.prefix.replace(/\/+$/, ''));
  const first = data.keys[0]!;
  const p = parseSegmentKey(first);
  if (p) return summaryKey(captureTargetPrefix(p).replace(/\/+$/, ''));
  return summaryKey(first);
}

/** The target's evidence object beside the segments, when there is one (lib/evidence). */
export function evidenceKeyFor(data: Pick<CaptureCompletedData, 'prefix' | 'keys'>): string | undefined {
  if (data.prefix && data.prefix.replace(/\/+$/, '') !== '') return `${data.prefix.replace(/\/+$/, '')}/${EVIDENCE_OBJECT}`;
  const p = parseSegmentKey(data.keys[0]!);
  return p ? `${captureTargetPrefix(p)}${EVIDENCE_OBJECT}` : undefined;
}

/** Names the flows' ends the evidence knows: the pod's IPs, its Services' cluster IPs, its peers (pods and Services). */
export function nameFlows(summary: Summary, evidence: Pick<Evidence, 'pod' | 'namespace' | 'podIPs' | 'services' | 'peers'>): void {
  const names = addressNames(evidence);
  for (const f of summary.flows) {
    const client = names.get(endpointAddress(f.client));
    const server = names.get(endpointAddress(f.server));
    if (client) f.clientName = client;
    if (server) f.serverName = server;
  }
}

/** Reads the evidence object; absent or unreadable: undefined (the summary is made without names). */
async function readEvidence(s3: S3Client, bucket: string, key: string, log: Logger): Promise<Evidence | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const e = JSON.parse(await res.Body!.transformToString()) as Evidence;
    return Array.isArray(e.podIPs) ? e : undefined;
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'NoSuchKey' && name !== 'NotFound') log.warn({ key, err: String(err) }, 'evidence not read: flows are not named from it');
    return undefined;
  }
}

/** The figures carried by capture.analyzed. */
export function headlineData(summary: Summary, bucket: string, key: string, segments: number) {
  return {
    bucket,
    key,
    uri: s3Uri(bucket, key),
    segments,
    packets: summary.packets,
    bytes: summary.bytes,
    start: summary.start,
    end: summary.end,
    flows: summary.flowCount,
    tcp: {
      attempted: summary.tcp.attempted,
      established: summary.tcp.established,
      refused: summary.tcp.refused,
      unanswered: summary.tcp.unanswered,
      retransmissions: summary.tcp.retransmissions,
    },
    dns: { queries: summary.dns.queries, answered: summary.dns.answered, failed: summary.dns.failed, unanswered: summary.dns.unanswered },
    icmp: { echoRequests: summary.icmp.echoRequests, echoReplies: summary.icmp.echoReplies },
    ...summary.headline,
    truncated: summary.truncated,
    errors: summary.errors.slice(0, 5),
  };
}

export function createHandler(deps: HandlerDeps) {
  return async function handle(context: Context, event: CloudEvent<unknown>): Promise<CloudEvent<unknown> | undefined> {
    const log = context.log ?? deps.log;
    if (event.type !== EventType.CaptureCompleted) {
      log.info({ type: event.type, id: event.id }, 'event ignored: not capture.completed');
      deps.metrics?.captures.inc({ result: 'skipped' });
      return undefined;
    }
    let data: CaptureCompletedData;
    try {
      data = parseCaptureCompleted(event.data);
    } catch (err) {
      deps.metrics?.captures.inc({ result: 'invalid' });
      throw err;
    }
    const keys = captureKeys(data.keys);
    if (keys.length === 0) {
      log.info({ id: event.id, keys: data.keys.length }, 'capture skipped: no pcap or pcapng segments (text output)');
      deps.metrics?.captures.inc({ result: 'skipped' });
      return undefined;
    }
    let s3: S3Client;
    try {
      s3 = deps.storage ? deps.storage.clientFor(data.storage) : deps.s3;
    } catch (err) {
      deps.metrics?.captures.inc({ result: 'invalid' });
      throw new InvalidEventError(`capture.completed: ${(err as Error).message}`);
    }
    const key = summaryKeyFor(data);
    const timer = deps.metrics?.duration.startTimer();
    const sources: CaptureSource[] = keys.map((k) => ({ kind: 's3', bucket: data.bucket, key: k }));
    const summary = await analyzeSources(sources, { ...deps.analyzer, s3 });
    const evidenceKey = evidenceKeyFor(data);
    const evidence = evidenceKey ? await readEvidence(s3, data.bucket, evidenceKey, log) : undefined;
    if (evidence) nameFlows(summary, evidence);
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: data.bucket,
          Key: key,
          Body: JSON.stringify(summary, null, 2),
          ContentType: 'application/json',
        }),
      );
    } catch (err) {
      deps.metrics?.captures.inc({ result: 'failed' });
      throw new Error(`storing the summary s3://${data.bucket}/${key} failed: ${(err as Error).message}`, { cause: err });
    }
    timer?.();
    deps.metrics?.captures.inc({ result: 'analyzed' });
    deps.metrics?.packets.inc(summary.packets);
    deps.metrics?.bytes.inc(summary.bytes);
    deps.metrics?.captureErrors.inc(summary.errors.length);
    log.info({ id: event.id, bucket: data.bucket, key, segments: keys.length, packets: summary.packets, errors: summary.errors.length }, 'capture analysed');
    const ext = (name: string) => {
      const v = (event as unknown as Record<string, unknown>)[name];
      return typeof v === 'string' ? v : undefined;
    };
    const input = {
      type: EventType.CaptureAnalyzed,
      source:
        data.snoopyJobNamespace && data.snoopyJob ? snoopyJobSource(data.snoopyJobNamespace, data.snoopyJob) : event.source,
      subject: event.subject ?? (data.podNamespace && data.pod ? targetSubject(data.podNamespace, data.pod) : undefined),
      data: {
        ...headlineData(summary, data.bucket, key, keys.length),
        captureId: data.captureId,
        pod: data.pod,
        podNamespace: data.podNamespace,
        node: data.node,
        snoopyJob: data.snoopyJob,
        snoopyJobNamespace: data.snoopyJobNamespace,
      },
      extensions: {
        snoopyjob: ext('snoopyjob') ?? data.snoopyJob,
        snoopyns: ext('snoopyns') ?? data.snoopyJobNamespace,
        targetpod: ext('targetpod') ?? data.pod,
        targetns: ext('targetns') ?? data.podNamespace,
        node: ext('node') ?? data.node,
      },
    };
    if (deps.sink.enabled) {
      deps.sink.emit(input);
      return undefined;
    }
    return deps.sink.build(input);
  };
}

let fromEnv: ReturnType<typeof createHandler> | undefined;

/**
 * The function's entry point as faas-js-runtime loads it (`module.handle`): dependencies from the
 * environment (S3_*, AWS_*, K_SINK, K_CE_OVERRIDES), made on first use. `main.ts` serves the same
 * handler with its own HTTP layer.
 */
export function handle(context: Context, event: CloudEvent<unknown>): Promise<CloudEvent<unknown> | undefined> {
  if (!fromEnv) {
    const log = createLogger('snoopy-analyzer');
    const env = process.env;
    const storage = new StorageClients(s3SettingsFromEnv(env), parseTrustedEndpoints(env.S3_TRUSTED_ENDPOINTS));
    fromEnv = createHandler({
      s3: storage.defaultClient,
      storage,
      sink: new EventSink({ ...(env.K_SINK ? { sink: env.K_SINK } : {}), ...(env.K_CE_OVERRIDES ? { overrides: env.K_CE_OVERRIDES } : {}), logger: log }),
      log,
    });
  }
  return fromEnv(context, event);
}
