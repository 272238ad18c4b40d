// Prometheus metrics of one collector process, on their own registry (tests run several
// collectors in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventSinkStats } from '../../lib/event-sink.js';
import type { BufferBudget } from './storage/buffer-budget.js';

export type UploadResult = 'stored' | 'invalid' | 'unauthenticated' | 'unavailable' | 'cancelled' | 'too_large';

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly uploads: Counter<'result'>;
  readonly bytesStored: Counter;
  readonly activeUploads: Gauge;
  readonly uploadSeconds: Histogram;
  readonly legacyObjects: Counter<'result'>;
  readonly backpressurePauses: Counter;
  readonly bytesReceived: Counter;

  constructor(eventStats: () => EventSinkStats, budget?: BufferBudget) {
    collectDefaultMetrics({ register: this.registry, prefix: 'snoopy_collector_' });
    const registers = [this.registry];
    this.uploads = new Counter({
      name: 'snoopy_collector_uploads_total',
      help: 'UploadSegment calls by outcome',
      labelNames: ['result'],
      registers,
    });
    this.bytesStored = new Counter({ name: 'snoopy_collector_bytes_stored_total', help: 'Bytes of stored segments', registers });
    this.bytesReceived = new Counter({
      name: 'snoopy_collector_bytes_received_total',
      help: 'Segment bytes received from clients, stored or not',
      registers,
    });
    this.activeUploads = new Gauge({ name: 'snoopy_collector_active_uploads', help: 'Uploads in progress', registers });
    this.uploadSeconds = new Histogram({
      name: 'snoopy_collector_upload_seconds',
      help: 'Duration of stored uploads, header to durable object',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.legacyObjects = new Counter({
      name: 'snoopy_collector_legacy_objects_total',
      help: 'Objects written for legacy ExportPodData streams',
      labelNames: ['result'],
      registers,
    });
    this.backpressurePauses = new Counter({
      name: 'snoopy_collector_backpressure_pauses_total',
      help: 'Times a gRPC stream was paused because storage was behind',
      registers,
    });
    if (budget) {
      new Gauge({
        name: 'snoopy_collector_upload_buffer_bytes',
        help: 'Part-buffer memory reserved by uploads (in_use) and its cap (limit)',
        labelNames: ['kind'],
        registers,
        collect() {
          this.set({ kind: 'in_use' }, budget.inUse);
          this.set({ kind: 'limit' }, budget.totalBytes);
        },
      });
      new Gauge({
        name: 'snoopy_collector_uploads_waiting_for_buffer',
        help: 'Uploads paused until part-buffer memory is free',
        registers,
        collect() {
          this.set(budget.waiting);
        },
      });
    }
    new Gauge({
      name: 'snoopy_collector_events_total',
      help: 'CloudEvents by delivery outcome',
      labelNames: ['outcome'],
      registers,
      collect() {
        const s = eventStats();
        this.set({ outcome: 'sent' }, s.sent);
        this.set({ outcome: 'failed' }, s.failed);
        this.set({ outcome: 'dropped' }, s.dropped);
        this.set({ outcome: 'retried' }, s.retries);
      },
    });
  }

  /** Value of bytes_received_total (tests wait on it). */
  async receivedBytes(): Promise<number> {
    return (await this.bytesReceived.get()).values[0]?.value ?? 0;
  }

  /** Value of uploads_total for one result (tests wait on it). */
  async uploadCount(result: UploadResult): Promise<number> {
    const m = await this.uploads.get();
    return m.values.find((v) => v.labels.result === result)?.value ?? 0;
  }
}
