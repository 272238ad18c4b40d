// The podtracer → operator contract (docs/design.md, "Contracts"): the words of podtracer's
// summary (its termination message) that the operator reads back. podtracer writes the summary
// (podtracer/summary.ts); the operator parses it into a target's status
// (operator/snoopyjob/status.ts). Pure.

/** Why the tool stopped, as podtracer reports it in `stopReason`. */
export const STOP_REASONS = ['tool-exit', 'timer', 'max-bytes', 'signal', 'target-gone', 'collector-refused', 'spool-error'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export function isStopReason(v: unknown): v is StopReason {
  return typeof v === 'string' && (STOP_REASONS as readonly string[]).includes(v);
}

/**
 * The target went away during the capture (its pod deleted or replaced, its process gone): the
 * capture ended there and what was captured is stored. A normal end, never retried.
 */
export const TARGET_GONE: StopReason = 'target-gone';
