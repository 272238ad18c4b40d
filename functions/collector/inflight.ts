// Tracks calls in progress so a graceful shutdown can wait for them (bounded by the grace period).
export class InflightCalls {
  private readonly calls = new Set<Promise<void>>();

  add(done: Promise<void>): void {
    this.calls.add(done);
    void done.finally(() => this.calls.delete(done));
  }

  get size(): number {
    return this.calls.size;
  }

  /** Resolves true when all calls finished, false when the timeout came first. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const all = (async () => {
      // Calls that start while waiting are waited for too.
      for (let round = 0; round < 1000 && this.calls.size > 0; round++) await Promise.allSettled([...this.calls]);
      return true as const;
    })();
    const result = await Promise.race([all, timeout]);
    clearTimeout(timer);
    return result;
  }
}
