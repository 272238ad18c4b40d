// Validation of built-in Kubernetes objects against the Kubernetes OpenAPI schemas, offline:
// - types, required fields and enums: the ajv validators compiled from the OpenAPI spec that the
//   kubernetes-models package ships (one model class per apiVersion/kind);
// - unknown fields: the field tables that @kubernetes/client-node generates from the same spec
//   (attributeTypeMap of every model). The API server drops or refuses unknown fields (kubectl's
//   strict field validation), and a misspelled field is the commonest manifest bug, so it is an
//   error here.
import * as k8s from '@kubernetes/client-node';
import type { FieldProblem } from './problems.js';
import { pathString, pointerPath } from './problems.js';

interface AttributeType {
  name: string;
  baseName: string;
  type: string;
}
interface ModelClass {
  getAttributeTypeMap(): AttributeType[];
}

const models = k8s as unknown as Record<string, ModelClass | undefined>;

function modelClass(typeName: string): ModelClass | undefined {
  const m = models[typeName];
  return m && typeof m.getAttributeTypeMap === 'function' ? m : undefined;
}

/** client-node's name for the model of apiVersion/kind, e.g. apps/v1 Deployment → V1Deployment. */
export function clientModelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').pop()!;
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : 'core';
  const v = version.charAt(0).toUpperCase() + version.slice(1);
  // Kinds whose names clash between groups carry the group (CoreV1Event, EventsV1Event).
  const groupWord = group.split('.')[0]!;
  const candidates = [`${v}${kind}`, `${groupWord.charAt(0).toUpperCase()}${groupWord.slice(1)}${v}${kind}`];
  return candidates.find((c) => modelClass(c) !== undefined);
}

/** Fields present in `value` that the schema of `typeName` does not define, recursively. */
export function unknownFields(value: unknown, typeName: string, path: (string | number)[] = []): FieldProblem[] {
  if (value === null || value === undefined) return [];
  const arrayOf = /^Array<(.+)>$/.exec(typeName);
  if (arrayOf) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) => unknownFields(item, arrayOf[1]!, [...path, i]));
  }
  const mapOf = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (mapOf) {
    if (typeof value !== 'object' || Array.isArray(value)) return [];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => unknownFields(v, mapOf[1]!, [...path, k]));
  }
  const model = modelClass(typeName);
  if (!model || typeof value !== 'object' || Array.isArray(value)) return []; // scalars, IntOrString, any
  const known = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const problems: FieldProblem[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const t = known.get(key);
    if (t === undefined) {
      problems.push({ path: pathString([...path, key]), message: `unknown field "${key}" (not in ${typeName})` });
    } else {
      problems.push(...unknownFields(v, t, [...path, key]));
    }
  }
  return problems;
}

interface ValidationErrorLike {
  errors?: { instancePath: string; message?: string; keyword: string; params?: Record<string, unknown> }[];
  message: string;
}
type ModelCtor = new (data: unknown) => { validate(): void };

/** The kubernetes-models class for apiVersion/kind, or undefined for kinds it does not know. */
export async function kubernetesModel(apiVersion: string, kind: string, pkg = 'kubernetes-models'): Promise<ModelCtor | undefined> {
  try {
    const mod = (await import(`${pkg}/${apiVersion}/${kind}`)) as Record<string, ModelCtor | undefined>;
    return mod[kind];
  } catch {
    return undefined;
  }
}

/** Runs a kubernetes-models validator and turns its ajv errors into field problems. */
export function schemaProblems(Model: ModelCtor, obj: unknown): FieldProblem[] {
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const e = err as ValidationErrorLike;
    if (!e.errors) return [{ path: '', message: e.message }];
    return e.errors.map((x) => ({ path: pointerPath(x.instancePath), message: `${x.keyword}: ${x.message ?? JSON.stringify(x.params)}` }));
  }
}

/** Full check of a built-in object; undefined when neither package knows the kind. */
export async function validateBuiltin(obj: { apiVersion: string; kind: string }): Promise<FieldProblem[] | undefined> {
  const Model = await kubernetesModel(obj.apiVersion, obj.kind);
  const clientName = clientModelName(obj.apiVersion, obj.kind);
  if (!Model || !clientName) return undefined;
  return [...schemaProblems(Model, obj), ...unknownFields(obj, clientName)];
}
