// Part buffers shared by all uploads of the process. A buffer an upload is done with goes to the
// next upload instead of back to the allocator: a fresh 5 MiB buffer is 1,280 pages the kernel
// must fault in, and freed ones left the allocator's heap fragmented (RSS kept what it freed).
// At most `max` idle buffers are kept: the part-buffer budget's worth.
export class PartBufferPool {
  private readonly idle: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly max: number,
  ) {}

  /** An idle buffer, or a new one. */
  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** An idle buffer if there is one (for a start that may never need a whole part). */
  takeIdle(): Buffer | undefined {
    return this.idle.pop();
  }

  /** Only a buffer no request reads any more may be given back. */
  give(buf: Buffer): void {
    if (buf.length === this.size && this.idle.length < this.max) this.idle.push(buf);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
