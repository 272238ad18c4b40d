// A loopback HTTP proxy in front of the dev cluster's API server, one per operator instance: it
// records every write that instance makes together with the resourceVersion the API server gave
// it (one global counter, so resourceVersions order writes of all clients as the server
// committed them), and can hold chosen requests back to make a reconcile slow on purpose.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigYaml } from '../../infra/devcluster/harness.js';

export interface RecordedWrite {
  method: string;
  path: string;
  status: number;
  /** metadata.resourceVersion of the object in the answer (undefined when it had none). */
  rv: number | undefined;
}

export interface ApiProxy {
  url: string;
  kc: KubeConfig;
  /** Successful (2xx) writes, in the order their answers arrived. */
  writes: RecordedWrite[];
  /** Requests currently held back. */
  readonly held: number;
  /** Holds requests for which `match` is true until release() (or stop()). */
  hold(match: (method: string, path: string) => boolean): void;
  release(): void;
  stop(): Promise<void>;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function startApiProxy(target: string): Promise<ApiProxy> {
  const upstream = new URL(target);
  const writes: RecordedWrite[] = [];
  let match: ((method: string, path: string) => boolean) | undefined;
  let waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!WRITES.has(req.method ?? '')) {
          res.flushHeaders(); // a watch's answer starts before its first event
          answer.pipe(res); // reads and watches stream through
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const text = Buffer.concat(chunks);
          const status = answer.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            let rv: number | undefined;
            try {
              const v = (JSON.parse(text.toString('utf8')) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
              rv = v === undefined ? undefined : Number(v);
            } catch {
              // not JSON: no resourceVersion
            }
            writes.push({ method: req.method!, path: req.url ?? '', status, rv });
          }
          res.end(text);
        });
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    up.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (match?.(req.method ?? '', req.url ?? '')) waiting.push(() => forward(req, res, body));
      else forward(req, res, body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(url));

  const release = () => {
    match = undefined;
    for (const go of waiting.splice(0)) go();
  };
  return {
    url,
    kc,
    writes,
    get held() {
      return waiting.length;
    },
    hold(m) {
      match = m;
    },
    release,
    async stop() {
      release();
      waiting = [];
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
