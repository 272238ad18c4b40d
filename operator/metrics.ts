// Prometheus metrics of the operator, on their own registry (tests start several operators in
// one process).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: 'snoopy_operator_reconciles_total', help: 'Reconciles by controller and result', labelNames: ['controller', 'result'], registers: [this.registry] });
  readonly errors = new Counter({ name: 'snoopy_operator_errors_total', help: 'Reconcile and watch errors', labelNames: ['controller', 'kind'], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'snoopy_operator_queue_depth', help: 'Keys waiting in the work queue', labelNames: ['controller'], registers: [this.registry] });
  readonly jobsCreated = new Counter({ name: 'snoopy_operator_jobs_created_total', help: 'Capture Jobs and CronJobs created', labelNames: ['kind'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'snoopy_operator_leader', help: '1 while this replica holds the leader lease', registers: [this.registry] });
  readonly cachedObjects = new Gauge({ name: 'snoopy_operator_cached_objects', help: 'Objects held in the informer caches', labelNames: ['resource'], registers: [this.registry] });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'snoopy_operator_' });
  }
}
