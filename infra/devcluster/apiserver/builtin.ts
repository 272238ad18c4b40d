// What the real API server does to built-in kinds on create/update beyond generic metadata:
// defaulting (pods, jobs, cronjobs, deployments, services, secrets), the validation clients hit in
// practice, and immutability rules. A documented subset: fields not checked here are stored as sent.
import { randomUUID } from 'node:crypto';
import type { StatusCause } from './errors.js';
import {
  MAX_ANNOTATIONS_BYTES, MAX_CRONJOB_NAME_LENGTH, MAX_DATA_BYTES, MAX_JOB_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH, annotationsBytes,
} from './limits.js';
import { deepEqual, isPlainObject, type JsonObject, type KObject } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Kinds whose metadata.generation the server maintains (in Kubernetes 1.32). */
const GENERATION_KINDS = new Set(['apps/deployments', 'apps/replicasets', 'batch/jobs', 'batch/cronjobs', 'apiextensions.k8s.io/customresourcedefinitions']);
export function tracksGeneration(key: string, builtin: boolean): boolean {
  return !builtin || GENERATION_KINDS.has(key);
}

export function validateName(key: string, name: string): StatusCause[] {
  const label = key === '/namespaces' || key === '/services';
  const re = key === '/services' ? DNS1035_LABEL : label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  const max = label ? 63 : 253;
  if (name.length > max || !re.test(name)) {
    const what = key === '/services'
      ? "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
      : label ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    return [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${what}` }];
  }
  const kindMax = key === 'batch/cronjobs' ? MAX_CRONJOB_NAME_LENGTH : key === 'batch/jobs' ? MAX_JOB_NAME_LENGTH : undefined;
  if (kindMax !== undefined && name.length > kindMax) {
    return [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: must be no more than ${kindMax} characters` }];
  }
  return [];
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

function validateLabels(labels: Record<string, unknown>, field: string): StatusCause[] {
  const out: StatusCause[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!QUALIFIED_NAME.test(k)) out.push({ field, message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.'` });
    if (typeof v === 'string' && v.length > MAX_LABEL_VALUE_LENGTH) out.push({ field, message: `Invalid value: ${JSON.stringify(v)}: must be no more than ${MAX_LABEL_VALUE_LENGTH} characters` });
    else if (typeof v !== 'string' || !LABEL_VALUE.test(v)) out.push({ field, message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
  }
  return out;
}

export function validateMetadata(obj: KObject): StatusCause[] {
  const m = obj.metadata;
  const out = validateLabels(m.labels ?? {}, 'metadata.labels');
  if (annotationsBytes(m.annotations) > MAX_ANNOTATIONS_BYTES) out.push({ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes` });
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    if (!QUALIFIED_NAME.test(k)) out.push({ field: 'metadata.annotations', message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.'` });
    if (typeof v !== 'string') out.push({ field: `metadata.annotations`, message: `Invalid value: annotation values must be strings` });
  }
  (m.ownerReferences ?? []).forEach((r, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const) if (!r[f]) out.push({ reason: 'FieldValueRequired', field: `metadata.ownerReferences[${i}].${f}`, message: 'Required value' });
  });
  if ((m.ownerReferences ?? []).filter((r) => r.controller).length > 1) out.push({ field: 'metadata.ownerReferences', message: 'Invalid value: only one reference can have Controller set to true' });
  return out;
}

function obj(v: unknown): JsonObject {
  return isPlainObject(v) ? v : {};
}

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isPlainObject(c)) continue;
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.imagePullPolicy ??= typeof c.image === 'string' && (c.image.endsWith(':latest') || !/:[^/]+$/.test(c.image)) ? 'Always' : 'IfNotPresent';
    c.resources ??= {};
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isPlainObject(p)) p.protocol ??= 'TCP';
  }
}

export function defaultPodSpec(spec: JsonObject): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  if (spec.serviceAccountName === undefined && typeof spec.serviceAccount === 'string') spec.serviceAccountName = spec.serviceAccount;
  spec.serviceAccountName ??= 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
}

