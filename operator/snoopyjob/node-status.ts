// Per-node capture, pure readings: a node's assignment from its Secret, the state of each of its
// targets from the node's capture Job, its pod and the pod's report (lib/contracts/node-capture.ts),
// and the bounded status every selection fits in (the first targets, rollups per node and state).
import type { V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { NodeStatus, TargetStateCounts, TargetStateName, TargetStatus } from '../../lib/api/schema.js';
import { Labels } from '../../lib/api/names.js';
import { ASSIGNMENT_KEY, AssignmentError, parseAssignment, parseNodeReport, type AssignedTarget, type NodeAssignment, type NodeTargetReport } from '../../lib/contracts/node-capture.js';
import { TARGET_GONE } from '../../lib/contracts/podtracer-summary.js';
import { byText } from './observed.js';
import { TARGET_GONE_MESSAGE, isTerminal, targetFromJob } from './status.js';

/** Most nodes the status lists (nodeCount counts them all): with the listed targets, under 256 KiB. */
export const MAX_STATUS_NODES = 500;

export const targetId = (t: { namespace: string; pod: string }): string => `${t.namespace}/${t.pod}`;

/** The assignment a node's Secret holds; undefined when it has none or one that does not parse. */
export function assignmentOf(secret: V1Secret | undefined): NodeAssignment | undefined {
  const raw = secret?.data?.[ASSIGNMENT_KEY];
  if (!raw) return undefined;
  try {
    return parseAssignment(Buffer.from(raw, 'base64').toString('utf8'));
  } catch (err) {
    if (err instanceof AssignmentError) return undefined;
    throw err;
  }
}

/** The SnoopyJob's per-node assignment Secrets, by name. */
export function assignmentSecrets(secrets: ReadonlyArray<V1Secret>, uid: string): Map<string, V1Secret> {
  const out = new Map<string, V1Secret>();
  for (const s of secrets) if (s.metadata?.labels?.[Labels.jobUid] === uid && s.metadata.labels[Labels.component] === 'assignment' && !s.metadata.deletionTimestamp) out.set(s.metadata.name!, s);
  return out;
}

/** Targets in both lists once (the first's entry wins): targets are never dropped from a running node's assignment. */
export function unionTargets(a: ReadonlyArray<AssignedTarget>, b: ReadonlyArray<AssignedTarget>): AssignedTarget[] {
  const seen = new Set(a.map(targetId));
  return [...a, ...b.filter((t) => !seen.has(targetId(t)))];
}

export function isJobFinished(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed' || c.type === 'SuccessCriteriaMet' || c.type === 'FailureTarget') && c.status === 'True');
}

export interface NodeOutcome {
  node: NodeStatus;
  targets: TargetStatus[];
}

/** What the status says about one node's capture Job before it or its pod can tell more. */
export interface NodeContext {
  node: string;
  /** the node's capture Job (one-shot) or, scheduled, the CronJob whose latest run this is */
  jobName: string;
  captureId?: string;
  targets: ReadonlyArray<AssignedTarget>;
  job?: V1Job;
  pod?: V1Pod;
  /** created a moment ago (or now): Pending while the cache does not show it */
  expected: boolean;
  /** what the status last said of the targets, by namespace/pod (only those it listed) */
  recorded: ReadonlyMap<string, TargetStatus>;
  /** what the status last said of the node */
  recordedNode?: NodeStatus;
}

const REPORT_FIELDS = ['bytes', 'segments', 'packetsDroppedByKernel', 'toolExitCode', 'stopReason'] as const;

/** One target from its line in the node's report. */
function fromReport(t: TargetStatus, r: NodeTargetReport): TargetStatus {
  const out: TargetStatus = { ...t, state: r.state === 'Running' ? 'Lost' : r.state };
  for (const f of REPORT_FIELDS) if (r[f] !== undefined) (out as Record<string, unknown>)[f] = r[f];
  if (r.state === 'Running') out.message = 'still running when the node\'s capture pod ended';
  else if (r.state === 'Succeeded' && r.stopReason === TARGET_GONE) out.message = TARGET_GONE_MESSAGE;
  else if (r.message) out.message = r.message;
  else delete out.message;
  return out;
}

/**
 * Each assigned target's state: from the node's report once its capture pod ended (a target the
 * report has no room for is Succeeded when the report lists every failure), else the Job's.
 */
export function nodeOutcome(c: NodeContext): NodeOutcome {
  const base = (t: AssignedTarget): TargetStatus => ({ pod: t.pod, namespace: t.namespace, podUID: t.uid, node: c.node, job: c.jobName, state: 'Pending', ...(c.captureId !== undefined ? { captureId: c.captureId } : {}) });
  let targets: TargetStatus[];
  let nodeState: TargetStateName;
  let message: string | undefined;
  let bytes: number | undefined;
  if (c.job) {
    const j = targetFromJob({ pod: '', namespace: '', node: c.node, job: c.jobName }, c.job, c.pod);
    nodeState = j.state;
    message = j.message;
    const times = { ...(j.startTime ? { startTime: j.startTime } : {}), ...(j.completionTime ? { completionTime: j.completionTime } : {}) };
    const terminated = c.pod?.status?.containerStatuses?.find((s) => s.name === 'podtracer')?.state?.terminated;
    const report = terminated ? parseNodeReport(terminated.message) : undefined;
    if (report) bytes = report.rollup.bytes;
    if (!isTerminal(j.state)) {
      targets = c.targets.map((t) => ({ ...base(t), ...times, state: j.state }));
    } else if (!report) {
      targets = c.targets.map((t) => ({ ...base(t), ...times, state: j.state, ...(message ? { message } : {}) }));
    } else {
      const lines = new Map(report.targets.map((r) => [targetId(r), r]));
      const listedFailed = report.targets.filter((r) => r.state === 'Failed').length;
      targets = c.targets.map((t) => {
        const line = lines.get(targetId(t));
        if (line) return fromReport({ ...base(t), ...times }, line);
        if (report.truncated && listedFailed === report.rollup.Failed) return { ...base(t), ...times, state: 'Succeeded' };
        if (report.truncated) return { ...base(t), ...times, state: j.state, message: 'the capture pod\'s report had no room for this target; see the run manifest' };
        return { ...base(t), ...times, state: 'Lost', message: 'assigned after the node\'s capture pod had ended' };
      });
    }
  } else if (c.expected) {
    nodeState = 'Pending';
    targets = c.targets.map(base);
  } else if (c.recordedNode && isTerminal(c.recordedNode.state)) {
    // the Job is gone after it finished (ttlSecondsAfterFinished): what the status said stays
    nodeState = c.recordedNode.state;
    message = c.recordedNode.message;
    bytes = c.recordedNode.bytes;
    targets = c.targets.map((t) => c.recorded.get(targetId(t)) ?? { ...base(t), state: c.recordedNode!.state === 'Succeeded' ? 'Succeeded' : 'Lost' });
  } else {
    nodeState = 'Lost';
    message = 'the capture Job disappeared before it finished';
    targets = c.targets.map((t) => {
      const rec = c.recorded.get(targetId(t));
      return rec && isTerminal(rec.state) ? rec : { ...base(t), ...(rec ?? {}), state: 'Lost', message: message! };
    });
  }
  const counts = countStates(targets);
  if (bytes === undefined) bytes = targets.reduce((n, t) => n + (t.bytes ?? 0), 0);
  const node: NodeStatus = { node: c.node, job: c.jobName, state: nodeState, targets: targets.length, counts, ...(bytes > 0 ? { bytes } : {}), ...(message ? { message } : {}) };
  return { node, targets };
}

export function countStates(targets: ReadonlyArray<{ state: TargetStateName }>): TargetStateCounts {
  const out: Record<string, number> = {};
  for (const t of targets) out[t.state] = (out[t.state] ?? 0) + 1;
  return out as TargetStateCounts;
}

export function addCounts(into: Record<string, number>, c: TargetStateCounts): void {
  for (const [k, v] of Object.entries(c)) into[k] = (into[k] ?? 0) + (v ?? 0);
}

/**
 * The status's share of a run over many targets: the first `limit` targets (failed and lost
 * first, they are what a reader looks for; listed in namespace/pod order), every node up to
 * MAX_STATUS_NODES, and the counts that cover all of them.
 */
export function boundedStatus(targets: ReadonlyArray<TargetStatus>, nodes: ReadonlyArray<NodeStatus>, limit: number): {
  targets: TargetStatus[];
  targetsOmitted?: number;
  targetStates: TargetStateCounts;
  nodes: NodeStatus[];
  nodeCount: number;
  nodesOmitted?: number;
} {
  const bad = (t: TargetStatus) => t.state === 'Failed' || t.state === 'Lost';
  const byId = (a: TargetStatus, b: TargetStatus) => byText(a.namespace, b.namespace) || byText(a.pod, b.pod);
  const chosen = targets.length <= limit ? [...targets] : [...targets].sort((a, b) => (bad(a) !== bad(b) ? (bad(a) ? -1 : 1) : byId(a, b))).slice(0, limit);
  chosen.sort(byId);
  const sortedNodes = [...nodes].sort((a, b) => byText(a.node, b.node));
  const listedNodes = sortedNodes.slice(0, MAX_STATUS_NODES);
  return {
    targets: chosen,
    ...(targets.length > chosen.length ? { targetsOmitted: targets.length - chosen.length } : {}),
    targetStates: countStates(targets),
    nodes: listedNodes,
    nodeCount: nodes.length,
    ...(nodes.length > listedNodes.length ? { nodesOmitted: nodes.length - listedNodes.length } : {}),
  };
}
