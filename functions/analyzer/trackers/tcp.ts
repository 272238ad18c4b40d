// TCP: each packet goes to its flow's connection state (flow.ts); each flow leaving the table is
// folded into the totals — outcomes, retransmissions, handshake RTT, and per-destination attempts.
import { endpoint } from '../decode/address.js';
import type { Decoded } from '../decode/decoded.js';
import type { Flow } from '../flow.js';
import type { DestinationSummary, Summary } from '../../../lib/api/analysis-summary.js';
import { bump, optional, round4, Rtt, type NamesOf } from './stats.js';

interface DestinationCounts {
  ip: string;
  attempted: number;
  established: number;
  refused: number;
  unanswered: number;
}

export class TcpTracker {
  private flows = 0;
  private attempted = 0;
  private established = 0;
  private refused = 0;
  private unanswered = 0;
  private closed = 0;
  private reset = 0;
  private midstream = 0;
  private retransmissions = 0;
  /** segments with payload (as each flow's `dataPackets`), and SYNs sent */
  private dataPackets = 0;
  private syns = 0;
  private resets = 0;
  private readonly handshakeRtt = new Rtt();
  private readonly destinations = new Map<string, DestinationCounts>();

  constructor(
    private readonly maxTableEntries: number,
    private readonly topN: number,
  ) {}

  /** True for a retransmitted segment. */
  observe(flow: Flow, fromClient: boolean, d: Decoded, ns: number): boolean {
    return flow.tcp(fromClient, d, ns);
  }

  /** A TCP flow leaving the table. */
  finalize(f: Flow): void {
    this.flows++;
    this.retransmissions += f.retransmissions;
    this.dataPackets += f.dataPackets;
    this.syns += f.synCount;
    this.resets += f.resets;
    const state = f.state;
    if (state === 'closed') this.closed++;
    if (state === 'reset') this.reset++;
    if (f.midstream) this.midstream++;
    const rtt = f.handshakeRttNs;
    if (rtt !== undefined) this.handshakeRtt.add(rtt);
    if (!f.attempted) return;
    this.attempted++;
    const dest = bump(this.destinations, endpoint(f.serverIp, f.serverPort), this.maxTableEntries, () => ({
      ip: f.serverIp,
      attempted: 0,
      established: 0,
      refused: 0,
      unanswered: 0,
    }));
    dest.attempted++;
    if (f.handshake) {
      this.established++;
      dest.established++;
    } else if (state === 'refused') {
      this.refused++;
      dest.refused++;
    } else {
      this.unanswered++;
      dest.unanswered++;
    }
  }

  get successRate(): number | undefined {
    return this.attempted > 0 ? round4(this.established / this.attempted) : undefined;
  }

  get retransmissionRate(): number | undefined {
    // SYNs are segments that can be retransmitted too (a repeated SYN counts as a retransmission)
    const segments = this.dataPackets + this.syns;
    return segments > 0 ? round4(this.retransmissions / segments) : undefined;
  }

  summarize(): Summary['tcp'] {
    return {
      flows: this.flows,
      attempted: this.attempted,
      established: this.established,
      refused: this.refused,
      unanswered: this.unanswered,
      closed: this.closed,
      reset: this.reset,
      midstream: this.midstream,
      ...optional('successRate', this.successRate),
      retransmissions: this.retransmissions,
      dataPackets: this.dataPackets,
      ...optional('retransmissionRate', this.retransmissionRate),
      resets: this.resets,
      handshakeRtt: this.handshakeRtt.stats(),
    };
  }

  /** The headline's destinations: the most attempted first, the least successful among equals. */
  summarizeDestinations(namesOf: NamesOf): DestinationSummary[] {
    return [...this.destinations.entries()]
      .map(([destination, c]) => ({
        destination,
        ...optional('names', destination === 'other' ? undefined : namesOf(c.ip)),
        attempted: c.attempted,
        established: c.established,
        refused: c.refused,
        unanswered: c.unanswered,
        successRate: round4(c.established / c.attempted),
      }))
      .sort((x, y) => y.attempted - x.attempted || x.successRate - y.successRate || x.destination.localeCompare(y.destination))
      .slice(0, this.topN);
  }
}
