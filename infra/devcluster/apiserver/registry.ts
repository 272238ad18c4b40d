// The API's semantics over the store: create/get/list/update/patch/delete with the metadata
// rules of a real API server (names, uids, resourceVersion conflicts, generation, finalizers,
// deletionTimestamp, status subresource), custom resources from CRDs, namespace lifecycle and
// the garbage collector for ownerReferences.
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../../lib/log.js';
import {
  defaultOnCreate, newUid, normaliseSecret, preserveOnUpdate, tracksGeneration, validateBuiltin, validateBuiltinUpdate, validateMetadata, validateName,
} from './builtin.js';
import { establishedStatus, resourceFromCrd, SchemaCache, validateCrd } from './crds.js';
import {
  ApiError, alreadyExists, badRequest, conflict, forbidden, gone, invalid, notFound, staleConflict, storageTooLarge, unsupportedMediaType, type StatusCause,
} from './errors.js';
import { jsonPatch, mergePatch, PatchConflict, PatchInvalid, strategicMergePatch } from './patch.js';
import { validateNewEvent } from './event-versions.js';
import { apiVersionOf, builtinResources, storageVersion, type ResourceDef } from './resources.js';
import { admitCustomResource } from './schema.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type Requirement } from './selectors.js';
import { ETCD_MAX_REQUEST_BYTES } from './limits.js';
import { Store, jsonOf, type ResourceTable } from './store.js';
import { clone, deepEqual, isPlainObject, type JsonObject, type KObject, type OwnerReference } from './types.js';

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult { items: KObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number }

export interface DeleteOptions {
  propagationPolicy?: string;
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
  subresource?: 'status';
  /** Strict: unknown fields refused (400); Warn (default): reported in `warnings`; Ignore. Known for custom resources only. */
  fieldValidation?: string;
  warnings?: string[];
}

export interface Selection { labels: Requirement[]; fields: FieldRequirement[]; namespace?: string }

type Ref = { key: string; ns: string; name: string };

const STANDARD_FIELDS = ['metadata.name', 'metadata.namespace'];
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function generateSuffix(): string {
  const b = randomBytes(5);
  return [...b].map((x) => NAME_CHARS[x % NAME_CHARS.length]).join('');
}

