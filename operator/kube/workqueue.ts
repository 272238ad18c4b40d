// A work queue keyed by object ("namespace/name"), after client-go's: a key waiting is never queued
// twice, a key is never processed by two workers at once (a change during processing queues it
// again), failures come back after a per-key exponential backoff, and at most `workers` keys are
// processed concurrently.
export interface WorkQueueOptions {
  workers: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onDepth?: (depth: number) => void;
}

export type Processor = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly process: Processor,
    private readonly opts: WorkQueueOptions,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.opts.onDepth?.(this.queue.length);
    this.pump();
  }

  /**
   * Adds the key after a delay. With a delay already pending for the key, the earlier of the two
   * wins: a failure's short backoff must not wait behind a long periodic requeue.
   */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const due = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing) {
      if (existing.due <= due) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { timer, due });
  }

  private pump(): void {
    while (!this.stopped && this.active < this.opts.workers && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.opts.onDepth?.(this.queue.length);
      this.processing.add(key);
      this.active++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let retryIn: number | undefined;
    try {
      const result = await this.process(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs !== undefined) retryIn = result.requeueAfterMs;
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      retryIn = Math.min((this.opts.baseBackoffMs ?? 200) * 2 ** (n - 1), this.opts.maxBackoffMs ?? 60_000);
      this.onError(key, err);
    } finally {
      this.processing.delete(key);
      this.active--;
    }
    if (this.dirty.delete(key)) this.add(key);
    else if (retryIn !== undefined) this.addAfter(key, retryIn);
    this.pump();
    if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  /** Resolves when no key is queued or processing (keys waiting on a timer do not count). */
  async drain(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }
}
