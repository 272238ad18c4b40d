// The pieces of a SnoopyJob plan's writes (pure): the status patch, the token and assignment Secret writes, and
// a failure as the Error the reconcile ends with.
import type { V1Secret } from '@kubernetes/client-node';
import type { SnoopyJob, SnoopyJobStatus } from '../../lib/api/schema.js';
import { Annotations, Labels, labelValue, snoopyLabels, tokenSecretName } from '../../lib/api/names.js';
import { jsonEqual } from './status.js';
import type { SecretWrite, StatusWrite, TokenWrite } from './plan.js';

/** Status write, when `next` differs from `base` (what the API, or this process, last had). */
export function statusWrite(base: SnoopyJobStatus, next: SnoopyJobStatus): StatusWrite | undefined {
  if (jsonEqual(base, next)) return undefined;
  return { value: structuredClone(next), patch: mergePatch(base as Record<string, unknown>, next as Record<string, unknown>) };
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON merge patch (RFC 7386) from `base` to `next`: a key `next` lost is nulled at every
 * depth (a merge patch merges nested objects, so `targetStates` losing `Pending` must say so);
 * arrays and values are replaced whole.
 */
function mergePatch(base: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) continue;
    patch[k] = isMap(v) && isMap(base[k]) ? mergePatch(base[k], v) : v;
  }
  for (const k of Object.keys(base)) if (base[k] !== undefined && next[k] === undefined) patch[k] = null;
  return patch;
}

export function tokenWrite(sj: SnoopyJob, namespace: string, exists: boolean, add: Record<string, string>, remove: string[]): TokenWrite {
  return { kind: 'tokens', ...secretWrite(sj, namespace, tokenSecretName({ name: sj.metadata.name, uid: sj.metadata.uid! }), exists, add, remove) };
}

/** A node's assignment Secret (per-node capture): labelled with the node, found again by it. */
export function assignmentWrite(sj: SnoopyJob, namespace: string, name: string, node: string, exists: boolean, add: Record<string, string>, remove: string[]): SecretWrite {
  const w = secretWrite(sj, namespace, name, exists, add, remove);
  w.create.metadata!.labels = { ...w.create.metadata!.labels, [Labels.node]: labelValue(node), [Labels.component]: 'assignment' };
  w.create.metadata!.annotations = { ...w.create.metadata!.annotations, [Annotations.node]: node };
  return w;
}

/** Adds keys to (null: removes keys from) a Secret of the SnoopyJob, created when the cache lacks it. */
export function secretWrite(sj: SnoopyJob, namespace: string, name: string, exists: boolean, add: Record<string, string>, remove: string[]): SecretWrite {
  const data: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(add)) data[k] = Buffer.from(v).toString('base64');
  for (const k of remove) data[k] = null;
  const labels = snoopyLabels({ name: sj.metadata.name, namespace: sj.metadata.namespace, uid: sj.metadata.uid! });
  const create: V1Secret = {
    metadata: { name, namespace, labels, annotations: { [Annotations.jobName]: sj.metadata.name } },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)) as Record<string, string>,
  };
  return { name, exists, create, patch: { data } };
}

export function withStatus(base: SnoopyJobStatus, status: SnoopyJobStatus): { status?: StatusWrite } {
  const w = statusWrite(base, status);
  return w ? { status: w } : {};
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(JSON.stringify(err));
}
