// HTTP surface: express 5 routes for discovery, OpenAPI, health, metrics and the REST paths of
// every served resource (/api/v1/..., /apis/<group>/<version>/...), answering Status objects on
// every failure.
import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge, Histogram, Registry as MetricsRegistry, collectDefaultMetrics } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../../lib/log.js';
import { coreVersions, groupInfo, groupList, resourceList, versionInfo } from './discovery.js';
import { ApiError, BODY_TYPES, badRequest, internal, methodNotSupported, pathNotFound, unsupportedMediaType } from './errors.js';
import { serveLogs } from './logs.js';
import { decodeK8sProtobuf } from './protobuf.js';
import { docHash, groupVersionDoc, openApiIndex } from './openapi.js';
import type { DeleteOptions, ListQuery, Registry, WriteOptions } from './registry.js';
import { answerReview, apiVersionOf, isReview, type ResourceDef, type VersionDef } from './resources.js';
import { jsonOf } from './store.js';
import { MAX_REQUEST_BODY_BYTES } from './limits.js';
import { toTable, wantsTable } from './table.js';
import { isPlainObject, type JsonObject, type KObject } from './types.js';
import type { WatchHub } from './watch.js';

export interface ServerContext {
  registry: Registry;
  watches: WatchHub;
  log: Logger;
  stateDir?: string;
  serverAddress: () => string;
}

interface Target {
  group: string;
  version: string;
  def: ResourceDef;
  vdef: VersionDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  watchPath: boolean;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}
function bool(v: unknown): boolean {
  const s = str(v);
  return s === 'true' || s === '1';
}
function int(v: unknown, name: string): number | undefined {
  const s = str(v);
  if (s === undefined || s === '') return undefined;
  if (!/^-?\d+$/.test(s)) throw badRequest(`invalid ${name}: ${s}`);
  return Number(s);
}

function sendJson(res: Response, code: number, body: unknown): void {
  res.status(code).type('application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
}

function sendObject(res: Response, code: number, ctx: ServerContext, t: Target, o: KObject): void {
  const view = ctx.registry.view(t.def, t.version, o);
  res.status(code).type('application/json').send(jsonOf(view));
}

function sendStatus(res: Response, e: ApiError): void {
  sendJson(res, e.code, e.status);
}

/** Resolves the REST path segments after /api/v1 or /apis/<g>/<v>. */
function resolve(ctx: ServerContext, group: string, version: string, segs: string[]): Target | undefined {
  let watchPath = false;
  if (segs[0] === 'watch') { watchPath = true; segs = segs.slice(1); }
  let namespace: string | undefined;
  let rest = segs;
  if (segs[0] === 'namespaces' && segs.length >= 3 && segs[2] !== 'status' && segs[2] !== 'finalize') {
    namespace = segs[1];
    rest = segs.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length) return undefined;
  const def = ctx.registry.find(group, plural);
  if (!def) return undefined;
  const vdef = def.versions.find((v) => v.name === version && v.served);
  if (!vdef) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  return { group, version, def, vdef, namespace, name, subresource, watchPath };
}

function bodyOf(req: Request): unknown {
  const raw = req.body as Buffer | undefined;
  if (!raw || raw.length === 0) return undefined;
  const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  const text = raw.toString('utf8');
  if (ct === 'application/json' || ct === '*/*' || ct === '') {
    try { return JSON.parse(text); } catch (e) { throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`); }
  }
  if (ct === 'application/vnd.kubernetes.protobuf') return decodeK8sProtobuf(raw, ct);
  if (ct === 'application/yaml') {
    try { return parseYaml(text); } catch (e) { throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`); }
  }
  throw unsupportedMediaType(ct, BODY_TYPES);
}

function listQuery(q: Request['query']): ListQuery {
  return {
    labelSelector: str(q.labelSelector), fieldSelector: str(q.fieldSelector), limit: int(q.limit, 'limit'), continue: str(q.continue),
    resourceVersion: str(q.resourceVersion), resourceVersionMatch: str(q.resourceVersionMatch),
  };
}

