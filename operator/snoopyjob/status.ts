// Pure status computation: a target's state from its Job and capture pod, podtracer's termination
// message, Kubernetes-style conditions, and the run's phase.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Condition, TargetStatus, TargetStateName } from '../../lib/api/schema.js';
import { TARGET_GONE, isStopReason, type StopReason } from '../../lib/contracts/podtracer-summary.js';

/** A target's message when its pod went away during the capture (stop reason target-gone). */
export const TARGET_GONE_MESSAGE = 'the target pod went away during the capture; what was captured until then is stored';

export interface CaptureSummary {
  segments?: number;
  bytes?: number;
  objects?: string[];
  packetsDroppedByKernel?: number;
  toolExitCode?: number;
  stopReason?: StopReason;
}

const nonNegInt = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** podtracer's `state.terminated.message` JSON; anything else (or a truncated message) gives {}. */
export function parseTerminationMessage(message: string | undefined): CaptureSummary {
  if (!message) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const out: CaptureSummary = {};
  const segments = nonNegInt(parsed.segments);
  if (segments !== undefined) out.segments = segments;
  const bytes = nonNegInt(parsed.bytes);
  if (bytes !== undefined) out.bytes = bytes;
  if (Array.isArray(parsed.objects)) out.objects = parsed.objects.filter((o): o is string => typeof o === 'string').slice(0, 100);
  const dropped = nonNegInt(parsed.packetsDroppedByKernel);
  if (dropped !== undefined) out.packetsDroppedByKernel = dropped;
  if (typeof parsed.toolExitCode === 'number' && Number.isInteger(parsed.toolExitCode)) out.toolExitCode = parsed.toolExitCode;
  if (isStopReason(parsed.stopReason)) out.stopReason = parsed.stopReason;
  return out;
}

function jobCondition(job: V1Job, type: string): boolean {
  return (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

const iso = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : typeof v === 'string' && v !== '' ? v : undefined);

/** State of one target from its Job and (when known) the Job's latest pod. */
export function targetFromJob(base: Pick<TargetStatus, 'pod' | 'namespace' | 'podUID' | 'node' | 'job' | 'captureId'>, job: V1Job, pod?: V1Pod): TargetStatus {
  let state: TargetStateName = 'Pending';
  let message: string | undefined;
  if (jobCondition(job, 'Complete') || jobCondition(job, 'SuccessCriteriaMet')) state = 'Succeeded';
  else if (jobCondition(job, 'Failed') || jobCondition(job, 'FailureTarget')) {
    state = 'Failed';
    const c = (job.status?.conditions ?? []).find((x) => (x.type === 'Failed' || x.type === 'FailureTarget') && x.status === 'True');
    message = [c?.reason, c?.message].filter(Boolean).join(': ') || undefined;
  } else if ((job.status?.active ?? 0) > 0 && pod?.status?.phase === 'Running') state = 'Running';
  const out: TargetStatus = { ...base, state };
  const start = iso(job.status?.startTime) ?? iso(pod?.status?.startTime);
  if (start) out.startTime = start;
  const done = iso(job.status?.completionTime) ?? (state === 'Failed' ? iso((job.status?.conditions ?? []).find((c) => c.type === 'Failed')?.lastTransitionTime) : undefined);
  if (done && (state === 'Succeeded' || state === 'Failed')) out.completionTime = done;
  const terminated = pod?.status?.containerStatuses?.find((c) => c.name === 'podtracer')?.state?.terminated ?? pod?.status?.containerStatuses?.[0]?.state?.terminated;
  if (terminated) {
    const summary = parseTerminationMessage(terminated.message);
    Object.assign(out, summary);
    if (state === 'Failed' && !message && terminated.reason) message = `${terminated.reason} (exit code ${terminated.exitCode})`;
    // a target pod deleted during the run ended its capture: a success (podtracer exits 0), said so
    if (state === 'Succeeded' && summary.stopReason === TARGET_GONE) message = TARGET_GONE_MESSAGE;
  }
  if (message) out.message = message;
  return out;
}

export const isTerminal = (s: TargetStateName) => s === 'Succeeded' || s === 'Failed' || s === 'Lost';

/**
 * Sets a condition, keeping lastTransitionTime when its status did not change (so a resync does
 * not rewrite status). Returns a new array.
 */
export function setCondition(conditions: Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const cond: Condition = { ...next, lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : now };
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return (conditions ?? []).find((c) => c.type === type);
}

/** Deep equality of JSON-like values, for "did the status change". */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
