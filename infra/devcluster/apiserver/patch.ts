// The three patch formats a Kubernetes API server accepts: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902, via fast-json-patch) and strategic merge patch for built-in kinds.
//
// Strategic merge patch, supported subset: lists whose Go struct tags say `patchStrategy:merge`
// are merged by their patch merge key (table below, keyed by field name, with `ports` resolved by
// context); `$patch: replace|delete|merge` in maps and list items, `$setElementOrder/<field>`
// (honoured for ordering), `$deleteFromPrimitiveList/<field>`, `$retainKeys`. Other lists replace.
import fjp from 'fast-json-patch';
import { badRequest } from './errors.js';
import { clone, isPlainObject, type JsonObject } from './types.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const out: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    // validate=true makes fast-json-patch refuse malformed operations and failing `test`s.
    return fjp.applyPatch(clone(target), ops as fjp.Operation[], true, false).newDocument;
  } catch (e) {
    const err = e as { name?: string; message?: string };
    if (err.name === 'TEST_OPERATION_FAILED') throw new PatchConflict('the server rejected our request due to an error in our request: test operation failed');
    throw new PatchInvalid(`the server rejected our request due to an error in our request: ${(err.message ?? String(e)).split('\n')[0]}`);
  }
}

/** A JSON patch whose `test` failed: real servers answer 422 too, but we keep the class distinct. */
export class PatchConflict extends Error {}
export class PatchInvalid extends Error {}

/** Patch merge keys of the lists that merge (field name → key). `ports` depends on where it is. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name',
  volumeMounts: 'mountPath', volumeDevices: 'devicePath', conditions: 'type', ownerReferences: 'uid',
  imagePullSecrets: 'name', hostAliases: 'ip', topologySpreadConstraints: 'topologyKey', taints: 'key',
  addresses: 'type', resourceClaims: 'name', podIPs: 'ip', hostIPs: 'ip', secrets: 'name', schedulingGates: 'name',
};
/** Primitive lists merged as sets. */
const SET_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, path: string[]): string | undefined {
  if (field === 'ports') {
    // Container ports merge on containerPort; Service ports on port.
    return path.includes('containers') || path.includes('initContainers') ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
  return smpMap(isPlainObject(target) ? target : {}, patch, []);
}

function smpMap(target: JsonObject, patch: JsonObject, path: string[]): JsonObject {
  const directive = patch['$patch'];
  if (directive === 'replace') {
    const out = { ...patch };
    delete out['$patch'];
    return clone(out);
  }
  if (directive === 'delete') return {};
  let out: JsonObject = { ...target };
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    const keep = new Set(retain as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  const order: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) { order[k.slice('$setElementOrder/'.length)] = v as unknown[]; continue; }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((v as unknown[]).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) { delete out[k]; continue; }
    if (isPlainObject(v)) out[k] = smpMap(isPlainObject(out[k]) ? (out[k] as JsonObject) : {}, v, [...path, k]);
    else if (Array.isArray(v)) out[k] = smpList(k, Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v, [...path, k]);
    else out[k] = v;
  }
  for (const [field, wanted] of Object.entries(order)) {
    if (Array.isArray(out[field])) out[field] = applyOrder(field, out[field] as unknown[], wanted, path);
  }
  return out;
}

function smpList(field: string, target: unknown[], patch: unknown[], path: string[]): unknown[] {
  if (SET_LISTS.has(field)) {
    const seen = new Set(target.map((x) => JSON.stringify(x)));
    const out = [...target];
    for (const p of patch) if (!seen.has(JSON.stringify(p))) { seen.add(JSON.stringify(p)); out.push(p); }
    return out;
  }
  const key = mergeKeyFor(field, path);
  const replaceAll = patch.some((p) => isPlainObject(p) && p['$patch'] === 'replace');
  if (!key || replaceAll) return clone(patch.filter((p) => !(isPlainObject(p) && p['$patch'] === 'replace')));
  const out = target.map((x) => x);
  for (const p of patch) {
    if (!isPlainObject(p)) throw badRequest(`strategic merge patch: list ${field} items must be objects`);
    const idx = out.findIndex((x) => isPlainObject(x) && x[key] === p[key]);
    if (p['$patch'] === 'delete') { if (idx >= 0) out.splice(idx, 1); continue; }
    if (idx >= 0) out[idx] = smpMap(out[idx] as JsonObject, p, path);
    else out.push(smpMap({}, p, path));
  }
  return out;
}

function applyOrder(field: string, list: unknown[], wanted: unknown[], path: string[]): unknown[] {
  const key = mergeKeyFor(field, path);
  const id = (x: unknown): string => JSON.stringify(key && isPlainObject(x) ? x[key] : x);
  const rank = new Map(wanted.map((w, i) => [id(w), i]));
  return [...list].sort((a, b) => (rank.get(id(a)) ?? Infinity) - (rank.get(id(b)) ?? Infinity));
}
