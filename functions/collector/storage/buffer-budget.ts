// A process-wide cap on part-buffer memory. An upload reserves its buffers (part size × queue
// size) when its first bytes arrive and returns them when it ends; uploads beyond the cap wait,
// paused, so HTTP/2 flow control holds their senders. A reservation is all-or-nothing and taken
// once, so holders never wait on each other: no deadlock, and memory stays bounded however many
// streams are open.
export class BufferBudget {
  private available: number;
  private readonly waiters: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly totalBytes: number) {
    this.available = totalBytes;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get inUse(): number {
    return this.totalBytes - this.available;
  }

  /** Resolves when `bytes` are reserved (FIFO; a request larger than the cap waits for an idle budget, then gets it). */
  acquire(bytes: number): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.available -= bytes;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ bytes, grant: resolve }));
  }

  release(bytes: number): void {
    this.available = Math.min(this.totalBytes, this.available + bytes);
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      this.available -= w.bytes;
      w.grant();
    }
  }

  private fits(bytes: number): boolean {
    return bytes <= this.available || this.available === this.totalBytes;
  }
}