function deleteOptions(req: Request): DeleteOptions {
  const b = bodyOf(req);
  const body: JsonObject = isPlainObject(b) ? b : {};
  const q = req.query;
  const grace = body.gracePeriodSeconds ?? int(q.gracePeriodSeconds, 'gracePeriodSeconds');
  const orphan = body.orphanDependents ?? (str(q.orphanDependents) !== undefined ? bool(q.orphanDependents) : undefined);
  const dry = body.dryRun ?? str(q.dryRun);
  return {
    propagationPolicy: (body.propagationPolicy as string | undefined) ?? str(q.propagationPolicy),
    orphanDependents: orphan as boolean | undefined,
    gracePeriodSeconds: grace as number | undefined,
    preconditions: isPlainObject(body.preconditions) ? (body.preconditions as DeleteOptions['preconditions']) : undefined,
    dryRun: Array.isArray(dry) ? dry.includes('All') : dry === 'All',
  };
}

function writeOpts(req: Request): WriteOptions {
  const fv = str(req.query.fieldValidation);
  if (fv !== undefined && !['Ignore', 'Warn', 'Strict'].includes(fv)) throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  return { dryRun: dryRun(req), fieldValidation: fv, warnings: [] };
}

function warn(res: Response, opts: WriteOptions): void {
  if (opts.warnings?.length) res.setHeader('Warning', opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
}

function dryRun(req: Request): boolean {
  const d = req.query.dryRun;
  if (d === undefined) return false;
  if (str(d) !== 'All') throw badRequest(`dryRun: Unsupported value: "${str(d)}": supported values: "All"`);
  return true;
}

/** The bearer token of a request (at most 64 characters), '' without one. */
function bearerToken(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)/i.exec(header ?? '');
  return m ? m[1]!.slice(0, 64) : '';
}

