// Fixtures for the API server conformance tests: a real server on loopback, a kubeconfig file for
// kubectl, client-node API clients, and a helper that turns an ApiException into the Status the
// server sent.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, ApiextensionsV1Api, ApiException,
} from '@kubernetes/client-node';
import { createLogger } from '../../../lib/log.js';
import { kubeconfigYaml } from '../cluster.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../apiserver/index.js';

export const log = createLogger('apiserver-test', process.env.LOG_LEVEL ?? 'warn');

export interface Fixture {
  api: ApiServer;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  ext: ApiextensionsV1Api;
  dir: string;
  kubeconfigPath: string;
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Raw HTTP against the server. */
  http(method: string, path: string, body?: unknown, contentType?: string, accept?: string): Promise<{ status: number; json: any; text: string; headers: Headers }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience over arbitrary JSON
  stop(): Promise<void>;
}

export async function startFixture(opts: ApiServerOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'apiserver-test-'));
  const api = await startApiServer({ logger: log, stateDir: dir, ...opts });
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(api.url));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    api, kc, dir, kubeconfigPath,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    ext: kc.makeApiClient(ApiextensionsV1Api),
    kubectl: (args, input) => new Promise((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { timeout: 60000, env: { ...process.env, HOME: dir } }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
      if (input !== undefined) child.stdin!.end(input);
    }),
    http: async (method, path, body, contentType = 'application/json', accept = 'application/json') => {
      const r = await fetch(api.url + path, {
        method, headers: { 'content-type': contentType, accept },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await r.text();
      let json: unknown;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: r.status, json, text, headers: r.headers };
    },
    stop: async () => {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface StatusBody { kind: string; status: string; reason: string; code: number; message: string; details?: { name?: string; kind?: string; group?: string; causes?: { field?: string; reason?: string; message?: string }[] } }

/** Runs a call expected to fail and returns the Status the server answered. */
export async function failure(p: Promise<unknown>): Promise<StatusBody & { httpCode: number }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      return { ...(body as StatusBody), httpCode: e.code };
    }
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** Polls `fn` until it returns a truthy value; bounded. */
export async function until<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, tries = 200, intervalMs = 50): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function suffix(): string {
  return Math.random().toString(36).slice(2, 8);
}

export const podSpec = (name = 'c') => ({ containers: [{ name, image: 'busybox', command: ['sleep', '3600'] }] });
