// A loopback HTTP proxy in front of a real S3 server that can hold chosen requests until the test
// releases them, so a test decides in which order storage requests and a client's cancellation
// happen. It records when each request arrived and when its answer was complete.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GateRecord {
  method: string;
  /** Path and query as sent, e.g. "/bucket/key?tagging". */
  url: string;
  /** Order numbers: every arrival and every completed answer takes the next number. */
  arrived: number;
  answered?: number;
  status?: number;
}

export type GateMatch = (method: string, url: string) => boolean;

interface Hold {
  match: GateMatch;
  arrived: (r: GateRecord) => void;
  release: Promise<void>;
}

export class S3Gate {
  readonly log: GateRecord[] = [];
  private clock = 0;
  private holds: Hold[] = [];
  private server: Server | undefined;
  private closing!: () => void;
  /** Lets held requests go when the gate closes, so a failed test cannot leave one hanging. */
  private readonly closed = new Promise<void>((r) => (this.closing = r));

  constructor(private readonly target: URL) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Holds the next request that matches until `release()` is called; `arrived` resolves when it
   * comes in (it has not reached the server then).
   */
  hold(match: GateMatch): { arrived: Promise<GateRecord>; release: () => void } {
    let release!: () => void;
    let arrived!: (r: GateRecord) => void;
    const released = new Promise<void>((r) => (release = r));
    const seen = new Promise<GateRecord>((r) => (arrived = r));
    this.holds.push({ match, arrived, release: released });
    return { arrived: seen, release };
  }

  private async forward(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const rec: GateRecord = { method: req.method ?? '', url: req.url ?? '', arrived: ++this.clock };
    this.log.push(rec);
    const i = this.holds.findIndex((h) => h.match(rec.method, rec.url));
    if (i >= 0) {
      const [hold] = this.holds.splice(i, 1);
      hold!.arrived(rec);
      req.pause();
      await Promise.race([hold!.release, this.closed]);
    }
    const upstream = httpRequest(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', () => {
          rec.status = up.statusCode;
          rec.answered = ++this.clock;
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    for (const h of this.holds) h.arrived({ method: '', url: '', arrived: -1 });
    this.holds = [];
    this.closing();
    await new Promise<void>((r) => {
      this.server?.close(() => r());
      this.server?.closeAllConnections();
    });
  }
}