function validateContainers(spec: JsonObject, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const cs = spec.containers;
  if (!Array.isArray(cs) || cs.length === 0) return [{ reason: 'FieldValueRequired', field: `${path}.containers`, message: 'Required value' }];
  const names = new Set<string>();
  for (const [field, list] of [['containers', cs], ['initContainers', spec.initContainers]] as const) {
    if (!Array.isArray(list)) continue;
    list.forEach((c, i) => {
      const cc = obj(c);
      const p = `${path}.${field}[${i}]`;
      if (typeof cc.name !== 'string' || !cc.name) out.push({ reason: 'FieldValueRequired', field: `${p}.name`, message: 'Required value' });
      else if (!DNS1123_LABEL.test(cc.name)) out.push({ field: `${p}.name`, message: `Invalid value: ${JSON.stringify(cc.name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
      else if (names.has(cc.name)) out.push({ reason: 'FieldValueDuplicate', field: `${p}.name`, message: `Duplicate value: ${JSON.stringify(cc.name)}` });
      else names.add(cc.name);
      if (typeof cc.image !== 'string' || !cc.image) out.push({ reason: 'FieldValueRequired', field: `${p}.image`, message: 'Required value' });
    });
  }
  return out;
}

function validatePodSpec(spec: unknown, path: string, restartPolicies?: string[]): StatusCause[] {
  if (!isPlainObject(spec)) return [{ reason: 'FieldValueRequired', field: path, message: 'Required value' }];
  const out = validateContainers(spec, path);
  const rp = spec.restartPolicy as string;
  const allowed = restartPolicies ?? ['Always', 'OnFailure', 'Never'];
  if (!allowed.includes(rp)) out.push({ reason: 'FieldValueNotSupported', field: `${path}.restartPolicy`, message: `Unsupported value: ${JSON.stringify(rp)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}` });
  return out;
}

function selectorMatchesTemplate(o: KObject, path: string): StatusCause[] {
  const spec = obj(o.spec);
  const sel = spec.selector;
  if (!isPlainObject(sel) || (Object.keys(obj(sel.matchLabels)).length === 0 && !Array.isArray(sel.matchExpressions))) {
    return [{ reason: 'FieldValueRequired', field: `${path}.selector`, message: 'Required value' }];
  }
  const labels = obj(obj(obj(spec.template).metadata).labels);
  for (const [k, v] of Object.entries(obj(sel.matchLabels))) {
    if (labels[k] !== v) return [{ field: `${path}.template.metadata.labels`, message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` }];
  }
  return [];
}

export interface BuiltinContext { allocateClusterIP(): string }

/** Defaulting on create (and the server-owned fields real servers reset). */
export function defaultOnCreate(key: string, o: KObject, ctx: BuiltinContext): void {
  const spec = obj(o.spec);
  switch (key) {
    case '/pods':
      o.spec = spec;
      defaultPodSpec(spec);
      o.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    case '/namespaces':
      o.spec = { finalizers: ['kubernetes'] };
      o.status = { phase: 'Active' };
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name! };
      break;
    case '/services': {
      o.spec = spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') {
        if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = ctx.allocateClusterIP();
        spec.clusterIPs = [spec.clusterIP];
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      if (Array.isArray(spec.ports)) for (const p of spec.ports) if (isPlainObject(p)) { p.protocol ??= 'TCP'; p.targetPort ??= p.port; }
      o.status = { loadBalancer: {} };
      break;
    }
    case '/secrets':
      o.type ??= 'Opaque';
      break;
    case 'batch/jobs': {
      const tmpl = obj(spec.template);
      const tm = obj(tmpl.metadata);
      tmpl.metadata = tm;
      spec.template = tmpl;
      o.spec = spec;
      if (spec.manualSelector !== true) {
        const uid = o.metadata.uid!;
        const name = o.metadata.name!;
        tm.labels = { ...obj(tm.labels), 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
        spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      }
      defaultSpecFields(key, o);
      o.status = {};
      break;
    }
    case 'batch/cronjobs':
    case 'apps/deployments':
    case 'apps/replicasets':
      defaultSpecFields(key, o);
      o.status = {};
      break;
    case 'coordination.k8s.io/leases':
      o.spec ??= {};
      break;
    case 'apiextensions.k8s.io/customresourcedefinitions':
      o.status = {};
      break;
  }
}

/** Spec defaults a real server applies on every write (create and update) of workload kinds. */
export function defaultSpecFields(key: string, o: KObject): void {
  const spec = obj(o.spec);
  switch (key) {
    case 'batch/jobs': {
      o.spec = spec;
      spec.parallelism ??= 1;
      spec.completions ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      spec.podReplacementPolicy ??= 'TerminatingOrFailed';
      const tmpl = obj(spec.template);
      if (isPlainObject(tmpl.spec)) defaultPodSpec(tmpl.spec);
      break;
    }
    case 'batch/cronjobs': {
      o.spec = spec;
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      const tmpl = obj(obj(obj(spec.jobTemplate).spec).template);
      if (isPlainObject(tmpl.spec)) defaultPodSpec(tmpl.spec);
      break;
    }
    case 'apps/deployments':
    case 'apps/replicasets': {
      o.spec = spec;
      spec.replicas ??= 1;
      if (key === 'apps/deployments') {
        spec.revisionHistoryLimit ??= 10;
        const strategy = obj(spec.strategy);
        spec.strategy = strategy;
        strategy.type ??= 'RollingUpdate';
        if (strategy.type === 'RollingUpdate') strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...obj(strategy.rollingUpdate) };
        spec.progressDeadlineSeconds ??= 600;
      }
      const tmpl = obj(spec.template);
      if (isPlainObject(tmpl.spec)) defaultPodSpec(tmpl.spec);
      break;
    }
  }
}

/** stringData is write-only: merged into data (base64), then dropped — on create and update. */
export function normaliseSecret(o: KObject): StatusCause[] {
  const out: StatusCause[] = [];
  const data = obj(o.data);
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) out.push({ field: `data[${k}]`, message: `Invalid value: "<secret contents redacted>": illegal base64 data` });
  }
  const sd = o.stringData;
  if (isPlainObject(sd)) for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
  delete o.stringData;
  if (Object.keys(data).length) o.data = data;
  return out;
}

