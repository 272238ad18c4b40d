// Watch streams: newline-delimited JSON watch events over a chunked HTTP response, starting from a
// resourceVersion (replayed from the resource's bounded history; too old ⇒ one ERROR 410 event and
// the end of the stream, as a real server answers), with BOOKMARKs and timeoutSeconds. Each event
// line is serialised once and shared by every watcher that receives it; the events of one turn of
// the event loop go out in one socket write.
import type { Response } from 'express';
import { badRequest, gone } from './errors.js';
import type { Registry, Selection } from './registry.js';
import { apiVersionOf, type ResourceDef, type VersionDef } from './resources.js';
import { toTable } from './table.js';
import { jsonOf, type ChangeEvent, type EventType, type ResourceTable } from './store.js';
import type { KObject } from './types.js';

export interface WatchQuery {
  /** `kubectl get -w` asks for Tables: each event then carries a one-row Table. */
  asTable?: { vdef: VersionDef; includeObject: string };
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

export interface WatchSettings {
  bookmarkIntervalMs: number;
  /** A watcher whose unsent output exceeds this is closed; its client resumes from its last resourceVersion. */
  maxBufferedBytes: number;
}

const lineCache = new WeakMap<ChangeEvent, Map<string, string>>();

function eventLine(registry: Registry, def: ResourceDef, version: string, ev: ChangeEvent, type: EventType): string {
  let m = lineCache.get(ev);
  if (!m) { m = new Map(); lineCache.set(ev, m); }
  const k = `${type}|${version}`;
  let line = m.get(k);
  if (line === undefined) {
    line = `{"type":"${type}","object":${jsonOf(registry.view(def, version, ev.object))}}\n`;
    m.set(k, line);
  }
  return line;
}

function objectLine(registry: Registry, def: ResourceDef, version: string, o: KObject): string {
  return `{"type":"ADDED","object":${jsonOf(registry.view(def, version, o))}}\n`;
}

export class WatchHub {
  private readonly active = new Set<() => void>();
  private readonly byTable = new Map<ResourceTable, Set<() => void>>();

  constructor(private readonly registry: Registry, private readonly settings: WatchSettings) {}

  get count(): number {
    return this.active.size;
  }

  closeAll(): void {
    for (const c of [...this.active]) c();
  }

  closeTable(t: ResourceTable): void {
    for (const c of [...(this.byTable.get(t) ?? [])]) c();
  }

  serve(def: ResourceDef, version: string, ns: string | undefined, sel: Selection, q: WatchQuery, res: Response): void {
    const registry = this.registry;
    const table = registry.tableOf(def);
    const rvParam = q.resourceVersion ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
    if (q.resourceVersionMatch && !q.sendInitialEvents) throw badRequest('resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
    if (q.sendInitialEvents && (q.resourceVersionMatch !== 'NotOlderThan' || !q.allowWatchBookmarks)) {
      throw badRequest('sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true');
    }
    const scopeNs = def.namespaced && ns ? ns : undefined;
    const inScope = (o: KObject): boolean => (scopeNs === undefined || o.metadata.namespace === scopeNs) && registry.matches(sel, o);

    // rv unset or "0": start with the current state as ADDED events; otherwise replay from history.
    const initial = rvParam === '' || rvParam === '0' || q.sendInitialEvents;
    let backlog: ChangeEvent[] | undefined = [];
    if (!initial) {
      backlog = table.since(Number(rvParam));
    }
    res.status(200);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache, private');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    res.socket?.setNoDelay(true);

    if (!backlog) {
      const err = gone(`too old resource version: ${rvParam} (${table.compactedRv})`).status;
      res.end(`{"type":"ERROR","object":${JSON.stringify(err)}}\n`);
      return;
    }

    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    const bookmark = (extra?: Record<string, string>): void => {
      const obj = { kind: def.kind, apiVersion: apiVersionOf(def.group, version), metadata: { resourceVersion: String(registry.store.currentRv()), ...(extra ? { annotations: extra } : {}) } };
      write(`{"type":"BOOKMARK","object":${JSON.stringify(obj)}}\n`);
    };
    // Events are gathered until the event loop's next turn and written together: under a burst
    // of changes (many clients writing at once) one socket write carries several events.
    let pending: string[] = [];
    let flushScheduled = false;
    const flush = (): void => {
      flushScheduled = false;
      if (closed || pending.length === 0) return;
      const chunk = pending.length === 1 ? pending[0]! : pending.join('');
      pending = [];
      res.write(chunk);
      if (res.writableLength > this.settings.maxBufferedBytes) close();
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      table.watchers.delete(watcher);
      this.active.delete(close);
      this.byTable.get(table)?.delete(close);
      const rest = pending.join('');
      pending = [];
      if (rest) res.end(rest);
      else res.end();
    };
    const write = (s: string): void => {
      if (closed) return;
      pending.push(s);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    };
    let headersSent = false;
    const line = (ev: ChangeEvent, type: EventType): string => {
      if (!q.asTable) return eventLine(registry, def, version, ev, type);
      const o = registry.view(def, version, ev.object);
      const t = toTable(def, q.asTable.vdef, [o], { resourceVersion: o.metadata.resourceVersion }, q.asTable.includeObject) as { columnDefinitions: unknown[] };
      // Column definitions travel with the first event only, as a real server sends them.
      if (headersSent) t.columnDefinitions = [];
      headersSent = true;
      return `{"type":"${type}","object":${JSON.stringify(t)}}\n`;
    };
    const deliver = (ev: ChangeEvent): void => {
      const now = inScope(ev.object);
      if (ev.type === 'ADDED') { if (now) write(line(ev, 'ADDED')); return; }
      if (ev.type === 'DELETED') { if (now || (ev.previous && inScope(ev.previous))) write(line(ev, 'DELETED')); return; }
      const before = ev.previous ? inScope(ev.previous) : false;
      // Objects entering or leaving a selector appear as ADDED / DELETED, as on a real server.
      if (now && before) write(line(ev, 'MODIFIED'));
      else if (now) write(line(ev, 'ADDED'));
      else if (before) write(line(ev, 'DELETED'));
    };
    const watcher = { onEvent: deliver };

    table.watchers.add(watcher);
    this.active.add(close);
    let set = this.byTable.get(table);
    if (!set) { set = new Set(); this.byTable.set(table, set); }
    set.add(close);
    res.on('close', close);

    if (initial) {
      for (const o of table.list(scopeNs)) if (inScope(o)) write(q.asTable ? line({ type: 'ADDED', object: o, rv: 0 }, 'ADDED') : objectLine(registry, def, version, o));
      if (q.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      for (const ev of backlog) deliver(ev);
    }
    if (q.allowWatchBookmarks) {
      const tick = (): void => { bookmark(); timers[0] = setTimeout(tick, this.settings.bookmarkIntervalMs); };
      timers[0] = setTimeout(tick, this.settings.bookmarkIntervalMs);
    }
    // capped to what node's timers hold (about 24.8 days): a longer delay would fire after 1 ms
    if (q.timeoutSeconds !== undefined && q.timeoutSeconds > 0) timers[1] = setTimeout(close, Math.min(q.timeoutSeconds * 1000, 2 ** 31 - 1));
  }
}
