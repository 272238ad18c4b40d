// OpenAPI v3 documents, enough for kubectl's client-side validation: one document per group
// version, a schema per kind tagged with x-kubernetes-group-version-kind. Custom resources carry
// their CRD's openAPIV3Schema; built-ins are served open (x-kubernetes-preserve-unknown-fields),
// because this server validates them itself on write.
import { createHash } from 'node:crypto';
import type { ResourceDef } from './resources.js';
import { clone, isPlainObject, type JsonObject } from './types.js';

const writeParams = [
  { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
  { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
  { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
];

const OBJECT_META: JsonObject = {
  type: 'object',
  description: 'Standard object metadata.',
  properties: {
    name: { type: 'string' }, generateName: { type: 'string' }, namespace: { type: 'string' }, uid: { type: 'string' },
    resourceVersion: { type: 'string' }, generation: { type: 'integer', format: 'int64' }, creationTimestamp: { type: 'string', format: 'date-time' },
    deletionTimestamp: { type: 'string', format: 'date-time' }, deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
    labels: { type: 'object', additionalProperties: { type: 'string' } }, annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object', required: ['apiVersion', 'kind', 'name', 'uid'], properties: {
      apiVersion: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string' }, uid: { type: 'string' }, controller: { type: 'boolean' }, blockOwnerDeletion: { type: 'boolean' },
    } } },
    managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    selfLink: { type: 'string' },
  },
};

function reversedGroup(group: string): string {
  return group ? group.split('.').reverse().join('.') : 'io.k8s.api.core';
}

function schemaName(def: ResourceDef, version: string): string {
  if (def.builtin) {
    const g = def.group ? def.group.replace(/\.k8s\.io$/, '').replace(/\./g, '') : 'core';
    const known = def.group === 'apiextensions.k8s.io' ? 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions' : `io.k8s.api.${g}`;
    return `${known}.${version}.${def.kind}`;
  }
  return `${reversedGroup(def.group)}.${version}.${def.kind}`;
}

function kindSchema(def: ResourceDef, version: string): JsonObject {
  const gvk = [{ group: def.group, version, kind: def.kind }];
  const v = def.versions.find((x) => x.name === version);
  const base: JsonObject = def.builtin || !v?.schema
    ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: {} }
    : clone(v.schema);
  const props = isPlainObject(base.properties) ? base.properties : (base.properties = {});
  props.apiVersion = { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
  props.kind = { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
  props.metadata = { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }], default: {} };
  base['x-kubernetes-group-version-kind'] = gvk;
  return base;
}

/** The document of one group version (`api/v1`, `apis/batch/v1`), or undefined if not served. */
export function groupVersionDoc(defs: ResourceDef[], group: string, version: string): JsonObject | undefined {
  const here = defs.filter((d) => d.group === group && d.versions.some((v) => v.name === version && v.served));
  if (here.length === 0) return undefined;
  const schemas: JsonObject = { 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': OBJECT_META };
  const paths: JsonObject = {};
  for (const d of here) {
    schemas[schemaName(d, version)] = kindSchema(d, version);
    const prefix = `/${group ? 'apis/' + group : 'api'}/${version}`;
    const ref = { $ref: `#/components/schemas/${schemaName(d, version)}` };
    const content = { content: { 'application/json': { schema: ref } } };
    const item = d.namespaced ? `${prefix}/namespaces/{namespace}/${d.plural}/{name}` : `${prefix}/${d.plural}/{name}`;
    paths[item] = {
      get: { operationId: `read${d.kind}`, responses: { '200': { description: 'OK', ...content } }, 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': { group, version, kind: d.kind } },
      put: { operationId: `replace${d.kind}`, requestBody: content, responses: { '200': { description: 'OK', ...content } }, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': { group, version, kind: d.kind }, parameters: writeParams },
      // kubectl looks for fieldValidation on the PATCH operation to choose server-side validation.
      patch: { operationId: `patch${d.kind}`, requestBody: { content: { 'application/merge-patch+json': { schema: { type: 'object' } } } }, responses: { '200': { description: 'OK', ...content } }, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': { group, version, kind: d.kind }, parameters: writeParams },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

export function docHash(doc: JsonObject): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
}

/** `/openapi/v3`: the index of group-version documents with content hashes. */
export function openApiIndex(defs: ResourceDef[]): JsonObject {
  const gvs = new Set<string>();
  for (const d of defs) for (const v of d.versions) if (v.served) gvs.add(`${d.group}|${v.name}`);
  const paths: JsonObject = {};
  for (const gv of [...gvs].sort()) {
    const [group, version] = gv.split('|');
    const doc = groupVersionDoc(defs, group, version)!;
    const rel = group ? `apis/${group}/${version}` : `api/${version}`;
    paths[rel] = { serverRelativeURL: `/openapi/v3/${rel}?hash=${docHash(doc)}` };
  }
  return { paths };
}

