// A run seen whole (pure): with per-node capture the SnoopyJob's status lists only its first
// targets (targetCount counts them all); every target is in the run manifest, the node manifests
// the node capture pods stored under "<run>/_nodes/" (lib/contracts/node-capture.ts). This merges
// the two: a node's manifest, once stored, is its whole truth; a node without one yet (still
// running) is represented by the status's targets on it.
import type { SnoopyJob, TargetStatus } from '../lib/api/schema.js';
import { rollupOf, type NodeManifest, type NodeManifestTarget } from '../lib/contracts/node-capture.js';

/** Whether the status lists fewer targets than the run has, so only the run manifest has them all. */
export function statusIsPartial(sj: SnoopyJob): boolean {
  const s = sj.status;
  return s?.targetCount !== undefined && (s.targets?.length ?? 0) < s.targetCount;
}

/** The runs whose manifests make up what the status shows: the one-shot run, else the runs its targets name. */
export function runCaptureIds(sj: SnoopyJob): string[] {
  if (sj.status?.captureId) return [sj.status.captureId];
  return [...new Set((sj.status?.targets ?? []).map((t) => t.captureId).filter((c): c is string => !!c))].sort();
}

export interface NodeRollupRow {
  node: string;
  targets: number;
  /** counts by target state */
  states: Record<string, number>;
  bytes: number;
  /** manifest: every target of the node; status: only the node's targets the status lists */
  source: 'manifest' | 'status';
}

export interface RunView {
  targets: TargetStatus[];
  nodes: NodeRollupRow[];
  /** nodes whose manifest was read */
  manifests: number;
}

function fromManifest(m: NodeManifest, t: NodeManifestTarget, job: string): TargetStatus {
  const out: TargetStatus = { namespace: t.namespace, pod: t.pod, podUID: t.uid, node: m.node, job, state: t.state, captureId: m.captureId, objects: t.objects };
  for (const f of ['startTime', 'completionTime', 'message'] as const) if (t[f] !== undefined) out[f] = t[f];
  for (const f of ['bytes', 'segments', 'packetsDroppedByKernel', 'toolExitCode'] as const) if (t[f] !== undefined) out[f] = t[f];
  if (t.stopReason !== undefined) out.stopReason = t.stopReason;
  return out;
}

const byName = (a: TargetStatus, b: TargetStatus) => (a.node ?? '').localeCompare(b.node ?? '') || `${a.namespace}/${a.pod}`.localeCompare(`${b.namespace}/${b.pod}`);

/** Every target: the manifests' for the nodes that stored one, the status's for the others; per-node rollups. */
export function mergeRun(sj: SnoopyJob, manifests: readonly NodeManifest[]): RunView {
  const listed = sj.status?.targets ?? [];
  const runOf = (t: TargetStatus) => `${t.captureId ?? sj.status?.captureId ?? ''}/${t.node ?? ''}`;
  const covered = new Set(manifests.map((m) => `${m.captureId}/${m.node}`));
  // the node's capture Job, as the status names it (a manifest does not)
  const jobOf = new Map<string, string>();
  for (const t of listed) if (t.node) jobOf.set(runOf(t), t.job);
  const targets: TargetStatus[] = [];
  const nodes = new Map<string, NodeRollupRow>();
  for (const m of manifests) {
    const r = rollupOf(m.targets);
    const row = nodes.get(m.node) ?? { node: m.node, targets: 0, states: {}, bytes: 0, source: 'manifest' as const };
    row.targets += m.targets.length;
    row.bytes += r.bytes;
    for (const s of ['Running', 'Succeeded', 'Failed'] as const) if (r[s] > 0) row.states[s] = (row.states[s] ?? 0) + r[s];
    nodes.set(m.node, row);
    for (const t of m.targets) targets.push(fromManifest(m, t, jobOf.get(`${m.captureId}/${m.node}`) ?? ''));
  }
  for (const t of listed) {
    if (t.node && covered.has(runOf(t))) continue;
    targets.push(t);
    const node = t.node ?? '-';
    const row = nodes.get(node) ?? { node, targets: 0, states: {}, bytes: 0, source: 'status' as const };
    if (row.source === 'manifest') continue; // another run's target on a node whose manifest is counted
    row.targets++;
    row.bytes += t.bytes ?? 0;
    row.states[t.state] = (row.states[t.state] ?? 0) + 1;
    nodes.set(node, row);
  }
  return { targets: targets.sort(byName), nodes: [...nodes.values()].sort((a, b) => a.node.localeCompare(b.node)), manifests: manifests.length };
}

/** Every object key the run manifest lists (objects are keys or s3:// URIs, as in the status). */
export function manifestKeys(manifests: readonly NodeManifest[]): string[] {
  return manifests.flatMap((m) => m.targets.flatMap((t) => t.objects));
}
