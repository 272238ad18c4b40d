// What `podtracer node` says about its targets: each target's outcome read from its child's
// summary (or its failure), the node's termination message (encodeNodeReport: the rollup whole,
// then as many targets as fit) and the node manifest (every target, whole) it stores at the end.
// Pure but writeNodeReport.
import { writeFile } from 'node:fs/promises';
import {
  encodeNodeReport,
  type AssignedTarget,
  type NodeManifest,
  type NodeManifestTarget,
  type NodeTargetReport,
} from '../../lib/contracts/node-capture.js';
import { isStopReason } from '../../lib/contracts/podtracer-summary.js';
import type { ChildEnd } from './child.js';

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** The report's message of a failed target: why, in one line. */
function failureMessage(end: ChildEnd, summary: Record<string, unknown> | undefined): string {
  if (typeof summary?.error === 'string' && summary.error !== '') return summary.error;
  if (end.failure) return end.failure;
  if (summary && summary.exitCode === 1 && end.lastToolLine) return end.lastToolLine;
  if (end.signal) return `podtracer run was killed by ${end.signal}${end.lastError ? ` (last error: ${end.lastError})` : ''}`;
  if (end.lastError) return end.lastError;
  const code = typeof summary?.exitCode === 'number' ? summary.exitCode : end.code;
  return summary ? `podtracer run exited ${String(code)}` : `podtracer run exited ${String(code)} without a summary`;
}

/** One target's outcome, whole, from how its child ended. */
export function targetOutcome(target: AssignedTarget, end: ChildEnd): NodeManifestTarget {
  const s = end.summary;
  const succeeded = s !== undefined && end.code === 0 && s.exitCode === 0;
  const t: NodeManifestTarget = {
    namespace: target.namespace,
    pod: target.pod,
    uid: target.uid,
    container: typeof s?.container === 'string' && s.container !== '' ? s.container : target.container,
    state: succeeded ? 'Succeeded' : 'Failed',
    objects: Array.isArray(s?.objects) ? (s.objects as unknown[]).filter((o): o is string => typeof o === 'string') : [],
    startTime: end.startTime,
    completionTime: end.completionTime,
  };
  for (const f of ['bytes', 'segments', 'packetsDroppedByKernel'] as const) {
    const v = count(s?.[f]);
    if (v !== undefined) t[f] = v;
  }
  if (typeof s?.toolExitCode === 'number') t.toolExitCode = s.toolExitCode;
  if (isStopReason(s?.stopReason)) t.stopReason = s.stopReason;
  if (!succeeded) t.message = failureMessage(end, s);
  return t;
}

/** A target that never got a child (no token by the end, say): Failed, with why. */
export function notStarted(target: AssignedTarget, why: string): NodeManifestTarget {
  return { namespace: target.namespace, pod: target.pod, uid: target.uid, container: target.container, state: 'Failed', objects: [], message: why };
}

/** The termination message's view of a target: the report fields, without identity and objects. */
export function reportOf(t: NodeManifestTarget): NodeTargetReport {
  const { uid: _u, container: _c, objects: _o, startTime: _s, completionTime: _e, ...report } = t;
  return report;
}

export function nodeManifest(node: string, captureId: string, job: { namespace: string; name: string }, targets: NodeManifestTarget[]): NodeManifest {
  return { node, captureId, job, targets };
}

/** The node's termination message, bounded (encodeNodeReport). */
export function nodeReportText(node: string, targets: readonly NodeManifestTarget[]): string {
  return encodeNodeReport(node, targets.map(reportOf));
}

export async function writeNodeReport(path: string, text: string): Promise<void> {
  await writeFile(path, text);
}
