// Prometheus metrics of the analyzer service.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class AnalyzerMetrics {
  readonly registry = new Registry();
  readonly captures = new Counter({
    name: 'snoopy_analyzer_captures_total',
    help: 'capture.completed events handled, by result (analyzed, skipped, failed, invalid)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly packets = new Counter({ name: 'snoopy_analyzer_packets_total', help: 'packets analysed', registers: [this.registry] });
  readonly bytes = new Counter({ name: 'snoopy_analyzer_bytes_total', help: 'frame bytes analysed', registers: [this.registry] });
  readonly captureErrors = new Counter({
    name: 'snoopy_analyzer_capture_errors_total',
    help: 'problems noted in summaries (truncated or corrupt segments, unreadable objects)',
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'snoopy_analyzer_duration_seconds',
    help: 'time to analyse one capture and store its summary',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
