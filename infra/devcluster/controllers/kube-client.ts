// The thin API client the dev cluster's controllers and kubelets share: plain JSON objects (no
// typed-model conversion, so timestamps stay RFC 3339 strings), merge patches with the right
// content type, and client-node informers (ListWatch) that restart themselves after an error,
// which client-node's informers otherwise do not do.
import { KubeConfig, ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';

export class KubeError extends Error {
  override name = 'KubeError';
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string };
}

export class Kube {
  private readonly server: string;
  constructor(readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    // auth headers come as a node-fetch Headers object: copy its entries
    const init = (await this.kc.applyToFetchOptions({})) as { headers?: { forEach(cb: (v: string, k: string) => void): void } };
    const headers: Record<string, string> = { Accept: 'application/json' };
    init.headers?.forEach((v, k) => (headers[k] = v));
    if (body !== undefined) headers['Content-Type'] = contentType;
    const res = await fetch(this.server + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const st = (parsed ?? {}) as { reason?: string; message?: string };
      throw new KubeError(res.status, st.reason ?? res.statusText, `${method} ${path}: ${res.status} ${st.message ?? text.slice(0, 200)}`);
    }
    return parsed as T;
  }

  async get<T>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (e) {
      if (e instanceof KubeError && e.code === 404) return undefined;
      throw e;
    }
  }

  list<T>(path: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    const qs = q.toString();
    return this.request<ObjectList<T>>('GET', qs ? `${path}?${qs}` : path);
  }

  create<T>(collectionPath: string, obj: unknown): Promise<T> {
    return this.request<T>('POST', collectionPath, obj);
  }

  replace<T>(path: string, obj: unknown): Promise<T> {
    return this.request<T>('PUT', path, obj);
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  /** Deletes; a 404 is not an error (already gone). */
  async delete(path: string, opts: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; gracePeriodSeconds?: number; uid?: string } = {}): Promise<void> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.uid) body.preconditions = { uid: opts.uid };
    try {
      await this.request('DELETE', path, body);
    } catch (e) {
      if (e instanceof KubeError && (e.code === 404 || (e.code === 409 && opts.uid))) return;
      throw e;
    }
  }
}

/** /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]] and the /apis/GROUP/VERSION equivalent. */
export function apiPath(apiVersion: string, plural: string, namespace?: string, name?: string, sub?: string): string {
  let p = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (sub) p += `/${sub}`;
  return p;
}

export interface Informer<T extends KubernetesObject> {
  list(namespace?: string): ReadonlyArray<T>;
  get(name: string, namespace?: string): T | undefined;
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  /** resolves after the first list */
  started: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A ListWatch on a cluster-wide (or namespaced) collection path that restarts itself, with a
 * short backoff, after any error (410 Gone is handled by client-node's relist).
 */
export function startInformer<T extends KubernetesObject>(
  kube: Kube,
  path: string,
  opts: ListOptions,
  log: Logger,
): Informer<T> {
  const listFn = async () => {
    const l = await kube.list<T>(path, opts);
    return { apiVersion: 'v1', kind: 'List', items: l.items, metadata: l.metadata };
  };
  const lw = new ListWatch<T>(path, new Watch(kube.kc), listFn, false, opts.labelSelector, opts.fieldSelector);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  lw.on('error', (err?: unknown) => {
    if (stopped) return;
    log.debug({ path, err: String((err as Error)?.message ?? err) }, 'informer error; restarting');
    timer = setTimeout(() => {
      if (!stopped) lw.start().catch(() => undefined);
    }, 500);
  });
  const started = (async () => {
    for (let i = 0; ; i++) {
      try {
        await lw.start();
        return;
      } catch (e) {
        if (stopped || i >= 100) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return {
    list: (ns) => lw.list(ns),
    get: (name, ns) => lw.get(name, ns),
    on: (verb, cb) => lw.on(verb, cb),
    started,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await lw.stop();
    },
  };
}
