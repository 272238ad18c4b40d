// The dev cluster's Kubernetes API server: an in-memory store behind the Kubernetes REST API.
// RBAC objects are stored and served but not enforced: every request is allowed.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../../lib/log.js';
import { Registry } from './registry.js';
import { createApp } from './server.js';
import { WatchHub } from './watch.js';

export interface ApiServerOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /** Where the kubelet writes container logs (pods/log); see ../paths.ts. */
  stateDir?: string;
  /** Changes kept per resource for watches that resume from a resourceVersion (older ⇒ 410 Gone). */
  watchHistoryLimit?: number;
  bookmarkIntervalMs?: number;
}

export interface ApiServer {
  url: string;
  port: number;
  registry: Registry;
  /** Drops the watch history of every resource, as an etcd compaction does. */
  compact(): void;
  /** Ends every open watch stream, as an API server restart would; clients re-watch from their resourceVersion. */
  disconnectWatches(): void;
  stop(): Promise<void>;
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const log = opts.logger ?? createLogger('devcluster-apiserver');
  const host = opts.host ?? '127.0.0.1';
  const registry = new Registry(log, opts.watchHistoryLimit ?? 20000);
  const watches = new WatchHub(registry, { bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 15000, maxBufferedBytes: 64 * 1024 * 1024 });
  registry.onResourceRemoved = (def) => watches.closeTable(registry.store.table(def.key));
  registry.bootstrap();
  let address = '';
  const { app } = createApp({ registry, watches, log, stateDir: opts.stateDir, serverAddress: () => address });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  // Watches and log follows are long-lived: no request timeout, keep-alive for informers.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65000;
  const port = (server.address() as AddressInfo).port;
  address = `${host}:${port}`;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url }, 'API server listening');
  let stopped = false;
  return {
    url,
    port,
    registry,
    compact: () => registry.compactHistory(),
    disconnectWatches: () => watches.closeAll(),
    async stop() {
      if (stopped) return;
      stopped = true;
      watches.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      log.info('API server stopped');
    },
  };
}
