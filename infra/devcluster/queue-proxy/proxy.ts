// The dev cluster's stand-in for Knative's queue-proxy: the sidecar in every Knative Service pod.
// Like queue-proxy it holds its ports in the pod's network namespace (8012 serving, 8013, 8022
// admin, 9090 and 9091 metrics; a user container binding one of them fails), serves the pod on
// 8012 — HTTP/2 cleartext with prior knowledge for an h2c (gRPC) port, HTTP/1.1 otherwise —
// forwarding to the user container on localhost, and enforces the revision's timeouts per
// request as queue-proxy's timeout handler does:
// - timeoutSeconds: the whole request, from its start;
// - responseStartTimeoutSeconds: from the request's start until the app's first response byte
//   (response headers count);
// - idleTimeoutSeconds (0: none): from the request's start, restarted by every write of the app;
//   bytes from the client do not restart it.
// A request timed out before its response started is answered 504; after, the stream is reset.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Logger } from '../../../lib/log.js';
import { QUEUE_PROXY_PORTS } from '../../../lib/knative-serving.js';

export interface QueueProxyTimeouts {
  timeoutSeconds: number;
  responseStartTimeoutSeconds: number;
  /** 0: no idle limit */
  idleTimeoutSeconds: number;
}

export interface QueueProxyOptions {
  /** the user container's port on localhost */
  userPort: number;
  protocol: 'h2c' | 'http1';
  timeouts: QueueProxyTimeouts;
  /** address to listen on (default 0.0.0.0) */
  host?: string;
  /** default 8012; tests use 0 (any free port) */
  servingPort?: number;
  /** ports held without serving anything of interest (default 8013, 8022, 9090, 9091) */
  heldPorts?: number[];
  log: Logger;
}

export interface QueueProxy {
  port: number;
  /** what ended each request early, for logs and tests */
  readonly timeouts: { total: number; responseStart: number; idle: number };
  close(): Promise<void>;
}

type Which = 'total' | 'responseStart' | 'idle';

/** The three timers of one request; `fire` is called at most once, with the first to expire. */
class RequestTimers {
  private readonly timers = new Map<Which, NodeJS.Timeout>();
  private done = false;
  constructor(
    private readonly t: QueueProxyTimeouts,
    private readonly fire: (which: Which) => void,
  ) {
    this.arm('total', t.timeoutSeconds);
    this.arm('responseStart', t.responseStartTimeoutSeconds);
    this.arm('idle', t.idleTimeoutSeconds);
  }
  private arm(which: Which, seconds: number): void {
    if (seconds <= 0 || this.done) return;
    const old = this.timers.get(which);
    if (old) clearTimeout(old);
    this.timers.set(
      which,
      setTimeout(() => {
        if (this.done) return;
        this.stop();
        this.fire(which);
      }, seconds * 1000),
    );
  }
  /** The app wrote something: the response has started, the idle clock restarts. */
  appWrote(): void {
    const start = this.timers.get('responseStart');
    if (start) clearTimeout(start);
    this.timers.delete('responseStart');
    this.arm('idle', this.t.idleTimeoutSeconds);
  }
  stop(): void {
    this.done = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

function forwardable(h: http2.IncomingHttpHeaders | http.IncomingHttpHeaders, keepTe = false): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k.startsWith(':')) continue;
    if (HOP_BY_HOP.has(k) && !(keepTe && k === 'te')) continue;
    out[k] = v as string | string[];
  }
  return out;
}

