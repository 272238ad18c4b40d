// The pieces every dev cluster controller shares: a de-duplicating work queue with delayed
// re-queues (timers for TTLs, deadlines and cron schedules), "expectations" so a controller does
// not act twice on a stale cache right after creating or deleting pods, owner helpers and
// Kubernetes-style conditions.
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';

export type Clock = () => number;

export const isoNow = (clock: Clock) => new Date(clock()).toISOString().replace(/\.\d+Z$/, 'Z');

/** Longest delay node's timers hold (2^31-1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimeout {
  /** when it fires (epoch ms) */
  readonly due: number;
  cancel(): void;
}

/** setTimeout for any delay (a monthly cron schedule, a long deadline): waits in steps node can hold. */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  const due = Date.now() + Math.max(ms, 0);
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = due - Date.now();
    timer = setTimeout(() => (left > MAX_TIMER_MS ? arm() : fn()), Math.min(Math.max(left, 0), MAX_TIMER_MS));
  };
  arm();
  return { due, cancel: () => clearTimeout(timer) };
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly timers = new Map<string, LongTimeout>();
  private running = false;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly handler: (key: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    void this.drain();
  }

  /** Re-queues the key after ms (the earliest request wins). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    const due = Date.now() + Math.max(ms, 0);
    if (existing && existing.due <= due) return;
    existing?.cancel();
    const t = setLongTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, t);
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.size && !this.stopped) {
        const key = this.pending.values().next().value as string;
        this.pending.delete(key);
        try {
          await this.handler(key);
        } catch (e) {
          this.log.warn({ controller: this.name, key, err: (e as Error).message }, 'reconcile failed; retrying');
          this.addAfter(key, 500);
        }
      }
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.pending.clear();
  }
}

/** Pods a controller created or deleted that its informer has not shown yet. */
export class Expectations {
  private readonly m = new Map<string, { adds: Set<string>; dels: Set<string>; until: number }>();
  expectCreate(owner: string, name: string): void {
    this.entry(owner).adds.add(name);
  }
  expectDelete(owner: string, name: string): void {
    this.entry(owner).dels.add(name);
  }
  observedCreate(owner: string, name: string): void {
    this.m.get(owner)?.adds.delete(name);
  }
  observedDelete(owner: string, name: string): void {
    this.m.get(owner)?.dels.delete(name);
  }
  /** True when the cache reflects the controller's own writes (or they are too old to wait for). */
  satisfied(owner: string): boolean {
    const e = this.m.get(owner);
    if (!e) return true;
    if ((e.adds.size === 0 && e.dels.size === 0) || Date.now() > e.until) {
      this.m.delete(owner);
      return true;
    }
    return false;
  }
  private entry(owner: string) {
    let e = this.m.get(owner);
    if (!e) this.m.set(owner, (e = { adds: new Set(), dels: new Set(), until: 0 }));
    e.until = Date.now() + 10_000;
    return e;
  }
}

export function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

export function controllerRef(o: KubernetesObject): V1OwnerReference | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.controller);
}

export function ownerReference(owner: KubernetesObject & { apiVersion?: string; kind?: string }, apiVersion: string, kind: string): V1OwnerReference {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string;
  lastUpdateTime?: string;
}

/** Sets a condition, keeping lastTransitionTime when the status does not change. */
export function setCondition(list: Condition[] | undefined, c: Condition, now: string, extra: Partial<Condition> = {}): Condition[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? out[i] : undefined;
  const next: Condition = { ...extra, ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

export function hasCondition(list: Condition[] | undefined, type: string): boolean {
  return (list ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Label selector matchLabels/matchExpressions against labels. */
export function selectorMatches(
  sel: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function isPodActive(p: { status?: { phase?: string }; metadata?: { deletionTimestamp?: unknown } }): boolean {
  const ph = p.status?.phase;
  return ph !== 'Succeeded' && ph !== 'Failed' && !p.metadata?.deletionTimestamp;
}

export function isPodReady(p: { status?: { conditions?: Array<{ type: string; status: string }> } }): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
