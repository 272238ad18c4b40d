// The in-memory object store: one table per resource, objects indexed by namespace then name,
// one global resourceVersion counter (as etcd's revision), a bounded per-resource history of
// changes for watches, and the watchers themselves. Stored objects are never mutated, so a
// serialisation is computed once per object and shared by every list and watch that sends it.
import type { KObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeEvent {
  type: EventType;
  object: KObject;
  /** The object before a MODIFIED/DELETED, for selector transitions. */
  previous?: KObject;
  rv: number;
}

export interface Watcher {
  /** Receives every change of its resource; filters itself. */
  onEvent(ev: ChangeEvent): void;
}

const jsonCache = new WeakMap<KObject, string>();

/** JSON of a stored object, computed once. */
export function jsonOf(obj: KObject): string {
  let s = jsonCache.get(obj);
  if (s === undefined) { s = JSON.stringify(obj); jsonCache.set(obj, s); }
  return s;
}

export class ResourceTable {
  readonly byNamespace = new Map<string, Map<string, KObject>>();
  size = 0;
  private history: ChangeEvent[] = [];
  private historyStart = 0;
  /** resourceVersion of the newest change no longer in the history (0: nothing dropped yet). */
  compactedRv = 0;
  readonly watchers = new Set<Watcher>();
  /** Namespace/name pairs in list order; rebuilt only after an add or a removal. */
  private sorted: [string, string][] | null = null;
  /** Per-namespace name order, rebuilt only after an add or a removal in that namespace. */
  private readonly sortedNames = new Map<string, string[]>();

  constructor(readonly key: string, private readonly historyLimit: number) {}

  get(ns: string, name: string): KObject | undefined {
    return this.byNamespace.get(ns)?.get(name);
  }

  /** All objects (of one namespace, or all) ordered by namespace/name, as etcd lists keys. */
  list(ns?: string): KObject[] {
    if (ns !== undefined) {
      const m = this.byNamespace.get(ns);
      if (!m) return [];
      let names = this.sortedNames.get(ns);
      if (!names) { names = [...m.keys()].sort(cmp); this.sortedNames.set(ns, names); }
      return names.map((n) => m.get(n)!);
    }
    if (!this.sorted) {
      const keys: [string, string][] = [];
      for (const n of [...this.byNamespace.keys()].sort(cmp)) for (const name of [...this.byNamespace.get(n)!.keys()].sort(cmp)) keys.push([n, name]);
      this.sorted = keys;
    }
    return this.sorted.map(([n, name]) => this.byNamespace.get(n)!.get(name)!);
  }

  countIn(ns: string): number {
    return this.byNamespace.get(ns)?.size ?? 0;
  }

  put(obj: KObject): KObject | undefined {
    const ns = obj.metadata.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) { m = new Map(); this.byNamespace.set(ns, m); }
    const prev = m.get(obj.metadata.name!);
    m.set(obj.metadata.name!, obj);
    if (!prev) { this.size++; this.sorted = null; this.sortedNames.delete(ns); }
    return prev;
  }

  remove(ns: string, name: string): KObject | undefined {
    const m = this.byNamespace.get(ns);
    const prev = m?.get(name);
    if (!prev) return undefined;
    m!.delete(name);
    if (m!.size === 0) this.byNamespace.delete(ns);
    this.size--;
    this.sorted = null;
    this.sortedNames.delete(ns);
    return prev;
  }

  record(ev: ChangeEvent): void {
    this.history.push(ev);
    if (this.history.length - this.historyStart > this.historyLimit) {
      this.compactedRv = this.history[this.historyStart].rv;
      this.historyStart++;
      // Reclaim the dropped prefix in chunks, not per event.
      if (this.historyStart > 1024 && this.historyStart * 2 > this.history.length) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const w of this.watchers) w.onEvent(ev);
  }

  /** Changes after `rv`, or undefined when some of them were compacted away (410 Gone). */
  since(rv: number): ChangeEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    const out: ChangeEvent[] = [];
    for (let i = this.history.length - 1; i >= this.historyStart && this.history[i].rv > rv; i--) out.push(this.history[i]);
    return out.reverse();
  }

  /** Drops the whole history (tests use it to provoke 410 Gone). */
  compact(currentRv: number): void {
    this.history = [];
    this.historyStart = 0;
    this.compactedRv = currentRv;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Store {
  private rv = 0;
  private readonly tables = new Map<string, ResourceTable>();

  constructor(private readonly historyLimit: number) {}

  table(key: string): ResourceTable {
    let t = this.tables.get(key);
    if (!t) { t = new ResourceTable(key, this.historyLimit); this.tables.set(key, t); }
    return t;
  }

  allTables(): ResourceTable[] {
    return [...this.tables.values()];
  }

  dropTable(key: string): void {
    this.tables.delete(key);
  }

  currentRv(): number {
    return this.rv;
  }

  nextRv(): number {
    return ++this.rv;
  }
}
