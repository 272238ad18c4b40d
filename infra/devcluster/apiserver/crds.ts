// CustomResourceDefinitions: validation of the definition itself, and the resource it serves.
import type { StatusCause } from './errors.js';
import { ALL_VERBS, type PrinterColumn, type ResourceDef, type VersionDef } from './resources.js';
import { compileSchema, type CompiledSchema } from './schema.js';
import { isPlainObject, type JsonObject, type KObject } from './types.js';

interface CrdVersion {
  name: string; served: boolean; storage: boolean;
  schema?: { openAPIV3Schema?: JsonObject };
  subresources?: { status?: JsonObject; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: PrinterColumn[];
}
interface CrdSpec {
  group: string; scope: 'Namespaced' | 'Cluster';
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function validateCrd(o: KObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = o.spec as CrdSpec | undefined;
  if (!isPlainObject(spec)) return [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }];
  if (!spec.group || !spec.group.includes('.')) out.push({ field: 'spec.group', message: `Invalid value: ${JSON.stringify(spec.group ?? '')}: should be a domain with at least one dot` });
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) out.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec.scope)}: supported values: "Cluster", "Namespaced"` });
  const names = spec.names ?? ({} as CrdSpec['names']);
  if (!names.plural || !DNS_LABEL.test(names.plural)) out.push({ field: 'spec.names.plural', message: `Invalid value: ${JSON.stringify(names.plural ?? '')}: a DNS-1035 label is required` });
  if (!names.kind) out.push({ reason: 'FieldValueRequired', field: 'spec.names.kind', message: 'Required value' });
  if (o.metadata.name !== `${names.plural}.${spec.group}`) out.push({ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(o.metadata.name)}: must be spec.names.plural+"."+spec.group` });
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) out.push({ reason: 'FieldValueRequired', field: 'spec.versions', message: 'Required value: must have exactly one version marked as storage version' });
  if (versions.filter((v) => v.storage).length !== 1) out.push({ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  versions.forEach((v, i) => {
    if (!v.name || !/^v\d+((alpha|beta)\d+)?$/.test(v.name)) out.push({ field: `spec.versions[${i}].name`, message: `Invalid value: ${JSON.stringify(v.name)}: must be a valid version` });
    const schema = v.schema?.openAPIV3Schema;
    if (!isPlainObject(schema)) { out.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' }); return; }
    if (schema.type !== 'object') out.push({ field: `spec.versions[${i}].schema.openAPIV3Schema.type`, message: `Unsupported value: ${JSON.stringify(schema.type)}: supported values: "object"` });
    try { compileSchema(schema); } catch (e) { out.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, message: `Invalid value: ${(e as Error).message}` }); }
  });
  return out;
}

export function resourceFromCrd(o: KObject): ResourceDef {
  const spec = o.spec as CrdSpec;
  const n = spec.names;
  const versions: VersionDef[] = spec.versions.map((v) => ({
    name: v.name,
    served: v.served !== false,
    storage: !!v.storage,
    schema: v.schema?.openAPIV3Schema,
    printerColumns: v.additionalPrinterColumns,
    statusSubresource: isPlainObject(v.subresources?.status),
    scale: v.subresources?.scale,
  }));
  return {
    key: `${spec.group}/${n.plural}`,
    group: spec.group,
    plural: n.plural,
    singular: n.singular || n.kind.toLowerCase(),
    kind: n.kind,
    listKind: n.listKind || `${n.kind}List`,
    namespaced: spec.scope === 'Namespaced',
    shortNames: n.shortNames ?? [],
    categories: n.categories ?? [],
    versions,
    builtin: false,
    extraSubresources: [],
    fieldLabels: [],
    verbs: ALL_VERBS,
    crdName: o.metadata.name,
  };
}

/** Conditions and accepted names a real apiextensions server reports once a CRD is served. */
export function establishedStatus(o: KObject, now: string, conflict?: string): JsonObject {
  const spec = o.spec as CrdSpec;
  const ok = !conflict;
  return {
    conditions: [
      { type: 'NamesAccepted', status: ok ? 'True' : 'False', lastTransitionTime: now, reason: ok ? 'NoConflicts' : 'NameConflict', message: ok ? 'no conflicts found' : conflict },
      { type: 'Established', status: ok ? 'True' : 'False', lastTransitionTime: now, reason: ok ? 'InitialNamesAccepted' : 'NotAccepted', message: ok ? 'the initial names have been accepted' : 'not all names are accepted' },
    ],
    acceptedNames: ok ? { ...spec.names, singular: spec.names.singular || spec.names.kind.toLowerCase(), listKind: spec.names.listKind || `${spec.names.kind}List` } : { plural: '', kind: '' },
    storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
  };
}

/** Compiled schema per `<group>/<plural>/<version>`. */
export class SchemaCache {
  private readonly cache = new Map<string, CompiledSchema>();
  get(def: ResourceDef, version: string): CompiledSchema | undefined {
    const k = `${def.key}/${version}`;
    let c = this.cache.get(k);
    if (!c) {
      const v = def.versions.find((x) => x.name === version);
      if (!v?.schema) return undefined;
      c = compileSchema(v.schema);
      this.cache.set(k, c);
    }
    return c;
  }
  forget(def: ResourceDef): void {
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${def.key}/`)) this.cache.delete(k);
  }
}
