// Structural openAPIV3Schema handling for custom resources, in the order a real API server applies
// it: drop nulls of non-nullable fields and prune unknown fields, apply defaults, then validate
// (ajv) and report failures as field paths (`spec.replicas`, `spec.items[0].name`).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { StatusCause } from './errors.js';
import { clone, isPlainObject, type JsonObject } from './types.js';

type Schema = JsonObject;

const ROOT_KEEP = new Set(['apiVersion', 'kind', 'metadata']);
const META_FIELDS = new Set(['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields', 'selfLink']);

function preserves(s: Schema | undefined): boolean {
  return !!s && s['x-kubernetes-preserve-unknown-fields'] === true;
}
function props(s: Schema | undefined): Record<string, Schema> {
  return (isPlainObject(s?.properties) ? s!.properties : {}) as Record<string, Schema>;
}
function additional(s: Schema | undefined): Schema | undefined {
  const a = s?.additionalProperties;
  return isPlainObject(a) ? (a as Schema) : undefined;
}

/** Removes fields the schema does not know, and nulls where not nullable. Mutates `v`. */
export function prune(v: unknown, s: Schema | undefined, root = false, unknown?: string[], path = ''): unknown {
  if (!s) return v;
  if (Array.isArray(v)) {
    const items = isPlainObject(s.items) ? (s.items as Schema) : undefined;
    return v.map((x, i) => prune(x, items, false, unknown, `${path}[${i}]`));
  }
  if (!isPlainObject(v)) return v;
  const p = props(s), add = additional(s);
  for (const k of Object.keys(v)) {
    if (root && ROOT_KEEP.has(k)) {
      if (k === 'metadata' && isPlainObject(v.metadata)) {
        for (const mk of Object.keys(v.metadata)) if (!META_FIELDS.has(mk)) { unknown?.push(`metadata.${mk}`); delete v.metadata[mk]; }
      }
      continue;
    }
    const child = p[k] ?? add;
    if (v[k] === null && !(child && child.nullable === true)) { delete v[k]; continue; }
    const here = path ? `${path}.${k}` : k;
    if (!child) {
      if (!preserves(s) && s.additionalProperties !== true) { unknown?.push(here); delete v[k]; }
      continue;
    }
    v[k] = prune(v[k], child, false, unknown, here);
  }
  return v;
}

/** Fills in `default`s of absent properties, recursively. Mutates `v`. */
export function applyDefaults(v: unknown, s: Schema | undefined): unknown {
  if (!s) return v;
  if (Array.isArray(v)) {
    const items = isPlainObject(s.items) ? (s.items as Schema) : undefined;
    return v.map((x) => applyDefaults(x, items));
  }
  if (!isPlainObject(v)) return v;
  for (const [k, child] of Object.entries(props(s))) {
    if (v[k] === undefined && child.default !== undefined) v[k] = clone(child.default);
    if (v[k] !== undefined) v[k] = applyDefaults(v[k], child);
  }
  const add = additional(s);
  if (add) for (const k of Object.keys(v)) if (!(k in props(s))) v[k] = applyDefaults(v[k], add);
  return v;
}

/** Turns a Kubernetes structural schema into a plain JSON schema ajv understands. */
export function toAjvSchema(s: unknown, root = true): unknown {
  if (Array.isArray(s)) return s.map((x) => toAjvSchema(x, false));
  if (!isPlainObject(s)) return s;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-kubernetes-') || k === 'default' || k === 'example' || k === 'externalDocs' || k === 'format') continue;
    if (k === 'properties' && isPlainObject(v)) {
      out.properties = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, toAjvSchema(pv, false)]));
      continue;
    }
    out[k] = toAjvSchema(v, false);
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    return { anyOf: [{ type: 'integer' }, { type: 'string' }], ...out };
  }
  if (out.nullable === true && typeof out.type === 'string') {
    // ajv's `nullable` needs a type; it accepts null besides that type.
  } else delete out.nullable;
  if (root && isPlainObject(out.properties)) {
    // apiVersion/kind/metadata are the server's business at the root.
    const p = out.properties as JsonObject;
    if (!p.metadata) p.metadata = { type: 'object' };
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });

export interface CompiledSchema { schema: Schema; validate: ValidateFunction }

export function compileSchema(schema: Schema): CompiledSchema {
  return { schema, validate: ajv.compile(toAjvSchema(schema) as object) };
}

function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null';
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(obj: unknown, instancePath: string): unknown {
  let cur = obj;
  for (const p of instancePath.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** ajv failures in the wording of apiextensions-apiserver (`spec.x: Invalid value: ...`). */
export function causesFromAjv(errors: ErrorObject[] | null | undefined, obj: unknown): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
    let cause: StatusCause;
    const value = valueAt(obj, e.instancePath);
    if (e.keyword === 'required') {
      const field = fieldPath(e.instancePath, (e.params as { missingProperty: string }).missingProperty);
      cause = { reason: 'FieldValueRequired', field, message: 'Required value' };
    } else if (e.keyword === 'enum') {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(show).join(', ');
      cause = { reason: 'FieldValueNotSupported', field: fieldPath(e.instancePath), message: `Unsupported value: ${show(value)}: supported values: ${allowed}` };
    } else if (e.keyword === 'type') {
      const field = fieldPath(e.instancePath);
      const t = jsonType(value);
      cause = { reason: 'FieldValueTypeInvalid', field, message: `Invalid value: "${t}": ${field} in body must be of type ${(e.params as { type: string }).type}: "${t}"` };
    } else {
      const field = fieldPath(e.instancePath);
      cause = { reason: 'FieldValueInvalid', field, message: `Invalid value: ${show(value)}: ${field} in body ${e.message ?? 'is invalid'}` };
    }
    const k = `${cause.field}|${cause.message}`;
    if (!seen.has(k)) { seen.add(k); out.push(cause); }
  }
  return out;
}

/** Prune, default and validate a custom resource against its version's schema (mutates `obj`). */
export function admitCustomResource(obj: JsonObject, compiled: CompiledSchema, unknownFields?: string[]): StatusCause[] {
  prune(obj, compiled.schema, true, unknownFields);
  applyDefaults(obj, compiled.schema);
  if (compiled.validate(obj)) return [];
  return causesFromAjv(compiled.validate.errors, obj);
}
