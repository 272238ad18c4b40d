// A local CloudEvents receiver standing in for the Knative Broker: accepts binary- and
// structured-mode events over HTTP (express + the CloudEvents SDK) and keeps them for the report.
import type { Server } from 'node:http';
import { HTTP, type CloudEvent } from 'cloudevents';
import express from 'express';

export interface ReceivedEvent {
  type: string;
  source: string;
  subject?: string;
  time?: string;
  data: unknown;
}

export interface EventReceiver {
  url: string;
  events: ReceivedEvent[];
  /** events refused as not CloudEvents (counted, so a broken sender shows in the report) */
  rejected: number;
  close(): Promise<void>;
}

export async function startEventReceiver(host: string, port = 0): Promise<EventReceiver> {
  const events: ReceivedEvent[] = [];
  const state = { rejected: 0 };
  const app = express();
  app.use(express.text({ type: () => true, limit: '4mb' }));
  app.post('/', (req, res) => {
    try {
      const body = typeof req.body === 'string' ? req.body : '';
      const received = HTTP.toEvent({ headers: req.headers as Record<string, string>, body });
      for (const ce of (Array.isArray(received) ? received : [received]) as CloudEvent<unknown>[]) {
        events.push({ type: ce.type, source: ce.source, ...(ce.subject ? { subject: ce.subject } : {}), ...(ce.time ? { time: ce.time } : {}), data: ce.data });
      }
      res.status(202).end();
    } catch (err) {
      state.rejected++;
      res.status(400).type('text/plain').send(`not a CloudEvent: ${(err as Error).message}`);
    }
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host}:${actualPort}/`,
    events,
    get rejected() {
      return state.rejected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