/** Validation of a built-in object (create and update). */
export function validateBuiltin(key: string, o: KObject): StatusCause[] {
  const spec = obj(o.spec);
  switch (key) {
    case '/pods': return validatePodSpec(o.spec, 'spec');
    case 'batch/jobs': {
      // the job-name labels put on the template make a name over 63 characters fail here too
      const out = validateLabels(obj(obj(obj(spec.template).metadata).labels), 'spec.template.labels');
      out.push(...validatePodSpec(obj(spec.template).spec, 'spec.template.spec', ['OnFailure', 'Never']));
      if (typeof spec.backoffLimit === 'number' && spec.backoffLimit < 0) out.push({ field: 'spec.backoffLimit', message: `Invalid value: ${spec.backoffLimit}: must be greater than or equal to 0` });
      return out;
    }
    case 'batch/cronjobs': {
      const out: StatusCause[] = [];
      if (typeof spec.schedule !== 'string' || !spec.schedule.trim()) out.push({ reason: 'FieldValueRequired', field: 'spec.schedule', message: 'Required value' });
      const tmpl = obj(obj(obj(spec.jobTemplate).spec).template);
      return [...out, ...validatePodSpec(tmpl.spec, 'spec.jobTemplate.spec.template.spec', ['OnFailure', 'Never'])];
    }
    case 'apps/deployments':
    case 'apps/replicasets':
      return [...selectorMatchesTemplate(o, 'spec'), ...validatePodSpec(obj(spec.template).spec, 'spec.template.spec', ['Always'])];
    case '/services': {
      const out: StatusCause[] = [];
      const ports = Array.isArray(spec.ports) ? spec.ports : [];
      if (ports.length === 0 && spec.clusterIP !== 'None' && spec.type !== 'ExternalName') out.push({ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
      ports.forEach((p, i) => {
        const port = obj(p).port;
        if (typeof port !== 'number' || port < 1 || port > 65535) out.push({ field: `spec.ports[${i}].port`, message: `Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive` });
        if (ports.length > 1 && !obj(p).name) out.push({ reason: 'FieldValueRequired', field: `spec.ports[${i}].name`, message: 'Required value' });
      });
      return out;
    }
    case '/configmaps': {
      const out: StatusCause[] = [];
      let bytes = 0;
      for (const [k, v] of Object.entries(obj(o.data))) {
        if (typeof v !== 'string') out.push({ field: `data[${k}]`, message: 'Invalid value: must be a string' });
        else bytes += Buffer.byteLength(v);
      }
      for (const v of Object.values(obj(o.binaryData))) if (typeof v === 'string') bytes += Buffer.from(v, 'base64').length;
      if (bytes > MAX_DATA_BYTES) out.push({ reason: 'FieldValueTooLong', field: '[]', message: `Too long: must have at most ${MAX_DATA_BYTES} bytes` });
      return out;
    }
    case '/secrets': {
      let bytes = 0;
      for (const v of Object.values(obj(o.data))) if (typeof v === 'string') bytes += Buffer.from(v, 'base64').length;
      return bytes > MAX_DATA_BYTES ? [{ reason: 'FieldValueTooLong', field: 'data', message: `Too long: must have at most ${MAX_DATA_BYTES} bytes` }] : [];
    }
    case 'coordination.k8s.io/leases': {
      const d = spec.leaseDurationSeconds;
      return d !== undefined && (typeof d !== 'number' || d <= 0) ? [{ field: 'spec.leaseDurationSeconds', message: `Invalid value: ${JSON.stringify(d)}: must be greater than 0` }] : [];
    }
    default: return [];
  }
}

/** Fields of a pod spec an update may change (Kubernetes: image, activeDeadlineSeconds, tolerations additions). */
function podSpecMutableView(spec: JsonObject): JsonObject {
  const s: JsonObject = { ...spec };
  for (const f of ['containers', 'initContainers'] as const) {
    if (Array.isArray(s[f])) s[f] = (s[f] as unknown[]).map((c) => ({ ...obj(c), image: undefined }));
  }
  delete s.activeDeadlineSeconds;
  delete s.tolerations;
  delete s.terminationGracePeriodSeconds;
  delete s.schedulingGates;
  return s;
}

/** Immutability rules enforced on update (main resource). */
export function validateBuiltinUpdate(key: string, next: KObject, prev: KObject): StatusCause[] {
  if (key === '/pods' && !deepEqual(podSpecMutableView(obj(next.spec)), podSpecMutableView(obj(prev.spec)))) {
    return [{ reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)' }];
  }
  if (key === 'batch/jobs') {
    const ns = obj(next.spec), ps = obj(prev.spec);
    if (!deepEqual(ns.selector, ps.selector)) return [{ field: 'spec.selector', message: 'Invalid value: field is immutable' }];
    if (!deepEqual(ns.template, ps.template) && ps.suspend !== true) return [{ field: 'spec.template', message: 'Invalid value: field is immutable' }];
    if (ns.completions !== ps.completions) return [{ field: 'spec.completions', message: 'Invalid value: field is immutable' }];
  }
  if ((key === 'apps/deployments' || key === 'apps/replicasets') && !deepEqual(obj(next.spec).selector, obj(prev.spec).selector)) {
    return [{ field: 'spec.selector', message: 'Invalid value: field is immutable' }];
  }
  if (key === '/services' && obj(prev.spec).clusterIP && obj(next.spec).clusterIP !== undefined && obj(next.spec).clusterIP !== obj(prev.spec).clusterIP) {
    return [{ field: 'spec.clusterIPs[0]', message: 'Invalid value: field is immutable' }];
  }
  return [];
}

/** Carries server-set fields over on update when the client omitted them (as the real strategies do). */
export function preserveOnUpdate(key: string, next: KObject, prev: KObject): void {
  if (key === '/services') {
    const ns = obj(next.spec), ps = obj(prev.spec);
    next.spec = ns;
    if (!ns.clusterIP) { ns.clusterIP = ps.clusterIP; ns.clusterIPs = ps.clusterIPs; }
    ns.type ??= ps.type;
    if (Array.isArray(ns.ports)) for (const p of ns.ports) if (isPlainObject(p)) { p.protocol ??= 'TCP'; p.targetPort ??= p.port; }
  }
  if (key === '/namespaces') next.spec = prev.spec;
  if (key === '/pods' && isPlainObject(next.spec)) defaultPodSpec(next.spec);
  defaultSpecFields(key, next);
}

export const newUid = (): string => randomUUID();
