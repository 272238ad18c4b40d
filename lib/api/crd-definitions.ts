// CustomResourceDefinitions and validators derived from schema.ts. Pure: the generator script
// writes the YAML, the operator and tests compile validators from the same objects.
import { Ajv, type ValidateFunction } from 'ajv';
import { stringify } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { SNOOPYDATAENDPOINT, SNOOPYJOB, type ResourceDef } from './schema.js';

/** Plain JSON schema (TypeBox keeps its metadata under symbol keys, which JSON drops). */
export function plainSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

export function crdName(def: ResourceDef): string {
  return `${def.plural}.${def.group}`;
}

export function customResourceDefinition(def: ResourceDef): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(def) },
    spec: {
      group: def.group,
      names: { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, shortNames: def.shortNames },
      scope: 'Namespaced',
      versions: [
        {
          name: def.version,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: plainSchema(def.spec),
                status: plainSchema(def.status),
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
        },
      ],
    },
  };
}

export const RESOURCES: readonly ResourceDef[] = [SNOOPYJOB, SNOOPYDATAENDPOINT];

/** File name under infra/crds/ and its YAML text, for every resource. */
export function crdFiles(): { file: string; yaml: string }[] {
  return RESOURCES.map((def) => ({
    file: `${def.group}_${def.plural}.yaml`,
    // The header names the schema's path before it moved to lib/api/schema.ts: kept as it was so
    // the generated CRDs (and the install bundle) stay byte-identical until they change anyway.
    yaml: `# Generated from operator/crd/schema.ts; do not edit by hand.\n${stringify(customResourceDefinition(def), { lineWidth: 0 })}`,
  }));
}

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const compiled = new Map<TSchema, ValidateFunction>();

export interface SchemaProblem {
  field: string;
  message: string;
}

function validatorFor(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(plainSchema(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Compiles the spec validators ahead of use: a first compile takes tens of milliseconds, which
 * would otherwise be spent inside the first reconcile of a new SnoopyJob.
 */
export function compileSpecValidators(): void {
  for (const def of RESOURCES) validatorFor(def.spec);
}

/** Validates (and fills defaults into) a spec the way the API server's CRD schema would. */
export function checkAgainstSchema(schema: TSchema, value: unknown, root = 'spec'): SchemaProblem[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const field = path ? `${root}.${path}` : root;
    const extra = e.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
    return { field, message: `${field} ${e.message ?? 'is invalid'}${extra}` };
  });
}
