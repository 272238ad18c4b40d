// The operator process minus its CLI: ensures the token key Secret, runs leader election (or not)
// and starts/stops the controllers as leadership comes and goes.
import type { KubeConfig } from '@kubernetes/client-node';
import { EventSink } from '../lib/event-sink.js';
import type { Logger } from '../lib/log.js';
import type { OperatorConfig } from './config.js';
import { Controllers } from './controllers.js';
import { errorText, isConflict, isNotFound, makeKube, type Kube } from '../lib/kube/client.js';
import { LeaderElector } from './kube/leader.js';
import { OperatorMetrics } from './metrics.js';
import { TOKEN_KEY_FIELD, TOKEN_KEY_SECRET, newTokenKey } from './tokens.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
  metrics?: OperatorMetrics;
}

/** Reads the HMAC key Secret, creating it when missing (two replicas racing: the first wins). */
export async function ensureTokenKey(kube: Kube, namespace: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const s = await kube.core.readNamespacedSecret({ namespace, name: TOKEN_KEY_SECRET });
      const v = s.data?.[TOKEN_KEY_FIELD];
      if (v) return Buffer.from(v, 'base64').toString('utf8');
      throw new Error(`Secret ${namespace}/${TOKEN_KEY_SECRET} has no "${TOKEN_KEY_FIELD}" key`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      const key = newTokenKey();
      await kube.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name: TOKEN_KEY_SECRET, namespace, labels: { 'app.kubernetes.io/part-of': 'snoopy' } },
          type: 'Opaque',
          data: { [TOKEN_KEY_FIELD]: Buffer.from(key).toString('base64') },
        },
      });
      return key;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(`could not read or create Secret ${namespace}/${TOKEN_KEY_SECRET}`);
}

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly sink: EventSink;
  private readonly kube: Kube;
  private elector: LeaderElector | undefined;
  private controllers: Controllers | undefined;
  private transition: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: OperatorOptions) {
    this.metrics = opts.metrics ?? new OperatorMetrics();
    this.kube = makeKube(opts.kubeConfig);
    this.sink = new EventSink({ ...(opts.config.sink ? { sink: opts.config.sink } : {}), ...(opts.config.ceOverrides ? { overrides: opts.config.ceOverrides } : {}), logger: opts.logger });
  }

  get isLeader(): boolean {
    return this.opts.config.leaderElection ? (this.elector?.isLeader ?? false) : !this.stopped;
  }

  /** Ready: a standby replica always; the leader once its caches are synced. */
  get isReady(): boolean {
    if (this.stopped) return false;
    return !this.isLeader || (this.controllers?.isSynced ?? false);
  }

  get queues() {
    return this.controllers ? { snoopyJobs: this.controllers.sjQueue, dataEndpoints: this.controllers.deQueue } : undefined;
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    if (!config.leaderElection) {
      await this.lead();
      return;
    }
    this.elector = new LeaderElector(this.kube, {
      namespace: config.namespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationSeconds: config.leaseDurationSeconds,
      renewDeadlineSeconds: config.renewDeadlineSeconds,
      retryPeriodSeconds: config.retryPeriodSeconds,
      logger,
      onStartedLeading: () => {
        this.transition = this.transition.then(() => this.lead()).catch((err: unknown) => logger.error({ err: errorText(err) }, 'could not start the controllers'));
      },
      onStoppedLeading: () => {
        // A failed step down must not poison the chain: the next transition still runs.
        this.transition = this.transition.then(() => this.follow()).catch((err: unknown) => logger.error({ err: errorText(err) }, 'could not stop the controllers'));
        return this.transition;
      },
    });
    this.elector.start();
  }

  private async lead(): Promise<void> {
    if (this.stopped || this.controllers) return;
    const { config, logger, kubeConfig } = this.opts;
    this.metrics.leader.set(1);
    let tokenKey: string | undefined;
    // e.g. the operator namespace does not exist yet: keep trying while this replica leads
    for (let delay = 1_000; tokenKey === undefined; delay = Math.min(delay * 2, 30_000)) {
      try {
        tokenKey = await ensureTokenKey(this.kube, config.namespace);
      } catch (err) {
        logger.error({ err: errorText(err), retryInMs: delay }, 'cannot read or create the token key Secret');
        await new Promise((r) => setTimeout(r, delay).unref());
        if (this.stopped || (config.leaderElection && !this.elector?.isLeader)) return;
      }
    }
    const controllers = new Controllers({ kc: kubeConfig, config, logger, metrics: this.metrics, sink: this.sink, tokenKey });
    this.controllers = controllers;
    await controllers.start();
  }

  private async follow(): Promise<void> {
    this.metrics.leader.set(0);
    const c = this.controllers;
    this.controllers = undefined;
    if (c) await c.stop(this.opts.config.drainSeconds * 1000);
  }

  /**
   * Graceful stop: stop reconciling and drain what is in flight (bounded, SNOOPY_DRAIN_SECONDS)
   * while still holding the lease (the elector keeps renewing it meanwhile), then hand the lease
   * over, then deliver queued CloudEvents. In that order, no write of this replica lands after
   * the next leader's first one.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.transition;
    await this.follow();
    if (this.elector) await this.elector.stop(); // releases the lease; its onStoppedLeading finds nothing left to stop
    await this.sink.close(3_000);
  }
}
