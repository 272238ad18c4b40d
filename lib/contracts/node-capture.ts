// The operator ⇄ node capture pod contract (docs/design.md, "Contracts"): one capture pod per node
// that has targets. The operator writes the node's assignment (which targets on that node, each
// with its own capture token) into one Secret per (SnoopyJob, node), mounted into that node's
// capture pod; `podtracer node` reads it, runs one `podtracer run` per target and reports every
// target's outcome in its termination message. Pure.
import type { StopReason } from './podtracer-summary.js';
import { isStopReason } from './podtracer-summary.js';

/** Where the node's assignment Secret is mounted in its capture pod. */
export const NODE_ASSIGNMENT_DIR = '/etc/snoopy/assignment';
/** The Secret key (and file) holding the NodeAssignment JSON. */
export const ASSIGNMENT_KEY = 'assignment.json';

/** One target of a node's capture pod. */
export interface AssignedTarget {
  namespace: string;
  pod: string;
  /** the pod's UID: a pod re-created under the same name is another target */
  uid: string;
  container: string;
  /** the Secret key (and file beside assignment.json) holding this target's capture token */
  tokenKey: string;
}

/** What a node's capture pod captures; rewritten by the operator when targets join or leave. */
export interface NodeAssignment {
  node: string;
  /** capture id of the run ("…*"-free: a scheduled run's Job gets its own via --capture-id) */
  captureId?: string;
  targets: AssignedTarget[];
}

export class AssignmentError extends Error {
  override name = 'AssignmentError';
}

