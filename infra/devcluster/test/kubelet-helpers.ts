// Test fixtures for the kubelet and controllers: a real dev cluster API server, a kubeconfig for
// it, and polling helpers with bounded loops.
import { existsSync } from 'node:fs';
import { hierarchies } from '../kubelet/cgroups.js';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../../lib/log.js';
import type { ApiServer } from '../apiserver/index.js';
import { startApiServerWithKubeconfig } from '../harness.js';
import { Kube } from '../controllers/kube-client.js';

export const testLogger = createLogger('devcluster-test', process.env.LOG_LEVEL ?? 'warn');

export interface TestApi {
  api: ApiServer;
  kc: KubeConfig;
  kube: Kube;
  stateDir: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

export { kubeconfigYaml } from '../cluster.js';

export async function startTestApi(prefix: string): Promise<TestApi> {
  const t = await startApiServerWithKubeconfig(prefix, testLogger);
  return { ...t, kube: new Kube(t.kc) };
}

/** Polls until fn returns a value (not undefined/false) or the bound is reached. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, tries = 300, everyMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export function suffix(): string {
  return Math.random().toString(36).slice(2, 7);
}

/** kubepods cgroup directories of these pods that still exist, in any hierarchy. */
export function cgroupLeftovers(uids: string[]): string[] {
  const out: string[] = [];
  for (const h of hierarchies()) {
    for (const qos of ['', 'burstable/', 'besteffort/']) {
      for (const u of uids) {
        const dir = `${h.mount}${h.own === '/' ? '' : h.own}/kubepods/${qos}pod${u}`;
        if (existsSync(dir)) out.push(dir);
      }
    }
  }
  return out;
}

