// The resource table: what the server serves, under which group/version, with which names,
// scope and subresources. Built-ins are listed here; custom resources are added from CRDs.
import type { JsonObject, KObject } from './types.js';
import { coreToEvent, eventFieldToCore, eventToCore } from './event-versions.js';

export interface PrinterColumn { name: string; type: string; jsonPath: string; description?: string; format?: string; priority?: number }

export interface VersionDef {
  name: string;
  served: boolean;
  storage: boolean;
  /** openAPIV3Schema of a CRD version; built-ins have none (they are validated in code). */
  schema?: JsonObject;
  printerColumns?: PrinterColumn[];
  statusSubresource: boolean;
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
}

export interface ResourceDef {
  /** `<group>/<plural>`, the store key. */
  key: string;
  group: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  versions: VersionDef[];
  builtin: boolean;
  /** Extra subresources served besides status/scale (`log`, `binding`). */
  extraSubresources: string[];
  /** Field selector labels beyond metadata.name / metadata.namespace. */
  fieldLabels: string[];
  /** Verbs real servers list in discovery for this resource. */
  verbs: string[];
  /** The CRD that defines it. */
  crdName?: string;
  /** Stored as another resource in another shape (events.k8s.io Events live with core Events). */
  storedAs?: { key: string; toStorage(o: KObject): KObject; fromStorage(o: KObject): KObject; fieldToStorage(f: string): string };
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function storageVersion(def: ResourceDef): string {
  return (def.versions.find((v) => v.storage) ?? def.versions[0]).name;
}

export function servedVersion(def: ResourceDef, version: string): VersionDef | undefined {
  return def.versions.find((v) => v.name === version && v.served);
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

interface BuiltinSpec {
  group: string; version: string; plural: string; kind: string; namespaced: boolean;
  shortNames?: string[]; categories?: string[]; status?: boolean; extra?: string[]; fields?: string[]; verbs?: string[];
}

const BUILTINS: BuiltinSpec[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true, fields: ['status.phase'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], status: true, fields: ['spec.unschedulable'] },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], status: true, extra: ['log', 'binding', 'eviction'],
    fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'] },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', version: 'v1', plural: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true, fields: ['type'] },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'],
    fields: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'] },
  { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'],
    fields: ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'reason', 'reportingController', 'type'] },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], status: true },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], categories: ['all'], status: true, fields: ['status.replicas'] },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true, categories: ['all'], status: true, fields: ['status.successful'] },
  { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', namespaced: true, shortNames: ['cj'], categories: ['all'], status: true },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], status: true },
  // Reviews are answered, never stored: every request is allowed here, and they say so.
  { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', plural: 'subjectaccessreviews', kind: 'SubjectAccessReview', namespaced: false, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', plural: 'localsubjectaccessreviews', kind: 'LocalSubjectAccessReview', namespaced: true, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', namespaced: false, verbs: ['create'] },
  { group: 'authentication.k8s.io', version: 'v1', plural: 'selfsubjectreviews', kind: 'SelfSubjectReview', namespaced: false, verbs: ['create'] },
  // RBAC objects are stored and served; the server does not enforce them (every request is allowed).
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
];

export function builtinResources(): ResourceDef[] {
  return BUILTINS.map((b) => ({
    key: `${b.group}/${b.plural}`,
    group: b.group,
    plural: b.plural,
    singular: b.kind.toLowerCase(),
    kind: b.kind,
    listKind: `${b.kind}List`,
    namespaced: b.namespaced,
    shortNames: b.shortNames ?? [],
    categories: b.categories ?? [],
    versions: [{
      name: b.version, served: true, storage: true, statusSubresource: b.status ?? false,
      ...(b.group === 'apps' ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' } } : {}),
    }],
    builtin: true,
    extraSubresources: b.extra ?? [],
    fieldLabels: b.fields ?? [],
    verbs: b.verbs ?? ALL_VERBS,
    ...(b.group === 'events.k8s.io' ? { storedAs: { key: '/events', toStorage: eventToCore, fromStorage: coreToEvent, fieldToStorage: eventFieldToCore } } : {}),
  }));
}

/** Group preference order for discovery (core first, then as a real server lists them). */
export const GROUP_ORDER = ['', 'apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'batch', 'coordination.k8s.io', 'discovery.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io'];

/** Create-only kinds answered at once and never stored (access reviews). */
export function isReview(def: ResourceDef): boolean {
  return def.group === 'authorization.k8s.io' || def.group === 'authentication.k8s.io';
}

/** The answer to a review: everything is allowed, because this server enforces no RBAC. */
export function answerReview(def: ResourceDef, body: JsonObject): JsonObject {
  const reason = 'the dev cluster API server does not enforce RBAC: every request is allowed';
  const status: JsonObject = def.kind === 'SelfSubjectRulesReview'
    ? { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }], incomplete: false, evaluationError: reason }
    : def.kind === 'SelfSubjectReview'
      ? { userInfo: { username: 'snoopy-dev-admin', groups: ['system:masters', 'system:authenticated'] } }
      : { allowed: true, reason };
  return { ...body, apiVersion: `${def.group}/v1`, kind: def.kind, metadata: { ...((body.metadata as JsonObject | undefined) ?? {}), creationTimestamp: null }, status };
}
