// Tests' CloudEvents destination: a loopback HTTP server that records every request it accepts
// (headers, and the body parsed as JSON when there is one). The first `failFirst` requests are
// answered 500, to exercise a sender's retries.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedEvent {
  headers: Record<string, string>;
  body: unknown;
}

export interface RecordingSink {
  url: string;
  /** the requests answered 2xx, in arrival order */
  events: RecordedEvent[];
  /** every request, the refused ones included */
  attempts(): number;
  close(): Promise<void>;
}

export async function startRecordingSink(opts: { failFirst?: number } = {}): Promise<RecordingSink> {
  const events: RecordedEvent[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts++;
      if (attempts <= (opts.failFirst ?? 0)) {
        res.writeHead(500).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      events.push({ headers: req.headers as Record<string, string>, body: text ? (JSON.parse(text) as unknown) : undefined });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    events,
    attempts: () => attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