function objOf(v: unknown): JsonObject {
  return isPlainObject(v) ? v : {};
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(o: KObject): JsonObject {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export class Registry {
  readonly store: Store;
  /** The largest object stored so far, per resource key (JSON bytes), for benchmarks. */
  readonly largestObjectBytes = new Map<string, number>();
  private readonly defs = new Map<string, ResourceDef>();
  private readonly schemas = new SchemaCache();
  private readonly uidIndex = new Map<string, Ref>();
  private readonly ownerIndex = new Map<string, Set<string>>();
  private readonly gcTasks = new Set<string>();
  private gcScheduled = false;
  private gcIdleWaiters: (() => void)[] = [];
  private clusterIPNext = 10;
  private readonly usedClusterIPs = new Set<string>();
  private readonly versionViews = new Map<string, WeakMap<KObject, KObject>>();
  /** Called after every committed change (metrics, CRD closing of watches). */
  onResourceRemoved?: (def: ResourceDef) => void;

  constructor(private readonly log: Logger, historyLimit: number) {
    this.store = new Store(historyLimit);
    for (const d of builtinResources()) this.defs.set(d.key, d);
  }

  bootstrap(): void {
    for (const ns of SYSTEM_NAMESPACES) this.create(this.def('', 'namespaces'), 'v1', '', { metadata: { name: ns } });
    this.usedClusterIPs.add('10.96.0.1');
    this.create(this.def('', 'services'), 'v1', 'default', {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    });
  }

  // ---- resource table ---------------------------------------------------------------------

  resources(): ResourceDef[] {
    return [...this.defs.values()];
  }

  def(group: string, plural: string): ResourceDef {
    const d = this.defs.get(`${group}/${plural}`);
    if (!d) throw new Error(`unknown resource ${group}/${plural}`);
    return d;
  }

  find(group: string, plural: string): ResourceDef | undefined {
    return this.defs.get(`${group}/${plural}`);
  }

  /** The table holding a resource's objects (an aliased resource shares its storage resource's). */
  tableOf(def: ResourceDef): ResourceTable {
    return this.store.table(def.storedAs?.key ?? def.key);
  }

  private table(def: ResourceDef): ResourceTable {
    return this.tableOf(def);
  }

  /** The resource whose storage an aliased resource uses. */
  private storageDef(def: ResourceDef): ResourceDef {
    return def.storedAs ? this.defs.get(def.storedAs.key)! : def;
  }

  /** The object as seen through `version` (custom resources: only apiVersion differs — conversion strategy None). */
  view(def: ResourceDef, version: string, o: KObject): KObject {
    const av = apiVersionOf(def.group, version);
    if (def.storedAs) {
      let m = this.versionViews.get(av);
      if (!m) { m = new WeakMap(); this.versionViews.set(av, m); }
      let v = m.get(o);
      if (!v) { v = def.storedAs.fromStorage(o); m.set(o, v); }
      return v;
    }
    if (o.apiVersion === av) return o;
    let m = this.versionViews.get(av);
    if (!m) { m = new WeakMap(); this.versionViews.set(av, m); }
    let v = m.get(o);
    if (!v) { v = { ...o, apiVersion: av }; m.set(o, v); }
    return v;
  }

  // ---- reads -------------------------------------------------------------------------------

  get(def: ResourceDef, ns: string, name: string): KObject {
    const o = this.table(def).get(def.namespaced ? ns : '', name);
    if (!o) throw notFound(def.group, def.plural, name);
    return o;
  }

  selection(def: ResourceDef, q: { labelSelector?: string; fieldSelector?: string }): Selection {
    let fields = parseFieldSelector(q.fieldSelector, new Set([...STANDARD_FIELDS, ...def.fieldLabels]));
    if (def.storedAs) fields = fields.map((r) => ({ ...r, field: def.storedAs!.fieldToStorage(r.field) }));
    return { labels: parseLabelSelector(q.labelSelector), fields };
  }

  matches(sel: Selection, o: KObject): boolean {
    return matchLabels(sel.labels, o.metadata.labels) && matchFields(sel.fields, o);
  }

  list(def: ResourceDef, ns: string | undefined, q: ListQuery): ListResult {
    const sel = this.selection(def, q);
    if (q.resourceVersionMatch && !q.resourceVersion) throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (q.resourceVersionMatch && !['Exact', 'NotOlderThan'].includes(q.resourceVersionMatch)) throw badRequest(`resourceVersionMatch: Unsupported value: "${q.resourceVersionMatch}"`);
    const current = this.store.currentRv();
    if (q.resourceVersionMatch === 'Exact' && Number(q.resourceVersion) !== current) {
      // Only the newest snapshot is kept, like an etcd compacted right now.
      throw gone(`too old resource version: ${q.resourceVersion} (${current})`);
    }
    let listRv = current;
    let start: [string, string] | undefined;
    if (q.continue) {
      let t: { rv: number; ns: string; name: string };
      try {
        t = JSON.parse(Buffer.from(q.continue, 'base64url').toString()) as { rv: number; ns: string; name: string };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (typeof t.rv !== 'number' || typeof t.name !== 'string') throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      // A token older than the watch history is expired, as after an etcd compaction.
      if (t.rv < this.table(def).compactedRv) throw gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      listRv = t.rv;
      start = [t.ns, t.name];
    }
    const scopeNs = def.namespaced ? ns : undefined;
    const all = this.table(def).list(scopeNs || undefined);
    let i = 0;
    if (start) {
      const [sns, sname] = start;
      // Binary search for the first key after the token's key.
      let lo = 0, hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const m = all[mid].metadata;
        const mk = m.namespace ?? '';
        if (mk < sns || (mk === sns && m.name! <= sname)) lo = mid + 1; else hi = mid;
      }
      i = lo;
    }
    const limit = q.limit && q.limit > 0 ? q.limit : Infinity;
    const items: KObject[] = [];
    const filtering = sel.labels.length > 0 || sel.fields.length > 0;
    for (; i < all.length && items.length < limit; i++) {
      if (!filtering || this.matches(sel, all[i])) items.push(all[i]);
    }
    // Are there more matches after the page?
    let more = false;
    for (let j = i; j < all.length; j++) if (!filtering || this.matches(sel, all[j])) { more = true; break; }
    const out: ListResult = { items, resourceVersion: String(listRv) };
    if (more && items.length > 0) {
      const last = items[items.length - 1].metadata;
      out.continue = Buffer.from(JSON.stringify({ rv: listRv, ns: last.namespace ?? '', name: last.name })).toString('base64url');
      if (!filtering) out.remainingItemCount = all.length - i;
    }
    return out;
  }

  // ---- writes ------------------------------------------------------------------------------

  private checkNamespace(def: ResourceDef, ns: string): void {
    if (!def.namespaced) return;
    const nsObj = this.store.table('/namespaces').get('', ns);
    if (!nsObj) throw notFound('', 'namespaces', ns);
    if (nsObj.metadata.deletionTimestamp) {
      const e = forbidden(def.group, def.plural, '', `unable to create new content in namespace ${ns} because it is being terminated`);
      e.status.details = { ...e.status.details, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] };
      e.status.message = `${def.plural}${def.group ? '.' + def.group : ''} is forbidden: unable to create new content in namespace ${ns} because it is being terminated`;
      throw e;
    }
  }

  private checkTypeMeta(def: ResourceDef, version: string, body: KObject): void {
    const want = apiVersionOf(def.group, version);
    if (body.apiVersion !== undefined && body.apiVersion !== want && !(def.builtin && body.apiVersion === apiVersionOf(def.group, storageVersion(def)))) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${want})`);
    }
    if (body.kind !== undefined && body.kind !== def.kind) throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${def.kind})`);
  }

  /** Kind-specific admission shared by create and update; returns the causes of refusal. */
  private admit(def: ResourceDef, version: string, o: KObject, opts: WriteOptions = {}): StatusCause[] {
    const causes = validateMetadata(o);
    if (def.builtin) {
      if (def.key === '/secrets') causes.push(...normaliseSecret(o));
      if (def.key === 'apiextensions.k8s.io/customresourcedefinitions') causes.push(...validateCrd(o));
      causes.push(...validateBuiltin(def.key, o));
    } else {
      const compiled = this.schemas.get(def, version);
      const unknown: string[] = [];
      if (compiled) causes.push(...admitCustomResource(o as unknown as JsonObject, compiled, unknown));
      const mode = opts.fieldValidation ?? 'Warn';
      if (unknown.length && mode === 'Strict') {
        throw badRequest(`${def.kind} in version "${version}" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
      }
      if (mode === 'Warn') for (const f of unknown) opts.warnings?.push(`unknown field "${f}"`);
    }
    return causes;
  }

  create(def: ResourceDef, version: string, ns: string, input: unknown, opts: WriteOptions = {}): KObject {
    if (!isPlainObject(input)) throw badRequest('the body of the request must be a JSON object');
    if (def.storedAs) {
      const ext = clone(input) as KObject;
      this.checkTypeMeta(def, version, ext);
      ext.metadata = objOf(ext.metadata) as KObject['metadata'];
      const causes = validateNewEvent(ext);
      if (causes.length) throw invalid(def.group, def.kind, String(ext.metadata.name ?? ''), causes);
      return this.create(this.storageDef(def), 'v1', ns, def.storedAs.toStorage(ext), opts);
    }
    const body = clone(input) as KObject;
    this.checkTypeMeta(def, version, body);
    body.metadata = objOf(body.metadata) as KObject['metadata'];
    const m = body.metadata;
    if (def.namespaced) {
      if (m.namespace && m.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      m.namespace = ns;
    } else delete m.namespace;
    if (!m.name) {
      if (!m.generateName) throw invalid(def.group, def.kind, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
      m.name = `${m.generateName}${generateSuffix()}`;
    }
    const nameCauses = validateName(def.key, m.name);
    if (nameCauses.length) throw invalid(def.group, def.kind, m.name, nameCauses);
    this.checkNamespace(def, ns);
    const table = this.table(def);
    if (table.get(m.namespace ?? '', m.name)) throw alreadyExists(def.group, def.plural, m.name);
    body.apiVersion = apiVersionOf(def.group, def.builtin ? version : storageVersion(def));
    body.kind = def.kind;
    m.uid = newUid();
    m.creationTimestamp = now();
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.resourceVersion;
    delete m.managedFields;
    delete m.selfLink;
    if (tracksGeneration(def.key, def.builtin)) m.generation = 1; else delete m.generation;
    if (def.builtin) defaultOnCreate(def.key, body, { allocateClusterIP: () => this.allocateClusterIP() });
    else if (def.versions.find((v) => v.name === version)?.statusSubresource) delete body.status;
    const causes = this.admit(def, version, body, opts);
    if (causes.length) throw invalid(def.group, def.kind, m.name, causes);
    if (def.key === '/services') this.usedClusterIPs.add(String(objOf(body.spec).clusterIP));
    if (def.key === 'apiextensions.k8s.io/customresourcedefinitions') {
      m.finalizers = [...new Set([...(m.finalizers ?? []), 'customresourcecleanup.apiextensions.k8s.io'])];
      body.status = establishedStatus(body, now(), this.crdConflict(body));
    }
    if (opts.dryRun) return body;
    const stored = this.commit(def, undefined, body);
    this.afterCreate(def, stored);
    return stored;
  }

  private allocateClusterIP(): string {
    for (let i = 0; i < 65000; i++) {
      const n = this.clusterIPNext++;
      const ip = `10.96.${(n >> 8) & 255}.${n & 255}`;
      if ((n & 255) !== 0 && (n & 255) !== 255 && !this.usedClusterIPs.has(ip)) return ip;
    }
    throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Internal error occurred: failed to allocate a serviceIP: range is full', reason: 'InternalError', code: 500 });
  }

  private crdConflict(o: KObject): string | undefined {
    const spec = o.spec as { group: string; names: { plural: string } };
    const existing = this.defs.get(`${spec.group}/${spec.names.plural}`);
    if (existing && existing.crdName !== o.metadata.name) return `"${spec.names.plural}" is already in use`;
    return undefined;
  }

  update(def: ResourceDef, version: string, ns: string, name: string, input: unknown, opts: WriteOptions = {}): KObject {
    if (!isPlainObject(input)) throw badRequest('the body of the request must be a JSON object');
    if (def.storedAs) {
      const ext = clone(input) as KObject;
      this.checkTypeMeta(def, version, ext);
      ext.metadata = objOf(ext.metadata) as KObject['metadata'];
      return this.update(this.storageDef(def), 'v1', ns, name, def.storedAs.toStorage(ext), opts);
    }
    const body = clone(input) as KObject;
    this.checkTypeMeta(def, version, body);
    body.metadata = objOf(body.metadata) as KObject['metadata'];
    if (body.metadata.name !== undefined && body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    if (def.namespaced && body.metadata.namespace && body.metadata.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const prev = this.get(def, ns, name);
    if (body.metadata.resourceVersion && body.metadata.resourceVersion !== prev.metadata.resourceVersion) throw staleConflict(def.group, def.plural, name);
    return this.applyUpdate(def, version, prev, body, opts);
  }

  private applyUpdate(def: ResourceDef, version: string, prev: KObject, body: KObject, opts: WriteOptions): KObject {
    const name = prev.metadata.name!;
    const vdef = def.versions.find((v) => v.name === version) ?? def.versions[0];
    let next: KObject;
    if (opts.subresource === 'status') {
      // Only status changes through /status; everything else stays as stored.
      next = { ...clone(prev), status: body.status };
      if (body.status === undefined) delete next.status;
    } else {
      next = body;
      const pm = prev.metadata;
      const m = next.metadata;
      m.name = pm.name;
      if (def.namespaced) m.namespace = pm.namespace; else delete m.namespace;
      m.uid = pm.uid;
      m.creationTimestamp = pm.creationTimestamp;
      if (pm.deletionTimestamp) { m.deletionTimestamp = pm.deletionTimestamp; m.deletionGracePeriodSeconds = pm.deletionGracePeriodSeconds; } else { delete m.deletionTimestamp; delete m.deletionGracePeriodSeconds; }
      if (pm.generation !== undefined) m.generation = pm.generation; else delete m.generation;
      delete m.managedFields;
      delete m.selfLink;
      delete m.generateName;
      if (pm.generateName) m.generateName = pm.generateName;
      if (vdef.statusSubresource || def.key === '/namespaces') {
        if (prev.status === undefined) delete next.status; else next.status = clone(prev.status);
      }
      if (def.builtin) preserveOnUpdate(def.key, next, prev);
      if (pm.deletionTimestamp) {
        const added = (m.finalizers ?? []).filter((f) => !(pm.finalizers ?? []).includes(f));
        if (added.length) throw invalid(def.group, def.kind, name, [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
      }
    }
    next.apiVersion = prev.apiVersion;
    next.kind = prev.kind;
    const causes = this.admit(def, version, next, opts);
    if (def.builtin && opts.subresource !== 'status') causes.push(...validateBuiltinUpdate(def.key, next, prev));
    if (causes.length) throw invalid(def.group, def.kind, name, causes);
    if (def.key === 'apiextensions.k8s.io/customresourcedefinitions' && opts.subresource !== 'status') {
      // Conditions (and their transition times) change only when the names do.
      const conflictMsg = this.crdConflict(next);
      if (conflictMsg || !deepEqual(objOf(prev.spec).names, objOf(next.spec).names) || !deepEqual(objOf(prev.spec).versions, objOf(next.spec).versions)) {
        next.status = { ...objOf(prev.status), ...establishedStatus(next, now(), conflictMsg) };
      }
    }
    if (tracksGeneration(def.key, def.builtin) && !deepEqual(specPart(next), specPart(prev))) next.metadata.generation = (prev.metadata.generation ?? 0) + 1;
    next.metadata.resourceVersion = prev.metadata.resourceVersion;
    if (deepEqual(next, prev)) return prev; // no-op writes do not bump resourceVersion
    if (opts.dryRun) return next;
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0 && !this.gracefulPending(def, next)) {
      return this.removeObject(def, next);
    }
    const stored = this.commit(def, prev, next);
    this.afterUpdate(def, prev, stored);
    return stored;
  }

  patch(def: ResourceDef, version: string, ns: string, name: string, contentType: string, raw: string, opts: WriteOptions & { fieldManager?: string; force?: boolean } = {}): { object: KObject; created: boolean } {
    const type = contentType.split(';')[0].trim().toLowerCase();
    if (type === 'application/apply-patch+yaml') return this.applyPatch(def, version, ns, name, raw, opts);
    let patchBody: unknown;
    try { patchBody = JSON.parse(raw); } catch (e) { throw badRequest(`error decoding patch: ${(e as Error).message}`); }
    const prev = this.get(def, ns, name);
    const current = this.view(def, version, prev);
    let result: unknown;
    try {
      switch (type) {
        case 'application/merge-patch+json': result = mergePatch(current, patchBody); break;
        case 'application/json-patch+json': result = jsonPatch(current, patchBody); break;
        case 'application/strategic-merge-patch+json':
          if (!def.builtin) throw unsupportedMediaType(contentType);
          result = strategicMergePatch(current, patchBody);
          break;
        default: throw unsupportedMediaType(contentType);
      }
    } catch (e) {
      if (e instanceof PatchConflict || e instanceof PatchInvalid) throw invalid(def.group, def.kind, name, [{ reason: 'FieldValueInvalid', message: e.message }]);
      throw e;
    }
    if (!isPlainObject(result)) throw badRequest('the patch result is not an object');
    let next = result as KObject;
    if (def.storedAs) { next.metadata = objOf(next.metadata) as KObject['metadata']; next = def.storedAs.toStorage(next); def = this.storageDef(def); version = 'v1'; }
    next.metadata = objOf(next.metadata) as KObject['metadata'];
    if (next.metadata.name !== name) throw badRequest(`the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`);
    // A patch carrying a resourceVersion is a precondition; otherwise it applies to the current object.
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== prev.metadata.resourceVersion) throw staleConflict(def.group, def.plural, name);
    return { object: this.applyUpdate(def, version, prev, next, opts), created: false };
  }

  /**
   * Minimal server-side apply: creates the object when absent, otherwise merges the applied
   * configuration into the live object (strategic merge for built-ins, merge patch for custom
   * resources). No field ownership: fields dropped from the applied configuration stay, and
   * there are no apply conflicts.
   */
  private applyPatch(def: ResourceDef, version: string, ns: string, name: string, raw: string, opts: WriteOptions & { fieldManager?: string }): { object: KObject; created: boolean } {
    if (!opts.fieldManager) throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    let applied: unknown;
    try { applied = parseYaml(raw); } catch (e) { throw badRequest(`error decoding YAML: ${(e as Error).message}`); }
    if (!isPlainObject(applied)) throw badRequest('apply patch must be an object');
    const a = applied as KObject;
    if (objOf(a.metadata).name !== undefined && objOf(a.metadata).name !== name) throw badRequest(`the name of the object (${String(objOf(a.metadata).name)}) does not match the name on the URL (${name})`);
    const existing = this.table(def).get(def.namespaced ? ns : '', name);
    if (!existing) {
      a.metadata = { ...objOf(a.metadata), name };
      return { object: this.create(def, version, ns, a, opts), created: true };
    }
    let merged = (def.builtin ? strategicMergePatch(this.view(def, version, existing), a) : mergePatch(this.view(def, version, existing), a)) as KObject;
    if (def.storedAs) { merged = def.storedAs.toStorage(merged); def = this.storageDef(def); version = 'v1'; }
    if (merged.metadata.resourceVersion !== existing.metadata.resourceVersion && objOf(a.metadata).resourceVersion) throw staleConflict(def.group, def.plural, name);
    merged.metadata.resourceVersion = existing.metadata.resourceVersion;
    return { object: this.applyUpdate(def, version, existing, merged, opts), created: false };
  }

  /** pods/binding: the scheduler's way to set spec.nodeName. */
  bind(ns: string, name: string, input: unknown): void {
    const def = this.def('', 'pods');
    const b = objOf(input);
    const target = objOf(b.target);
    if (typeof target.name !== 'string' || !target.name) throw invalid('', 'Binding', name, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
    const prev = this.get(def, ns, name);
    const spec = objOf(prev.spec);
    if (prev.metadata.deletionTimestamp) throw conflict('', 'pods', name, `pod ${name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw conflict('', 'pods', name, `pod ${name} is already assigned to node "${String(spec.nodeName)}"`);
    const next = clone(prev);
    (next.spec as JsonObject).nodeName = target.name;
    const status = objOf(next.status);
    const conds = (Array.isArray(status.conditions) ? status.conditions : []).filter((c) => objOf(c).type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() });
    next.status = { ...status, conditions: conds };
    this.commit(def, prev, next);
  }

  // ---- scale subresource ------------------------------------------------------------------

  private scaleOf(def: ResourceDef, version: string, o: KObject): KObject {
    const sc = def.versions.find((v) => v.name === version)?.scale;
    if (!sc) throw notFound(def.group, `${def.plural}/scale`, o.metadata.name!);
    const replicas = readPath(o, sc.specReplicasPath);
    const statusReplicas = readPath(o, sc.statusReplicasPath);
    const sel = sc.labelSelectorPath ? readPath(o, sc.labelSelectorPath) : undefined;
    const selector = typeof sel === 'string' ? sel : isPlainObject(sel) ? selectorString(sel) : undefined;
    return {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { ...(typeof replicas === 'number' ? { replicas } : {}) },
      status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(selector ? { selector } : {}) },
    };
  }

  getScale(def: ResourceDef, version: string, ns: string, name: string): KObject {
    return this.scaleOf(def, version, this.get(def, ns, name));
  }

  /** PUT/PATCH of `<resource>/scale`: the Scale's spec.replicas lands on the object's replicas path. */
  updateScale(def: ResourceDef, version: string, ns: string, name: string, scale: unknown, opts: WriteOptions = {}): KObject {
    const prev = this.get(def, ns, name);
    const sc = def.versions.find((v) => v.name === version)?.scale;
    if (!sc) throw notFound(def.group, `${def.plural}/scale`, name);
    const s = objOf(scale);
    const rv = objOf(s.metadata).resourceVersion;
    if (rv && rv !== prev.metadata.resourceVersion) throw staleConflict(def.group, def.plural, name);
    const replicas = objOf(s.spec).replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid('autoscaling', 'Scale', name, [{ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    }
    const next = clone(prev);
    writePath(next, sc.specReplicasPath, replicas);
    const stored = this.applyUpdate(def, version, prev, next, opts);
    return this.scaleOf(def, version, stored);
  }

  patchScale(def: ResourceDef, version: string, ns: string, name: string, contentType: string, raw: string, opts: WriteOptions = {}): KObject {
    const type = contentType.split(';')[0].trim().toLowerCase();
    let patchBody: unknown;
    try { patchBody = JSON.parse(raw); } catch (e) { throw badRequest(`error decoding patch: ${(e as Error).message}`); }
    const current = this.getScale(def, version, ns, name);
    let result: unknown;
    try {
      if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') result = mergePatch(current, patchBody);
      else if (type === 'application/json-patch+json') result = jsonPatch(current, patchBody);
      else throw unsupportedMediaType(contentType);
    } catch (e) {
      if (e instanceof PatchConflict || e instanceof PatchInvalid) throw invalid('autoscaling', 'Scale', name, [{ reason: 'FieldValueInvalid', message: e.message }]);
      throw e;
    }
    return this.updateScale(def, version, ns, name, result, opts);
  }

  // ---- deletion ----------------------------------------------------------------------------

  private defaultPolicy(def: ResourceDef): string {
    // batch/v1 Jobs keep their pods unless told otherwise, as on a real cluster.
    return def.key === 'batch/jobs' ? 'Orphan' : 'Background';
  }

  /** A pod on a live node is deleted gracefully: its kubelet stops it and deletes it with grace 0. */
  private gracefulPending(def: ResourceDef, o: KObject): boolean {
    if (def.key !== '/pods') return false;
    const grace = o.metadata.deletionGracePeriodSeconds;
    if (!o.metadata.deletionTimestamp || !grace) return false;
    return true;
  }

  private podNeedsGrace(o: KObject): boolean {
    const spec = objOf(o.spec);
    const phase = objOf(o.status).phase;
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return false;
    // A pod bound to a node that does not exist has no kubelet to finish it (the pod GC would delete it).
    return !!this.store.table('/nodes').get('', String(spec.nodeName));
  }

  delete(def: ResourceDef, ns: string, name: string, opts: DeleteOptions = {}): { object: KObject; removed: boolean } {
    def = this.storageDef(def);
    const prev = this.get(def, ns, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== prev.metadata.uid) throw conflict(def.group, def.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${prev.metadata.uid}`);
    if (pre.resourceVersion && pre.resourceVersion !== prev.metadata.resourceVersion) throw conflict(def.group, def.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${prev.metadata.resourceVersion}`);
    if (def.key === '/namespaces' && SYSTEM_NAMESPACES.slice(0, 3).includes(name)) throw forbidden('', 'namespaces', name, 'this namespace may not be deleted');
    let policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : opts.orphanDependents === false ? 'Background' : this.defaultPolicy(def));
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) throw invalid('meta.k8s.io', 'DeleteOptions', '', [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"` }]);
    if (opts.gracePeriodSeconds !== undefined && (opts.gracePeriodSeconds < 0 || !Number.isInteger(opts.gracePeriodSeconds))) throw invalid('meta.k8s.io', 'DeleteOptions', '', [{ field: 'gracePeriodSeconds', message: `Invalid value: ${opts.gracePeriodSeconds}: must be greater than or equal to 0` }]);
    if (!this.hasDependents(prev) && policy !== 'Background') policy = 'Background';
    const finalizers = [...(prev.metadata.finalizers ?? [])];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    let grace = 0;
    if (def.key === '/pods' && this.podNeedsGrace(prev)) {
      grace = opts.gracePeriodSeconds ?? prev.metadata.deletionGracePeriodSeconds ?? Number(objOf(prev.spec).terminationGracePeriodSeconds ?? 30);
      if (prev.metadata.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, prev.metadata.deletionGracePeriodSeconds);
    }
    if (def.key === '/namespaces') {
      if (prev.metadata.deletionTimestamp) return { object: prev, removed: false };
      const next = clone(prev);
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.status = { ...objOf(next.status), phase: 'Terminating' };
      if (opts.dryRun) return { object: next, removed: false };
      const stored = this.commit(def, prev, next);
      this.enqueue(`ns|${name}`);
      return { object: stored, removed: false };
    }
    if (finalizers.length === 0 && grace === 0) {
      if (opts.dryRun) return { object: prev, removed: true };
      return { object: this.removeObject(def, prev), removed: true };
    }
    const next = clone(prev);
    next.metadata.finalizers = finalizers;
    if (!prev.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      if (prev.metadata.generation !== undefined) next.metadata.generation = prev.metadata.generation + 1;
    }
    next.metadata.deletionGracePeriodSeconds = grace;
    if (deepEqual(next, prev)) return { object: prev, removed: false };
    if (opts.dryRun) return { object: next, removed: false };
    const stored = this.commit(def, prev, next);
    if (def.key === 'apiextensions.k8s.io/customresourcedefinitions') this.enqueue(`crd|${name}`);
    this.enqueue(`deleting|${stored.metadata.uid}`);
    return { object: stored, removed: false };
  }

  deleteCollection(def: ResourceDef, ns: string | undefined, q: ListQuery, opts: DeleteOptions): KObject[] {
    const { items } = this.list(def, ns, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    const out: KObject[] = [];
    for (const o of items) {
      try { out.push(this.delete(def, o.metadata.namespace ?? '', o.metadata.name!, opts).object); } catch (e) { if (!(e instanceof ApiError && e.code === 404)) throw e; }
    }
    return out;
  }

  // ---- commit: the only place the store changes ---------------------------------------------

  private refKey(def: ResourceDef, o: KObject): string {
    return `${def.key}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;
  }

  private commit(def: ResourceDef, prev: KObject | undefined, next: KObject): KObject {
    // etcd refuses an oversized object before the revision moves (limits.ts)
    next.metadata.resourceVersion = String(this.store.currentRv() + 1);
    const bytes = Buffer.byteLength(jsonOf(next));
    if (bytes > ETCD_MAX_REQUEST_BYTES) throw storageTooLarge();
    if (bytes > (this.largestObjectBytes.get(def.key) ?? 0)) this.largestObjectBytes.set(def.key, bytes);
    const rv = this.store.nextRv();
    const table = this.table(def);
    table.put(next);
    const ref = this.refKey(def, next);
    this.uidIndex.set(next.metadata.uid!, { key: def.key, ns: next.metadata.namespace ?? '', name: next.metadata.name! });
    this.reindexOwners(ref, prev?.metadata.ownerReferences, next.metadata.ownerReferences);
    table.record({ type: prev ? 'MODIFIED' : 'ADDED', object: next, previous: prev, rv });
    if (!prev && next.metadata.ownerReferences?.length) this.enqueue(`dependent|${next.metadata.uid}`);
    return next;
  }

  private removeObject(def: ResourceDef, o: KObject): KObject {
    const table = this.table(def);
    const prev = table.get(o.metadata.namespace ?? '', o.metadata.name!);
    if (!prev) return o;
    table.remove(o.metadata.namespace ?? '', o.metadata.name!);
    const rv = this.store.nextRv();
    const gone = { ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } };
    this.uidIndex.delete(o.metadata.uid!);
    this.reindexOwners(this.refKey(def, o), prev.metadata.ownerReferences, undefined);
    table.record({ type: 'DELETED', object: gone, previous: prev, rv });
    this.afterRemove(def, gone);
    return gone;
  }

  private reindexOwners(ref: string, before: OwnerReference[] | undefined, after: OwnerReference[] | undefined): void {
    const b = new Set((before ?? []).map((r) => r.uid));
    const a = new Set((after ?? []).map((r) => r.uid));
    for (const u of b) if (!a.has(u)) { const s = this.ownerIndex.get(u); s?.delete(ref); if (s && s.size === 0) this.ownerIndex.delete(u); }
    for (const u of a) if (!b.has(u)) { let s = this.ownerIndex.get(u); if (!s) { s = new Set(); this.ownerIndex.set(u, s); } s.add(ref); }
  }

  // ---- hooks -------------------------------------------------------------------------------

  private afterCreate(def: ResourceDef, o: KObject): void {
    if (def.key === '/namespaces') {
      this.create(this.def('', 'serviceaccounts'), 'v1', o.metadata.name!, { metadata: { name: 'default' } });
    }
    if (def.key === 'apiextensions.k8s.io/customresourcedefinitions') this.registerCrd(o);
  }

  private afterUpdate(def: ResourceDef, _prev: KObject, o: KObject): void {
    if (def.key === 'apiextensions.k8s.io/customresourcedefinitions' && !o.metadata.deletionTimestamp) this.registerCrd(o);
    if (o.metadata.deletionTimestamp) this.enqueue(`deleting|${o.metadata.uid}`);
  }

  private afterRemove(def: ResourceDef, o: KObject): void {
    this.enqueue(`gone|${o.metadata.uid}`);
    for (const r of o.metadata.ownerReferences ?? []) this.enqueue(`deleting|${r.uid}`);
    const ns = o.metadata.namespace;
    if (ns && this.store.table('/namespaces').get('', ns)?.metadata.deletionTimestamp) this.enqueue(`ns|${ns}`);
    if (def.key === 'apiextensions.k8s.io/customresourcedefinitions') this.unregisterCrd(o);
    if (!def.builtin && o.metadata.deletionTimestamp && def.crdName) this.enqueue(`crd|${def.crdName}`);
  }

  private registerCrd(o: KObject): void {
    const st = objOf(o.status);
    const accepted = (Array.isArray(st.conditions) ? st.conditions : []).some((c) => objOf(c).type === 'NamesAccepted' && objOf(c).status === 'True');
    if (!accepted) return;
    const def = resourceFromCrd(o);
    const old = this.defs.get(def.key);
    if (old) this.schemas.forget(old);
    this.defs.set(def.key, def);
    // Validators are built when the resource is served, not inside its first create request.
    for (const v of def.versions) this.schemas.get(def, v.name);
    this.log.info({ crd: o.metadata.name }, 'custom resource served');
  }

  private unregisterCrd(o: KObject): void {
    const spec = o.spec as { group: string; names: { plural: string } };
    const key = `${spec.group}/${spec.names.plural}`;
    const def = this.defs.get(key);
    if (!def || def.crdName !== o.metadata.name) return;
    this.defs.delete(key);
    this.schemas.forget(def);
    this.onResourceRemoved?.(def);
    this.store.dropTable(key);
  }

  // ---- garbage collection and namespace / CRD cleanup ---------------------------------------

  private hasDependents(o: KObject): boolean {
    return (this.ownerIndex.get(o.metadata.uid!)?.size ?? 0) > 0;
  }

  private enqueue(task: string): void {
    this.gcTasks.add(task);
    if (!this.gcScheduled) {
      this.gcScheduled = true;
      setImmediate(() => this.runGc());
    }
  }

  /** Resolves once the garbage collector has nothing left to do (tests, shutdown). */
  gcIdle(): Promise<void> {
    if (!this.gcScheduled && this.gcTasks.size === 0) return Promise.resolve();
    return new Promise((r) => this.gcIdleWaiters.push(r));
  }

  private runGc(): void {
    // Bounded batches so a large cascade never blocks request handling for long.
    let n = 0;
    while (this.gcTasks.size > 0 && n < 500) {
      const task = this.gcTasks.values().next().value as string;
      this.gcTasks.delete(task);
      n++;
      try { this.gcTask(task); } catch (e) { if (!(e instanceof ApiError && (e.code === 404 || e.code === 409))) this.log.warn({ task, err: (e as Error).message }, 'garbage collection step failed'); }
    }
    if (this.gcTasks.size > 0) { setImmediate(() => this.runGc()); return; }
    this.gcScheduled = false;
    const w = this.gcIdleWaiters.splice(0);
    for (const r of w) r();
  }

  private lookupUid(uid: string): { def: ResourceDef; obj: KObject } | undefined {
    const ref = this.uidIndex.get(uid);
    if (!ref) return undefined;
    const def = this.defs.get(ref.key);
    const obj = def && this.store.table(ref.key).get(ref.ns, ref.name);
    return def && obj && obj.metadata.uid === uid ? { def, obj } : undefined;
  }

  /**
   * Is this owner there for this dependent? As in Kubernetes, a namespaced owner counts only in
   * the dependent's namespace, and a cluster-scoped dependent only has cluster-scoped owners.
   */
  private ownerPresent(uid: string, depDef: ResourceDef, dep: KObject): boolean {
    const owner = this.lookupUid(uid);
    if (!owner) return false;
    if (!owner.def.namespaced) return true;
    return depDef.namespaced && owner.obj.metadata.namespace === dep.metadata.namespace;
  }

  private dependents(uid: string): { def: ResourceDef; obj: KObject }[] {
    const out: { def: ResourceDef; obj: KObject }[] = [];
    for (const ref of this.ownerIndex.get(uid) ?? []) {
      const [key, ns, name] = ref.split('|');
      const def = this.defs.get(key);
      const obj = def && this.store.table(key).get(ns, name);
      if (def && obj) out.push({ def, obj });
    }
    return out;
  }

  private gcTask(task: string): void {
    const [kind, arg] = task.split('|', 2);
    if (kind === 'gone' || kind === 'dependent') {
      // An owner is gone (or a new object names owners): delete dependents whose owners are all gone.
      const subjects = kind === 'gone' ? this.dependents(arg) : [this.lookupUid(arg)].filter((x): x is { def: ResourceDef; obj: KObject } => !!x);
      for (const { def, obj } of subjects) {
        const refs = obj.metadata.ownerReferences ?? [];
        const alive = refs.filter((r) => this.ownerPresent(r.uid, def, obj));
        if (alive.length === refs.length) continue;
        if (alive.length > 0) {
          const next = clone(obj);
          next.metadata.ownerReferences = alive;
          this.applyUpdate(def, storageVersion(def), obj, next, {});
        } else if (!obj.metadata.deletionTimestamp) {
          this.delete(def, obj.metadata.namespace ?? '', obj.metadata.name!, { propagationPolicy: 'Background' });
        }
      }
      return;
    }
    if (kind === 'deleting') {
      const owner = this.lookupUid(arg);
      if (!owner || !owner.obj.metadata.deletionTimestamp) return;
      const fins = owner.obj.metadata.finalizers ?? [];
      if (fins.includes('orphan')) {
        for (const { def, obj } of this.dependents(arg)) {
          const next = clone(obj);
          next.metadata.ownerReferences = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== arg);
          if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
          this.applyUpdate(def, storageVersion(def), obj, next, {});
        }
        this.dropFinalizer(owner.def, owner.obj, 'orphan');
        return;
      }
      if (fins.includes('foregroundDeletion')) {
        let blocking = 0;
        for (const { def, obj } of this.dependents(arg)) {
          const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.uid === arg);
          if (ref?.blockOwnerDeletion) blocking++;
          if (!obj.metadata.deletionTimestamp) {
            this.delete(def, obj.metadata.namespace ?? '', obj.metadata.name!, { propagationPolicy: this.hasDependents(obj) ? 'Foreground' : 'Background' });
          }
        }
        if (blocking === 0) this.dropFinalizer(owner.def, owner.obj, 'foregroundDeletion');
      }
      return;
    }
    if (kind === 'ns') {
      const nsObj = this.store.table('/namespaces').get('', arg);
      if (!nsObj?.metadata.deletionTimestamp) return;
      for (const def of this.defs.values()) {
        if (!def.namespaced || def.storedAs) continue;
        const t = this.store.table(def.key);
        for (const o of t.list(arg)) {
          if (!o.metadata.deletionTimestamp) this.delete(def, arg, o.metadata.name!, { propagationPolicy: 'Background' });
        }
      }
      let remaining = 0;
      for (const def of this.defs.values()) if (def.namespaced && !def.storedAs) remaining += this.store.table(def.key).countIn(arg);
      if (remaining === 0) {
        const latest = this.store.table('/namespaces').get('', arg)!;
        const next = clone(latest);
        next.spec = { ...objOf(next.spec), finalizers: [] };
        if ((next.metadata.finalizers ?? []).length === 0) this.removeObject(this.def('', 'namespaces'), next);
        else this.commit(this.def('', 'namespaces'), latest, next);
      }
      return;
    }
    if (kind === 'crd') {
      const crdDef = this.def('apiextensions.k8s.io', 'customresourcedefinitions');
      const crd = this.store.table(crdDef.key).get('', arg);
      if (!crd?.metadata.deletionTimestamp) return;
      const spec = crd.spec as { group: string; names: { plural: string } };
      const def = this.defs.get(`${spec.group}/${spec.names.plural}`);
      if (def && def.crdName === arg) {
        const t = this.store.table(def.key);
        for (const o of t.list()) if (!o.metadata.deletionTimestamp) this.delete(def, o.metadata.namespace ?? '', o.metadata.name!, { propagationPolicy: 'Background' });
        if (t.size > 0) return;
      }
      this.dropFinalizer(crdDef, this.store.table(crdDef.key).get('', arg)!, 'customresourcecleanup.apiextensions.k8s.io');
    }
  }

  private dropFinalizer(def: ResourceDef, o: KObject, finalizer: string): void {
    if (!(o.metadata.finalizers ?? []).includes(finalizer)) return;
    const next = clone(o);
    next.metadata.finalizers = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    this.applyUpdate(def, def.builtin ? def.versions[0].name : storageVersion(def), o, next, {});
  }

  /** Drops every resource's watch history (tests: provoke 410 Gone). */
  compactHistory(): void {
    for (const t of this.store.allTables()) t.compact(this.store.currentRv());
  }
}

/** `.spec.replicas`-style paths of CRD scale subresources. */
function readPath(o: unknown, path: string): unknown {
  let cur = o;
  for (const p of path.replace(/^\./, '').split('.')) cur = isPlainObject(cur) ? cur[p] : undefined;
  return cur;
}
function writePath(o: JsonObject, path: string, v: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) { if (!isPlainObject(cur[p])) cur[p] = {}; cur = cur[p] as JsonObject; }
  cur[parts[parts.length - 1]] = v;
}
/** A metav1.LabelSelector as the string form Scale.status.selector carries. */
function selectorString(sel: JsonObject): string {
  const parts = Object.entries(objOf(sel.matchLabels)).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) as { key: string; operator: string; values?: string[] }[]) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') parts.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
    else if (op === 'exists') parts.push(e.key);
    else if (op === 'doesnotexist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