export function createApp(ctx: ServerContext): { app: express.Express; metrics: MetricsRegistry } {
  const { registry, log } = ctx;
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });
  const requests = new Counter({ name: 'apiserver_request_total', help: 'API requests by verb, resource and code', labelNames: ['verb', 'resource', 'code'], registers: [metrics] });
  const latency = new Histogram({ name: 'apiserver_request_duration_seconds', help: 'API request latency (non-watch)', labelNames: ['verb', 'resource'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [metrics] });
  // Not in a real server's metrics: for benchmarks that count one client's requests and the
  // largest object a client wrote (the dev server takes any bearer token; it names the client).
  const byClient = new Counter({ name: 'devcluster_requests_by_token_total', help: 'API requests by bearer token, verb and code', labelNames: ['token', 'verb', 'code'], registers: [metrics] });
  new Gauge({
    name: 'devcluster_largest_object_bytes', help: 'Largest object stored per resource, as JSON bytes', labelNames: ['resource'], registers: [metrics],
    collect() { for (const [resource, bytes] of registry.largestObjectBytes) this.set({ resource }, bytes); },
  });
  new Gauge({ name: 'apiserver_registered_watchers', help: 'Open watch streams', registers: [metrics], collect() { this.set(ctx.watches.count); } });
  new Gauge({
    name: 'apiserver_storage_objects', help: 'Stored objects per resource', labelNames: ['resource'], registers: [metrics],
    collect() { for (const t of registry.store.allTables()) this.set({ resource: t.key }, t.size); },
  });

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(express.raw({ type: () => true, limit: MAX_REQUEST_BODY_BYTES }));

  app.get(['/healthz', '/readyz', '/livez'], (_req, res) => { res.type('text/plain').send('ok'); });
  app.get('/metrics', async (_req, res) => { res.type(metrics.contentType).send(await metrics.metrics()); });
  app.get('/version', (_req, res) => sendJson(res, 200, versionInfo()));
  app.get('/api', (_req, res) => sendJson(res, 200, coreVersions(ctx.serverAddress())));
  app.get('/apis', (_req, res) => sendJson(res, 200, groupList(registry.resources())));
  app.get('/openapi/v3', (_req, res) => sendJson(res, 200, openApiIndex(registry.resources())));
  app.get('/openapi/v3/*rest', (req, res) => {
    const rest = (req.params as { rest: string[] }).rest;
    const [kind, ...gv] = rest;
    const doc = kind === 'api' && gv.length === 1 ? groupVersionDoc(registry.resources(), '', gv[0])
      : kind === 'apis' && gv.length === 2 ? groupVersionDoc(registry.resources(), gv[0], gv[1]) : undefined;
    if (!doc) { sendStatus(res, pathNotFound(req.path)); return; }
    res.setHeader('Etag', `"${docHash(doc)}"`);
    sendJson(res, 200, doc);
  });
  app.get('/openapi/v2', (req, res) => sendStatus(res, pathNotFound(req.path)));

  const handle = async (req: Request, res: Response, group: string, version: string, segs: string[]): Promise<void> => {
    const t = resolve(ctx, group, version, segs);
    if (!t) throw pathNotFound(req.path);
    const verbLabel = `${req.method}`;
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      requests.inc({ verb: verbLabel, resource: t.def.key, code: String(res.statusCode) });
      byClient.inc({ token: bearerToken(req.headers.authorization), verb: verbLabel, code: String(res.statusCode) });
      if (!(req.query.watch && bool(req.query.watch))) latency.observe({ verb: verbLabel, resource: t.def.key }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    const ns = t.namespace ?? '';
    const { def } = t;
    if (isReview(def)) {
      if (req.method !== 'POST' || t.name !== undefined) throw methodNotSupported('the server does not allow this method on the requested resource');
      // The answer does not depend on the question, so a protobuf review (kubectl auth) needs no decoding.
      const isProto = (req.headers['content-type'] ?? '').startsWith('application/vnd.kubernetes.protobuf');
      const b = isProto ? {} : bodyOf(req);
      if (!isPlainObject(b)) throw badRequest('the body of the request must be a JSON object');
      sendJson(res, 201, answerReview(def, b));
      return;
    }
    if (def.namespaced && t.name !== undefined && t.namespace === undefined) throw pathNotFound(req.path);
    if (t.subresource) {
      const sub = t.subresource;
      const allowed = (sub === 'status' && t.vdef.statusSubresource) || (sub === 'scale' && !!t.vdef.scale) || (def.extraSubresources.includes(sub));
      if (!allowed) throw pathNotFound(req.path);
      if (sub === 'log') {
        if (req.method !== 'GET') throw methodNotSupported(`the server does not allow this method on the requested resource`);
        await serveLogs(registry, ctx.stateDir, ns, t.name!, {
          container: str(req.query.container), follow: bool(req.query.follow), tailLines: int(req.query.tailLines, 'tailLines'),
          limitBytes: int(req.query.limitBytes, 'limitBytes'), previous: bool(req.query.previous), timestamps: bool(req.query.timestamps),
        }, res);
        return;
      }
      if (sub === 'eviction') {
        // No PodDisruptionBudgets here, so an eviction is the pod's (graceful) deletion.
        if (req.method !== 'POST') throw methodNotSupported('the server does not allow this method on the requested resource');
        const b = bodyOf(req);
        const ev = isPlainObject(b) ? b : {};
        if (ev.kind !== undefined && ev.kind !== 'Eviction') throw badRequest(`the kind in the data (${String(ev.kind)}) does not match the expected kind (Eviction)`);
        const o = isPlainObject(ev.deleteOptions) ? (ev.deleteOptions as JsonObject) : {};
        registry.delete(def, ns, t.name!, {
          gracePeriodSeconds: o.gracePeriodSeconds as number | undefined, propagationPolicy: o.propagationPolicy as string | undefined,
          preconditions: isPlainObject(o.preconditions) ? (o.preconditions as DeleteOptions['preconditions']) : undefined, dryRun: dryRun(req),
        });
        sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
        return;
      }
      if (sub === 'binding') {
        if (req.method !== 'POST') throw methodNotSupported('the server does not allow this method on the requested resource');
        registry.bind(ns, t.name!, bodyOf(req));
        sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
        return;
      }
      if (sub === 'scale') {
        const send = (o: KObject) => sendJson(res, 200, JSON.stringify(o));
        switch (req.method) {
          case 'GET': send(registry.getScale(def, t.version, ns, t.name!)); return;
          case 'PUT': send(registry.updateScale(def, t.version, ns, t.name!, bodyOf(req), writeOpts(req))); return;
          case 'PATCH': send(registry.patchScale(def, t.version, ns, t.name!, req.headers['content-type'] ?? '', (req.body as Buffer | undefined)?.toString('utf8') ?? '', writeOpts(req))); return;
          default: throw methodNotSupported('the server does not allow this method on the requested resource');
        }
      }
      // status
      switch (req.method) {
        case 'GET': sendObject(res, 200, ctx, t, registry.get(def, ns, t.name!)); return;
        case 'PUT': {
          const wo = { ...writeOpts(req), subresource: 'status' as const };
          const o = registry.update(def, t.version, ns, t.name!, bodyOf(req), wo);
          warn(res, wo);
          sendObject(res, 200, ctx, t, o);
          return;
        }
        case 'PATCH': {
          const raw = (req.body as Buffer | undefined)?.toString('utf8') ?? '';
          const wo = { ...writeOpts(req), subresource: 'status' as const };
          const r = registry.patch(def, t.version, ns, t.name!, req.headers['content-type'] ?? '', raw, { ...wo, fieldManager: str(req.query.fieldManager) });
          warn(res, wo);
          sendObject(res, 200, ctx, t, r.object);
          return;
        }
        default: throw methodNotSupported('the server does not allow this method on the requested resource');
      }
    }
    if (t.name === undefined) {
      switch (req.method) {
        case 'GET': {
          if (t.watchPath || bool(req.query.watch)) {
            const sel = registry.selection(def, { labelSelector: str(req.query.labelSelector), fieldSelector: str(req.query.fieldSelector) });
            ctx.watches.serve(def, t.version, t.namespace, sel, {
              resourceVersion: str(req.query.resourceVersion), resourceVersionMatch: str(req.query.resourceVersionMatch),
              allowWatchBookmarks: bool(req.query.allowWatchBookmarks), sendInitialEvents: bool(req.query.sendInitialEvents),
              timeoutSeconds: int(req.query.timeoutSeconds, 'timeoutSeconds'),
              asTable: wantsTable(req.headers.accept) ? { vdef: t.vdef, includeObject: str(req.query.includeObject) ?? 'Metadata' } : undefined,
            }, res);
            return;
          }
          const r = registry.list(def, t.namespace, listQuery(req.query));
          if (wantsTable(req.headers.accept)) {
            sendJson(res, 200, toTable(def, t.vdef, r.items, r, str(req.query.includeObject) ?? 'Metadata'));
            return;
          }
          const meta = JSON.stringify({ resourceVersion: r.resourceVersion, ...(r.continue ? { continue: r.continue } : {}), ...(r.remainingItemCount !== undefined ? { remainingItemCount: r.remainingItemCount } : {}) });
          // Items are stored serialised: concatenate, never re-serialise the whole list.
          const items = r.items.map((o) => jsonOf(registry.view(def, t.version, o))).join(',');
          sendJson(res, 200, `{"kind":"${def.listKind}","apiVersion":"${apiVersionOf(def.group, t.version)}","metadata":${meta},"items":[${items}]}`);
          return;
        }
        case 'POST': {
          if (t.watchPath) throw methodNotSupported('the server does not allow this method on the requested resource');
          const wo = writeOpts(req);
          const created = registry.create(def, t.version, ns, bodyOf(req), wo);
          warn(res, wo);
          sendObject(res, 201, ctx, t, created);
          return;
        }
        case 'DELETE': {
          if (!def.verbs.includes('deletecollection')) throw methodNotSupported('the server does not allow this method on the requested resource');
          const deleted = registry.deleteCollection(def, t.namespace, listQuery(req.query), deleteOptions(req));
          const items = deleted.map((o) => jsonOf(registry.view(def, t.version, o))).join(',');
          sendJson(res, 200, `{"kind":"${def.listKind}","apiVersion":"${apiVersionOf(def.group, t.version)}","metadata":{"resourceVersion":"${registry.store.currentRv()}"},"items":[${items}]}`);
          return;
        }
        default: throw methodNotSupported('the server does not allow this method on the requested resource');
      }
    }
    switch (req.method) {
      case 'GET': {
        if (t.watchPath || bool(req.query.watch)) {
          const sel = registry.selection(def, { fieldSelector: `metadata.name=${t.name}` });
          ctx.watches.serve(def, t.version, t.namespace, sel, {
            resourceVersion: str(req.query.resourceVersion), allowWatchBookmarks: bool(req.query.allowWatchBookmarks), timeoutSeconds: int(req.query.timeoutSeconds, 'timeoutSeconds'),
            asTable: wantsTable(req.headers.accept) ? { vdef: t.vdef, includeObject: str(req.query.includeObject) ?? 'Metadata' } : undefined,
          }, res);
          return;
        }
        const o = registry.get(def, ns, t.name);
        if (wantsTable(req.headers.accept)) { sendJson(res, 200, toTable(def, t.vdef, [o], { resourceVersion: o.metadata.resourceVersion }, str(req.query.includeObject) ?? 'Metadata')); return; }
        sendObject(res, 200, ctx, t, o);
        return;
      }
      case 'PUT': {
        const wo = writeOpts(req);
        const o = registry.update(def, t.version, ns, t.name, bodyOf(req), wo);
        warn(res, wo);
        sendObject(res, 200, ctx, t, o);
        return;
      }
      case 'PATCH': {
        const raw = (req.body as Buffer | undefined)?.toString('utf8') ?? '';
        const wo = writeOpts(req);
        const r = registry.patch(def, t.version, ns, t.name, req.headers['content-type'] ?? '', raw, { ...wo, fieldManager: str(req.query.fieldManager), force: bool(req.query.force) });
        warn(res, wo);
        sendObject(res, r.created ? 201 : 200, ctx, t, r.object);
        return;
      }
      case 'DELETE': {
        const opts = deleteOptions(req);
        const { object, removed } = registry.delete(def, ns, t.name, opts);
        if (def.key === 'batch/jobs' && !opts.propagationPolicy && opts.orphanDependents === undefined) {
          res.setHeader('Warning', '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"');
        }
        if (removed && !def.builtin) { sendObject(res, 200, ctx, t, object); return; }
        if (removed && (def.key === '/pods' || def.key === '/services' || def.key === '/namespaces')) { sendObject(res, 200, ctx, t, object); return; }
        if (removed) { sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: t.name, group: def.group || undefined, kind: def.plural, uid: object.metadata.uid } }); return; }
        sendObject(res, 202, ctx, t, object);
        return;
      }
      default: throw methodNotSupported('the server does not allow this method on the requested resource');
    }
  };

  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try { await fn(req, res); } catch (e) { next(e); }
  };

  app.all('/api/v1', (req, res) => {
    if (req.method !== 'GET') { sendStatus(res, methodNotSupported('the server does not allow this method on the requested resource')); return; }
    sendJson(res, 200, resourceList(registry.resources(), '', 'v1'));
  });
  app.all('/api/v1/*rest', wrap((req, res) => handle(req, res, '', 'v1', (req.params as { rest: string[] }).rest)));
  app.get('/apis/:group', (req, res) => {
    const g = groupInfo(registry.resources(), req.params.group);
    if (!g) { sendStatus(res, pathNotFound(req.path)); return; }
    sendJson(res, 200, g);
  });
  app.get('/apis/:group/:version', (req, res) => {
    const l = resourceList(registry.resources(), req.params.group, req.params.version);
    if (!l) { sendStatus(res, pathNotFound(req.path)); return; }
    sendJson(res, 200, l);
  });
  app.all('/apis/:group/:version/*rest', wrap((req, res) => handle(req, res, req.params.group as string, req.params.version as string, (req.params as unknown as { rest: string[] }).rest)));

  app.use((req: Request, res: Response) => sendStatus(res, pathNotFound(req.path)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) { res.end(); return; }
    if (err instanceof ApiError) { sendStatus(res, err); return; }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') { sendJson(res, 413, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`, reason: 'RequestEntityTooLarge', code: 413 }); return; }
    log.error({ err, path: req.path, method: req.method }, 'request failed');
    sendStatus(res, internal(e.message ?? String(err)));
  });
  return { app, metrics };
}
