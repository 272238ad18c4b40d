// Validation of custom resources against the openAPIV3Schema of our own CRDs (infra/crds/), with
// ajv. The API server prunes unknown fields of a structural schema silently, so a misspelled field
// in a sample would simply vanish; here every object schema that lists its properties (and does
// not preserve unknown fields) refuses any other property.
import { Ajv, type ValidateFunction } from 'ajv';
import type { FieldProblem } from './problems.js';
import { pointerPath } from './problems.js';

type Schema = Record<string, unknown>;

/** A copy of a CRD schema in which listed properties are the only ones allowed. */
export function closeSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([name, s]) => [name, closeSchema(s)]));
    } else if ((k === 'items' || k === 'additionalProperties' || k === 'not') && v && typeof v === 'object') {
      out[k] = closeSchema(v as Schema);
    } else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      out[k] = v.map((s: Schema) => closeSchema(s));
    } else if (!k.startsWith('x-kubernetes-')) {
      out[k] = v;
    }
  }
  const preserves = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (schema.properties && schema.additionalProperties === undefined && !preserves) out.additionalProperties = false;
  return out;
}

interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: Schema };
}
export interface Crd {
  kind: 'CustomResourceDefinition';
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

export class CrdValidators {
  private readonly ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  private readonly byKey = new Map<string, ValidateFunction>();

  constructor(crds: Crd[]) {
    for (const crd of crds) {
      for (const v of crd.spec.versions) {
        const schema = v.schema?.openAPIV3Schema;
        if (!schema) continue;
        const root = closeSchema(schema);
        // metadata is the API server's, checked by it, not by the CRD schema.
        (root.properties as Record<string, Schema>).metadata = { type: 'object' };
        this.byKey.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, this.ajv.compile(root));
      }
    }
  }

  kinds(): string[] {
    return [...this.byKey.keys()];
  }

  /** undefined when no CRD defines apiVersion/kind. */
  validate(obj: { apiVersion: string; kind: string }): FieldProblem[] | undefined {
    const fn = this.byKey.get(`${obj.apiVersion}/${obj.kind}`);
    if (!fn) return undefined;
    if (fn(obj)) return [];
    return (fn.errors ?? []).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
      const path = pointerPath(e.instancePath);
      return extra !== undefined
        ? { path: path ? `${path}.${extra}` : extra, message: `unknown field "${extra}" (the CRD schema does not define it)` }
        : { path, message: `${e.keyword}: ${e.message ?? ''}` };
    });
  }
}
