// Top talkers: packets and bytes per address, summed over the flows it took part in (either side).
import type { Flow } from '../flow.js';
import type { TalkerSummary } from '../../../lib/api/analysis-summary.js';
import { bump, optional, type NamesOf } from './stats.js';

interface TalkerCounts {
  packets: number;
  sentBytes: number;
  receivedBytes: number;
}

const newTalker = (): TalkerCounts => ({ packets: 0, sentBytes: 0, receivedBytes: 0 });

export class TalkerTracker {
  private readonly talkers = new Map<string, TalkerCounts>();

  constructor(
    private readonly maxTableEntries: number,
    private readonly topN: number,
  ) {}

  /** A flow (any protocol) leaving the table. */
  finalize(f: Flow): void {
    const client = bump(this.talkers, f.clientIp, this.maxTableEntries, newTalker);
    client.packets += f.packets;
    client.sentBytes += f.clientBytes;
    client.receivedBytes += f.serverBytes;
    if (f.serverIp !== f.clientIp) {
      const server = bump(this.talkers, f.serverIp, this.maxTableEntries, newTalker);
      server.packets += f.packets;
      server.sentBytes += f.serverBytes;
      server.receivedBytes += f.clientBytes;
    }
  }

  summarize(namesOf: NamesOf): TalkerSummary[] {
    return [...this.talkers.entries()]
      .map(([ip, c]) => ({
        ip,
        ...optional('names', namesOf(ip)),
        packets: c.packets,
        bytes: c.sentBytes + c.receivedBytes,
        sentBytes: c.sentBytes,
        receivedBytes: c.receivedBytes,
      }))
      .sort((x, y) => y.bytes - x.bytes || x.ip.localeCompare(y.ip))
      .slice(0, this.topN);
  }
}
