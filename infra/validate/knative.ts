// Validation of Knative objects (Service, Broker, Trigger, SinkBinding, ...) against the Knative
// CRD schemas that @kubernetes-models/knative ships as compiled ajv validators.
// Those validators check types, required fields and enums; like the CRD schemas they come from,
// they do not refuse unknown fields, and a raw schema to read the field list from is not shipped.
// Unknown fields are found by probing instead: every field present in the object is replaced in
// turn by a value of a wrong type; a field the schema defines then fails at exactly that path,
// a field the schema does not know passes unnoticed — and is reported as unknown.
import type { FieldProblem } from './problems.js';
import { pathString } from './problems.js';
import { kubernetesModel, schemaProblems } from './builtin.js';

type ModelCtor = NonNullable<Awaited<ReturnType<typeof kubernetesModel>>>;

/**
 * Maps whose keys are free and whose values the Knative CRD schemas leave unconstrained, so a probe
 * cannot tell their entries from unknown fields: label selectors' matchLabels, Trigger filter
 * attributes (any CloudEvents attribute name) and SinkBinding/source ceOverrides extensions.
 */
const FREE_FORM_MAPS = [/(^|\.)matchLabels$/, /^spec\.filter\.attributes$/, /(^|\.)ceOverrides\.extensions$/];

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  cur[path[path.length - 1]!] = value;
  return copy;
}

/** Every object-key path in the value (array elements are walked, not probed themselves). */
function fieldPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => fieldPaths(v, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [[...path, k], ...fieldPaths(v, [...path, k])]);
}

/** Paths whose values the schema does not constrain at all: fields it does not define. */
export function unknownFieldsByProbe(Model: ModelCtor, obj: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const path of fieldPaths(obj)) {
    const where = pathString(path);
    // A field under one already reported as unknown is not reported again.
    if (problems.some((p) => where.startsWith(`${p.path}.`) || where.startsWith(`${p.path}[`))) continue;
    const parent = pathString(path.slice(0, -1));
    if (FREE_FORM_MAPS.some((re) => re.test(parent))) continue;
    let original: unknown = obj;
    for (const p of path) original = (original as Record<string | number, unknown>)[p];
    const wrong = typeof original === 'boolean' ? 'not-a-boolean' : true;
    const found = schemaProblems(Model, setAt(obj, path, wrong));
    const hit = found.some((p) => p.path === where || p.path.startsWith(`${where}.`) || p.path.startsWith(`${where}[`));
    if (!hit) problems.push({ path: where, message: `unknown field "${String(path[path.length - 1])}" (the schema does not define it)` });
  }
  return problems;
}

/**
 * Fields Knative defines that the shipped validators predate, checked here instead: the per-attempt
 * `timeout` of an Eventing DeliverySpec (Broker, Trigger, Channel, Subscription), an ISO 8601
 * duration greater than 0 (delivery-timeout feature of Knative Eventing).
 */
const NEWER_FIELDS: Array<{ kinds: string[]; path: RegExp; check: (v: unknown) => string | undefined }> = [
  {
    kinds: ['Broker', 'Trigger', 'Channel', 'InMemoryChannel', 'Subscription'],
    path: /^spec\.delivery\.timeout$/,
    check: (v) =>
      typeof v === 'string' && /^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(v) && !/^PT?0+(\.0+)?[DHMS]?$/.test(v)
        ? undefined
        : 'must be an ISO 8601 duration greater than 0 (e.g. PT30S)',
  },
];

function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}

/** Full check of a Knative object; undefined when the package does not know the kind. */
export async function validateKnative(obj: { apiVersion: string; kind: string }): Promise<FieldProblem[] | undefined> {
  const Model = await kubernetesModel(obj.apiVersion, obj.kind, '@kubernetes-models/knative');
  if (!Model) return undefined;
  const problems: FieldProblem[] = [...schemaProblems(Model, obj)];
  for (const p of unknownFieldsByProbe(Model, obj)) {
    const newer = NEWER_FIELDS.find((f) => f.kinds.includes(obj.kind) && f.path.test(p.path));
    if (!newer) {
      problems.push(p);
      continue;
    }
    const message = newer.check(valueAt(obj, p.path));
    if (message) problems.push({ path: p.path, message });
  }
  return problems;
}
