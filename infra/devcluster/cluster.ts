// A whole dev cluster in one process: the API server, then the controllers, then one kubelet per
// node (and any fake nodes), all talking to the API over HTTP like the real components, plus the kubeconfig that
// kubectl and the product's code use to reach it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createLogger, type Logger } from '../../lib/log.js';
import { startApiServer, type ApiServer } from './apiserver/index.js';
import { kubeconfigPath as kubeconfigPathOf } from './paths.js';

export interface DevClusterOptions {
  nodes: string[];
  port?: number;
  host?: string;
  stateDir: string;
  logger?: Logger;
  /** Start only the API server (no controllers, no kubelets). */
  apiOnly?: boolean;
  /** What MinIO containers run: the embedded S3 server (default) or Ceph RGW. */
  s3Backend?: 'embedded' | 'rgw';
  /** Fake nodes to register (fake-nodes/): pods bound to them go Running without processes. */
  fakeNodes?: number;
}

export interface DevCluster {
  url: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  apiServer: ApiServer;
  stop(): Promise<void>;
}

interface Stoppable { stop(): Promise<void> }
interface ControllersModule { startControllers(o: { kubeConfig: KubeConfig; logger: Logger }): Promise<Stoppable> }
interface FakeNodesModule { startFakeNodes(o: { kubeConfig: KubeConfig; logger: Logger; count: number }): Promise<Stoppable> }
interface KubeletModule {
  startKubelet(o: { kubeConfig: KubeConfig; nodeName: string; stateDir: string; kubeconfigPath: string; logger: Logger; s3Backend?: 'embedded' | 'rgw' }): Promise<Stoppable>;
}

export function kubeconfigYaml(url: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // Plain HTTP on loopback; client-node refuses http:// servers unless TLS verification is off.
    clusters: [{ name: 'snoopy-dev', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    // The API server does not authenticate; clients still expect a user.
    users: [{ name: 'snoopy-dev-admin', user: { token: 'snoopy-dev-token' } }],
    contexts: [{ name: 'snoopy-dev', context: { cluster: 'snoopy-dev', user: 'snoopy-dev-admin', namespace: 'default' } }],
    'current-context': 'snoopy-dev',
    preferences: {},
  });
}

/** Imports a sibling part of the dev cluster if it is built; undefined when it is absent. */
async function optionalPart<T>(rel: string, log: Logger): Promise<T | undefined> {
  try {
    return (await import(new URL(rel, import.meta.url).href)) as T;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message?.includes(rel.replace('./', '').replace(/\/index\.js$/, ''))) {
      log.warn({ part: rel }, 'dev cluster part not built; running without it');
      return undefined;
    }
    throw e;
  }
}

export async function startDevCluster(o: DevClusterOptions): Promise<DevCluster> {
  const log = o.logger ?? createLogger('snoopy-devcluster');
  const stateDir = resolve(o.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const started: Stoppable[] = [];
  const apiServer = await startApiServer({ port: o.port, host: o.host, logger: log.child({ part: 'apiserver' }), stateDir });
  started.push(apiServer);
  const kubeconfigPath = kubeconfigPathOf(stateDir);
  writeFileSync(kubeconfigPath, kubeconfigYaml(apiServer.url), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const stopAll = async (): Promise<void> => {
    // Reverse order: kubelets (they stop pods through the API), controllers, API server last.
    for (const s of started.splice(0).reverse()) {
      try { await s.stop(); } catch (e) { log.error({ err: (e as Error).message }, 'stopping a dev cluster part failed'); }
    }
  };
  try {
    if (!o.apiOnly) {
      const controllers = await optionalPart<ControllersModule>('./controllers/index.js', log);
      if (controllers) started.push(await controllers.startControllers({ kubeConfig, logger: log.child({ part: 'controllers' }) }));
      const kubelet = await optionalPart<KubeletModule>('./kubelet/index.js', log);
      if (kubelet) {
        for (const nodeName of o.nodes) {
          started.push(await kubelet.startKubelet({ kubeConfig, nodeName, stateDir, kubeconfigPath, logger: log.child({ part: 'kubelet' }), ...(o.s3Backend ? { s3Backend: o.s3Backend } : {}) }));
        }
      }
      if (o.fakeNodes) {
        const fake = await optionalPart<FakeNodesModule>('./fake-nodes/index.js', log);
        if (!fake) throw new Error('fake nodes asked for, but the fake-nodes part is not built');
        started.push(await fake.startFakeNodes({ kubeConfig, count: o.fakeNodes, logger: log.child({ part: 'fake-nodes' }) }));
      }
    }
  } catch (e) {
    await stopAll();
    throw e;
  }
  log.info({ url: apiServer.url, kubeconfig: kubeconfigPath, nodes: o.nodes, fakeNodes: o.fakeNodes ?? 0 }, 'dev cluster up');
  let stopping: Promise<void> | undefined;
  return {
    url: apiServer.url,
    kubeconfigPath,
    kubeConfig,
    apiServer,
    stop: () => (stopping ??= stopAll()),
  };
}