const message = (which: Which, t: QueueProxyTimeouts) =>
  which === 'total'
    ? `request timeout: ${t.timeoutSeconds} s (timeoutSeconds)`
    : which === 'responseStart'
      ? `no response started within ${t.responseStartTimeoutSeconds} s (responseStartTimeoutSeconds)`
      : `no bytes from the app for ${t.idleTimeoutSeconds} s (idleTimeoutSeconds)`;

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export async function startQueueProxy(o: QueueProxyOptions): Promise<QueueProxy> {
  const host = o.host ?? '0.0.0.0';
  const counts = { total: 0, responseStart: 0, idle: 0 };
  const held: net.Server[] = [];
  const closeAll = async (servers: net.Server[]) => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  // Hold the reserved ports first, as queue-proxy does when it starts: a user container that
  // binds one of them later fails with EADDRINUSE; one that bound it earlier makes this fail.
  try {
    for (const port of o.heldPorts ?? [QUEUE_PROXY_PORTS.h2c, QUEUE_PROXY_PORTS.admin, QUEUE_PROXY_PORTS.metrics, QUEUE_PROXY_PORTS.userMetrics]) {
      const s = net.createServer((sock) => sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
      await listen(s, port, host);
      held.push(s);
    }
  } catch (err) {
    await closeAll(held);
    throw new Error(`queue-proxy cannot hold its port: ${(err as Error).message}`, { cause: err });
  }

  const timedOut = (which: Which) => {
    counts[which]++;
    o.log.warn({ which }, message(which, o.timeouts));
  };

  let server: net.Server;
  let upstream: http2.ClientHttp2Session | undefined;
  const session = (): http2.ClientHttp2Session => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      const s = http2.connect(`http://127.0.0.1:${o.userPort}`);
      s.on('error', (err: Error) => o.log.debug({ err: err.message }, 'upstream session error'));
      s.on('close', () => {
        if (upstream === s) upstream = undefined;
      });
      upstream = s;
    }
    return upstream;
  };

  const sessions = new Set<http2.ServerHttp2Session>();
  if (o.protocol === 'h2c') {
    const h2 = http2.createServer();
    h2.on('session', (s) => {
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    h2.on('stream', (stream, headers) => {
      let responded = false;
      let up: http2.ClientHttp2Stream | undefined;
      const timers = new RequestTimers(o.timeouts, (which) => {
        timedOut(which);
        up?.close(http2.constants.NGHTTP2_CANCEL);
        if (stream.destroyed || stream.closed) return;
        if (!responded) {
          responded = true;
          stream.respond({ ':status': 504, 'content-type': 'text/plain' });
          stream.end(message(which, o.timeouts));
        } else {
          stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        }
      });
      try {
        up = session().request({ ...forwardable(headers, true), ':method': headers[':method'], ':path': headers[':path'], ':scheme': 'http', ':authority': headers[':authority'] ?? 'localhost' });
      } catch (err) {
        timers.stop();
        stream.respond({ ':status': 502 });
        stream.end(`queue-proxy: ${(err as Error).message}`);
        return;
      }
      const u = up;
      let trailers: http2.IncomingHttpHeaders | undefined;
      u.on('response', (h, flags) => {
        timers.appWrote();
        if (responded || stream.destroyed) return;
        responded = true;
        const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        stream.respond({ ...forwardable(h), ':status': h[':status'] ?? 200 }, endStream ? { endStream: true } : { waitForTrailers: true });
        if (endStream) timers.stop();
      });
      u.on('data', () => timers.appWrote());
      u.on('trailers', (t: http2.IncomingHttpHeaders) => {
        timers.appWrote();
        trailers = t;
      });
      stream.on('wantTrailers', () => {
        if (trailers) stream.sendTrailers(forwardable(trailers));
        else stream.close();
      });
      u.on('end', () => timers.stop());
      u.pipe(stream);
      stream.pipe(u);
      u.on('error', (err: Error) => {
        timers.stop();
        o.log.debug({ err: err.message }, 'upstream stream error');
        if (stream.destroyed || stream.closed) return;
        if (!responded) {
          responded = true;
          stream.respond({ ':status': 502 });
          stream.end(`queue-proxy: ${err.message}`);
        } else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      stream.on('error', () => undefined);
      stream.on('close', () => {
        timers.stop();
        if (!u.closed) u.close(http2.constants.NGHTTP2_CANCEL);
      });
    });
    server = h2;
  } else {
    server = http.createServer((req, res) => {
      let up: http.ClientRequest | undefined;
      const timers = new RequestTimers(o.timeouts, (which) => {
        timedOut(which);
        up?.destroy();
        if (!res.headersSent) {
          res.writeHead(504, { 'content-type': 'text/plain' });
          res.end(message(which, o.timeouts));
        } else res.destroy();
      });
      up = http.request({ host: '127.0.0.1', port: o.userPort, method: req.method, path: req.url, headers: forwardable(req.headers) }, (ur) => {
        timers.appWrote();
        res.writeHead(ur.statusCode ?? 502, forwardable(ur.headers));
        ur.on('data', () => timers.appWrote());
        ur.on('end', () => timers.stop());
        ur.pipe(res);
      });
      up.on('error', (err) => {
        timers.stop();
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`queue-proxy: ${err.message}`);
        } else res.destroy();
      });
      res.on('close', () => {
        timers.stop();
        up?.destroy();
      });
      req.pipe(up);
    });
  }
  let port: number;
  try {
    port = await listen(server, o.servingPort ?? QUEUE_PROXY_PORTS.http, host);
  } catch (err) {
    await closeAll(held);
    throw new Error(`queue-proxy cannot listen: ${(err as Error).message}`, { cause: err });
  }
  return {
    port,
    timeouts: counts,
    async close() {
      upstream?.close();
      upstream?.destroy();
      if (server instanceof http.Server) server.closeAllConnections();
      for (const s of sessions) s.destroy();
      await closeAll([server, ...held]);
    },
  };
}
