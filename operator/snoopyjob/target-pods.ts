// Pod caches for the namespaces SnoopyJobs target, started on first use and stopped when no
// SnoopyJob targets their namespace any more, so the operator never caches the whole cluster's pods.
import type { V1Pod, V1PodList, KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import { getJson, type Kube } from '../../lib/kube/client.js';
import { ResilientCache } from '../kube/informer.js';

const SYNC_TIMEOUT_MS = 30_000;

export class TargetPodCaches {
  private readonly caches = new Map<string, ResilientCache<V1Pod>>();

  constructor(
    private readonly kube: Kube,
    private readonly kc: KubeConfig,
    private readonly logger: Logger,
    private readonly onChange: (pod: V1Pod) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The synced cache of `namespace`'s pods (starting it when needed). */
  async ensure(namespace: string): Promise<ResilientCache<V1Pod>> {
    let cache = this.caches.get(namespace);
    if (!cache) {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
      cache = new ResilientCache<V1Pod>({
        kc: this.kc,
        path,
        list: () => getJson<V1PodList>(this.kube, path),
        logger: this.logger,
        name: `pods/${namespace}`,
        onChange: (pod) => this.onChange(pod),
        onError: this.onError,
      });
      this.caches.set(namespace, cache);
      void cache.start();
    }
    // a namespace whose pods cannot be listed (e.g. no RBAC) must not hold a worker forever
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const last: unknown = cache!.lastError;
        const why = last instanceof Error ? last.message : last === undefined ? 'no answer' : JSON.stringify(last);
        reject(new Error(`the pods of namespace "${namespace}" could not be listed: ${why}`));
      }, SYNC_TIMEOUT_MS);
    });
    try {
      await Promise.race([cache.synced, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return cache;
  }

  namespaces(): string[] {
    return [...this.caches.keys()];
  }

  size(): number {
    let n = 0;
    for (const c of this.caches.values()) n += c.list().length;
    return n;
  }

  /** Stops the caches of namespaces no SnoopyJob targets. */
  async retain(namespaces: Set<string>): Promise<void> {
    for (const [ns, cache] of this.caches) {
      if (namespaces.has(ns)) continue;
      this.caches.delete(ns);
      await cache.stop();
    }
  }

  async stop(): Promise<void> {
    const all = [...this.caches.values()];
    this.caches.clear();
    await Promise.all(all.map((c) => c.stop()));
  }
}

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** A pod can be captured once it runs on a node (podtracer needs its container's process). */
export function isCapturable(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && Boolean(pod.spec?.nodeName) && pod.status?.phase === 'Running';
}
