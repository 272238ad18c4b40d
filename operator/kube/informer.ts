// A list+watch cache that keeps itself alive. client-node's informer restarts its watch after a
// 410 Gone or a clean close, but stops for good on any other error; this wrapper restarts it with
// exponential backoff, exposes when it first synced, and calls a handler for every change.
import { makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache, type KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';

export interface CacheOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** API path, e.g. /api/v1/namespaces/ns/pods */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  logger: Logger;
  name: string;
  onChange: (obj: T, verb: 'add' | 'update' | 'delete') => void;
  /** Called after every error, e.g. to count it. */
  onError?: (err: unknown) => void;
  maxBackoffMs?: number;
}

export class ResilientCache<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private stopped = false;
  private backoffMs = 500;
  private restartTimer: NodeJS.Timeout | undefined;
  private syncedFlag = false;
  private errors = 0;
  readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(private readonly opts: CacheOptions<T>) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
    this.informer = makeInformer<T>(opts.kc, opts.path, opts.list, opts.labelSelector);
    this.informer.on('add', (o) => opts.onChange(o, 'add'));
    this.informer.on('update', (o) => opts.onChange(o, 'update'));
    this.informer.on('delete', (o) => opts.onChange(o, 'delete'));
    this.informer.on('connect', () => {
      this.backoffMs = 500;
    });
    this.informer.on('error', (err) => this.restartLater(err));
  }

  get isSynced(): boolean {
    return this.syncedFlag;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const errorsBefore = this.errors;
    try {
      await this.informer.start();
      // start() resolves once the list is cached and the watch is open, or after reporting an error
      if (!this.stopped && !this.syncedFlag && this.errors === errorsBefore) {
        this.syncedFlag = true;
        this.markSynced();
      }
    } catch (err) {
      this.restartLater(err);
    }
  }

  /** The last list/watch error, for callers that give up waiting for the first sync. */
  lastError: unknown;

  private restartLater(err: unknown): void {
    this.errors++;
    this.lastError = err;
    if (this.stopped) return;
    this.opts.onError?.(err);
    this.opts.logger.warn({ cache: this.opts.name, err: String((err as Error)?.message ?? err), retryInMs: this.backoffMs }, 'watch failed; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.start(), this.backoffMs);
    this.restartTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.informer.list(namespace);
  }
}
