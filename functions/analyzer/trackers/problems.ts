// Decode problems: why frames could not be read in full, counted by reason (a bounded number of
// reasons, so a garbled capture cannot grow the summary).

const MAX_DECODE_PROBLEM_KINDS = 20;

export class ProblemTracker {
  private readonly counts = new Map<string, number>();

  observe(message: string): void {
    const n = this.counts.get(message);
    if (n !== undefined) this.counts.set(message, n + 1);
    else if (this.counts.size < MAX_DECODE_PROBLEM_KINDS) this.counts.set(message, 1);
  }

  summarize(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
