// Health probes and metrics over HTTP (express): /healthz (the process serves), /readyz (a
// standby replica, or a leader whose caches are synced), /metrics (Prometheus).
import express from 'express';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(port: number, registry: Registry, status: () => { ready: boolean; leader: boolean }, host = '0.0.0.0'): Promise<ProbeServer> {
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const s = status();
    res.status(s.ready ? 200 : 503).type('text/plain').send(s.ready ? (s.leader ? 'ready (leader)' : 'ready (standby)') : 'not ready');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
