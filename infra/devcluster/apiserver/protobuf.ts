// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the kinds
// kubectl's create generators send: decoded to JSON, then handled like any JSON body. Other kinds
// are refused with 415.
import protobuf from 'protobufjs';
import { repoPath } from '../../../lib/repo-root.js';
import { BODY_TYPES, badRequest, unsupportedMediaType } from './errors.js';
import { isPlainObject, type JsonObject } from './types.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"
const KINDS = new Set(['Namespace', 'ConfigMap', 'Secret', 'ServiceAccount']);

let root: protobuf.Root | undefined;
function types(): protobuf.Root {
  root ??= protobuf.loadSync(repoPath('infra', 'devcluster', 'apiserver', 'proto', 'k8s-subset.proto'));
  return root;
}

function rfc3339(t: unknown): string | undefined {
  if (!isPlainObject(t) || t.seconds === undefined) return undefined;
  return new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Drops empty maps/lists the encoding cannot tell from absent ones, and turns Times into strings. */
function tidyMeta(m: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined || v === null || v === '') continue;
    if ((Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0)) continue;
    out[k] = k === 'creationTimestamp' || k === 'deletionTimestamp' ? rfc3339(v) : v;
  }
  return out;
}

export function decodeK8sProtobuf(body: Buffer, contentType: string): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw badRequest('protobuf body does not start with the Kubernetes envelope');
  const r = types();
  let unknown: JsonObject;
  try {
    unknown = r.lookupType('k8s.Unknown').toObject(r.lookupType('k8s.Unknown').decode(body.subarray(4)), { defaults: false }) as JsonObject;
  } catch (e) {
    throw badRequest(`protobuf envelope: ${(e as Error).message}`);
  }
  const tm = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  if (!tm.kind || !KINDS.has(tm.kind) || tm.apiVersion !== 'v1') throw unsupportedMediaType(`${contentType} for ${tm.apiVersion ?? '?'}/${tm.kind ?? '?'}`, BODY_TYPES);
  const type = r.lookupType(`k8s.${tm.kind}`);
  let obj: JsonObject;
  try {
    obj = type.toObject(type.decode(unknown.raw as Uint8Array), { bytes: String, longs: Number, defaults: false }) as JsonObject;
  } catch (e) {
    throw badRequest(`protobuf ${tm.kind}: ${(e as Error).message}`);
  }
  // bytes fields come out base64, which is what JSON carries for them.
  const out: JsonObject = { apiVersion: 'v1', kind: tm.kind };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'metadata' && isPlainObject(v)) out.metadata = tidyMeta(v);
    else if (isPlainObject(v) && Object.keys(v).length === 0) continue;
    else if (Array.isArray(v) && v.length === 0) continue;
    else out[k] = v;
  }
  out.metadata ??= {};
  return out;
}