const text = (v: unknown): v is string => typeof v === 'string' && v !== '';
const KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** Reads assignment.json; throws AssignmentError naming the first bad field. */
export function parseAssignment(json: string): NodeAssignment {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new AssignmentError(`assignment is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new AssignmentError('assignment is not an object');
  const a = raw as Record<string, unknown>;
  if (!text(a.node)) throw new AssignmentError('assignment.node must be a node name');
  if (a.captureId !== undefined && !text(a.captureId)) throw new AssignmentError('assignment.captureId must be a string');
  if (!Array.isArray(a.targets)) throw new AssignmentError('assignment.targets must be a list');
  const seen = new Set<string>();
  const targets = a.targets.map((t: unknown, i): AssignedTarget => {
    const o = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    for (const f of ['namespace', 'pod', 'uid', 'container', 'tokenKey'] as const) {
      if (!text(o[f])) throw new AssignmentError(`assignment.targets[${i}].${f} must be a non-empty string`);
    }
    if (!KEY.test(o.tokenKey as string) || o.tokenKey === ASSIGNMENT_KEY) throw new AssignmentError(`assignment.targets[${i}].tokenKey is not a usable Secret key`);
    const id = `${o.namespace as string}/${o.pod as string}`;
    if (seen.has(id)) throw new AssignmentError(`assignment.targets lists ${id} twice`);
    seen.add(id);
    return { namespace: o.namespace as string, pod: o.pod as string, uid: o.uid as string, container: o.container as string, tokenKey: o.tokenKey as string };
  });
  return { node: a.node, ...(a.captureId !== undefined ? { captureId: a.captureId as string } : {}), targets };
}

/** The JSON the operator writes: targets in namespace/pod order, so an unchanged set is an unchanged Secret. */
export function renderAssignment(a: NodeAssignment): string {
  const targets = [...a.targets].sort((x, y) => (`${x.namespace}/${x.pod}` < `${y.namespace}/${y.pod}` ? -1 : `${x.namespace}/${x.pod}` > `${y.namespace}/${y.pod}` ? 1 : 0));
  return JSON.stringify({ node: a.node, ...(a.captureId !== undefined ? { captureId: a.captureId } : {}), targets });
}

/** A target's outcome as the node capture pod reports it. */
export const NODE_TARGET_STATES = ['Running', 'Succeeded', 'Failed'] as const;
export type NodeTargetState = (typeof NODE_TARGET_STATES)[number];

export interface NodeTargetReport {
  namespace: string;
  pod: string;
  state: NodeTargetState;
  bytes?: number;
  segments?: number;
  packetsDroppedByKernel?: number;
  toolExitCode?: number;
  stopReason?: StopReason;
  /** why it failed: the tool's or podtracer's last error line */
  message?: string;
}

/** Counts of the node's targets by state: always complete, whatever the report had room for. */
export type NodeRollup = Record<NodeTargetState, number> & { bytes: number };

/**
 * The node capture pod's termination message. Kubernetes keeps at most 4096 bytes of it, so the
 * rollup is always whole and `targets` holds as many per-target reports as fit (`truncated` when not all).
 */
export interface NodeReport {
  node: string;
  rollup: NodeRollup;
  targets: NodeTargetReport[];
  truncated?: true;
}

/** Kubernetes' cap on a termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

export function rollupOf(targets: readonly NodeTargetReport[]): NodeRollup {
  const r: NodeRollup = { Running: 0, Succeeded: 0, Failed: 0, bytes: 0 };
  for (const t of targets) {
    r[t.state]++;
    r.bytes += t.bytes ?? 0;
  }
  return r;
}

/**
 * The report as a termination message of at most `limit` bytes: failed targets first (they are
 * what a reader needs), then the rest in namespace/pod order, as many as fit.
 */
export function encodeNodeReport(node: string, targets: readonly NodeTargetReport[], limit = TERMINATION_MESSAGE_LIMIT): string {
  const rollup = rollupOf(targets);
  const ordered = [...targets].sort((a, b) => (a.state === 'Failed') !== (b.state === 'Failed') ? (a.state === 'Failed' ? -1 : 1) : `${a.namespace}/${a.pod}` < `${b.namespace}/${b.pod}` ? -1 : 1);
  const clip = (t: NodeTargetReport): NodeTargetReport => (t.message && t.message.length > 200 ? { ...t, message: `${t.message.slice(0, 199)}…` } : t);
  const kept: NodeTargetReport[] = [];
  for (const t of ordered) {
    const next = JSON.stringify({ node, rollup, targets: [...kept, clip(t)], truncated: true });
    if (Buffer.byteLength(next) > limit) break;
    kept.push(clip(t));
  }
  const report: NodeReport = kept.length === targets.length ? { node, rollup, targets: kept } : { node, rollup, targets: kept, truncated: true };
  return JSON.stringify(report);
}

const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** A node capture pod's termination message; undefined when it is not one. */
export function parseNodeReport(message: string | undefined): NodeReport | undefined {
  if (!message) return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || !text(raw.node) || typeof raw.rollup !== 'object' || raw.rollup === null || !Array.isArray(raw.targets)) return undefined;
  const r = raw.rollup as Record<string, unknown>;
  const rollup: NodeRollup = { Running: count(r.Running) ?? 0, Succeeded: count(r.Succeeded) ?? 0, Failed: count(r.Failed) ?? 0, bytes: count(r.bytes) ?? 0 };
  const targets: NodeTargetReport[] = [];
  for (const t of raw.targets as unknown[]) {
    if (typeof t !== 'object' || t === null) continue;
    const o = t as Record<string, unknown>;
    if (!text(o.namespace) || !text(o.pod) || !(NODE_TARGET_STATES as readonly unknown[]).includes(o.state)) continue;
    const rep: NodeTargetReport = { namespace: o.namespace, pod: o.pod, state: o.state as NodeTargetState };
    for (const f of ['bytes', 'segments', 'packetsDroppedByKernel'] as const) {
      const v = count(o[f]);
      if (v !== undefined) rep[f] = v;
    }
    if (typeof o.toolExitCode === 'number' && Number.isInteger(o.toolExitCode)) rep.toolExitCode = o.toolExitCode;
    if (isStopReason(o.stopReason)) rep.stopReason = o.stopReason;
    if (typeof o.message === 'string') rep.message = o.message;
    targets.push(rep);
  }
  return { node: raw.node, rollup, targets, ...(raw.truncated === true ? { truncated: true as const } : {}) };
}

/**
 * The assignment Secret's key holding the node's own token: claims the run and the node (no pod),
 * good only for storing that node's manifest (NodeManifest) through the collector.
 */
export const NODE_TOKEN_KEY = 'node-token';

/** One target in a node's manifest: its report, whole, with its identity and stored objects. */
export interface NodeManifestTarget extends NodeTargetReport {
  uid: string;
  container: string;
  /** storage keys of the target's segments and evidence */
  objects: string[];
  startTime?: string;
  completionTime?: string;
}

/**
 * What a node capture pod stored at the end of its run: every target it captured, never
 * truncated. The run manifest is the set of these over the run's nodes (docs/design.md, "Storage keys").
 */
export interface NodeManifest {
  node: string;
  captureId: string;
  job: { namespace: string; name: string };
  targets: NodeManifestTarget[];
}

/** Largest node manifest the collector takes (it reads a manifest whole to check it before storing it). */
export const NODE_MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const isCount = (v: unknown) => count(v) !== undefined;

/** Reads a node manifest; throws ManifestError naming the first field that is not the NodeManifest shape. */
export function parseNodeManifest(json: string): NodeManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new ManifestError(`manifest is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ManifestError('manifest is not an object');
  const m = raw as Record<string, unknown>;
  if (!text(m.node)) throw new ManifestError('manifest.node must be a node name');
  if (!text(m.captureId)) throw new ManifestError('manifest.captureId must be a capture id');
  const job = (typeof m.job === 'object' && m.job !== null ? m.job : {}) as Record<string, unknown>;
  if (!text(job.namespace) || !text(job.name)) throw new ManifestError('manifest.job must be {namespace, name} of the SnoopyJob');
  if (!Array.isArray(m.targets)) throw new ManifestError('manifest.targets must be a list');
  const seen = new Set<string>();
  const targets = m.targets.map((t: unknown, i): NodeManifestTarget => {
    const at = `manifest.targets[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new ManifestError(`${at} must be an object`);
    const o = t as Record<string, unknown>;
    for (const f of ['namespace', 'pod', 'uid', 'container'] as const) {
      if (!text(o[f])) throw new ManifestError(`${at}.${f} must be a non-empty string`);
    }
    if (!(NODE_TARGET_STATES as readonly unknown[]).includes(o.state)) throw new ManifestError(`${at}.state must be one of ${NODE_TARGET_STATES.join(', ')}`);
    if (!Array.isArray(o.objects) || !o.objects.every(text)) throw new ManifestError(`${at}.objects must be a list of storage keys`);
    for (const f of ['bytes', 'segments', 'packetsDroppedByKernel'] as const) {
      if (o[f] !== undefined && !isCount(o[f])) throw new ManifestError(`${at}.${f} must be a whole number ≥ 0`);
    }
    if (o.toolExitCode !== undefined && !(typeof o.toolExitCode === 'number' && Number.isInteger(o.toolExitCode))) throw new ManifestError(`${at}.toolExitCode must be an integer`);
    if (o.stopReason !== undefined && !isStopReason(o.stopReason)) throw new ManifestError(`${at}.stopReason is not a stop reason`);
    for (const f of ['message', 'startTime', 'completionTime'] as const) {
      if (o[f] !== undefined && typeof o[f] !== 'string') throw new ManifestError(`${at}.${f} must be a string`);
    }
    const id = `${o.namespace as string}/${o.pod as string}/${o.uid as string}`;
    if (seen.has(id)) throw new ManifestError(`manifest.targets lists ${id} twice`);
    seen.add(id);
    const out: NodeManifestTarget = {
      namespace: o.namespace as string,
      pod: o.pod as string,
      uid: o.uid as string,
      container: o.container as string,
      state: o.state as NodeTargetState,
      objects: [...(o.objects as string[])],
    };
    for (const f of ['bytes', 'segments', 'packetsDroppedByKernel', 'toolExitCode'] as const) if (o[f] !== undefined) out[f] = o[f] as number;
    if (o.stopReason !== undefined) out.stopReason = o.stopReason as StopReason;
    for (const f of ['message', 'startTime', 'completionTime'] as const) if (o[f] !== undefined) out[f] = o[f] as string;
    return out;
  });
  return { node: m.node, captureId: m.captureId, job: { namespace: job.namespace, name: job.name }, targets };
}
