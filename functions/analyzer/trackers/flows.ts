// The flow table: which flow a packet belongs to (a new one when none), later IP fragments
// attributed to their first fragment's flow, and a bounded memory: a full table folds its oldest
// flows (finished first) into the totals, and only the largest retired flows are kept for the
// summary's listing.
import { endpoint } from '../decode/address.js';
import { IpProto, type Decoded } from '../decode/decoded.js';
import { isEchoReply, isEchoRequest } from '../decode/icmp.js';
import { Flow, type FlowProtocol } from '../flow.js';
import { isoFromNs } from '../../../lib/pcap/index.js';
import type { FlowSummary, Summary } from '../../../lib/api/analysis-summary.js';
import { optional, round3, type NamesOf } from './stats.js';

export interface FlowTableOptions {
  maxFlows: number;
  listFlows: number;
  maxTableEntries: number;
}

export class FlowTable {
  private readonly flows = new Map<string, Flow>();
  /** first fragment's flow, so later fragments (no ports) are counted with it */
  private readonly fragmentFlows = new Map<string, Flow>();
  /** flows out of the table, kept for the listing (trimmed to the largest) */
  private readonly retired: Flow[] = [];
  /** flows trimmed from that list */
  private readonly unlisted = { flows: 0, packets: 0, bytes: 0 };
  private flowCount = 0;
  private evicted = 0;
  /** The last TCP/UDP flow looked up: bulk transfers hit it packet after packet (data one way,
   *  ACKs the other), which spares building the key strings. */
  private recent: Flow | undefined;

  constructor(
    private readonly opts: FlowTableOptions,
    /** called once for every flow leaving the table (and for those still in it at the end) */
    private readonly onFinalize: (f: Flow) => void,
  ) {}

  /** The flow of a later fragment (no L4 header), by its first fragment; undefined when unseen. */
  fragmentFlow(d: Decoded): Flow | undefined {
    return this.fragmentFlows.get(`${d.src}|${d.dst}|${d.ipProto}|${d.ipId}`);
  }

  /** Remembers a first fragment's flow for the fragments that follow. */
  rememberFragment(d: Decoded, flow: Flow): void {
    if (this.fragmentFlows.size >= this.opts.maxTableEntries) this.fragmentFlows.clear();
    this.fragmentFlows.set(`${d.src}|${d.dst}|${d.ipProto}|${d.ipId}`, flow);
  }

  /** The flow this packet belongs to, created when new. */
  flowOf(d: Decoded, ns: bigint): Flow {
    const r = this.recent;
    if (r !== undefined && d.hasL4 && r.ipProto === d.ipProto) {
      if (
        (r.clientPort === d.srcPort && r.serverPort === d.dstPort && r.clientIp === d.src && r.serverIp === d.dst) ||
        (r.clientPort === d.dstPort && r.serverPort === d.srcPort && r.clientIp === d.dst && r.serverIp === d.src)
      ) {
        return r;
      }
    }
    const flow = this.lookup(d, ns);
    this.recent = flow.clientPort !== undefined ? flow : undefined;
    return flow;
  }

  private lookup(d: Decoded, ns: bigint): Flow {
    let protocol: FlowProtocol;
    let a: string;
    let b: string;
    let clientPort: number | undefined;
    let serverPort: number | undefined;
    let echo = false;
    const ported = d.hasL4 && (d.ipProto === IpProto.TCP || d.ipProto === IpProto.UDP);
    if (ported) {
      protocol = d.ipProto === IpProto.TCP ? 'tcp' : 'udp';
      a = `${d.src}#${d.srcPort}`;
      b = `${d.dst}#${d.dstPort}`;
      clientPort = d.srcPort;
      serverPort = d.dstPort;
    } else if ((d.ipProto === IpProto.ICMP && d.ipVersion === 4) || (d.ipProto === IpProto.ICMPV6 && d.ipVersion === 6)) {
      protocol = d.ipVersion === 4 ? 'icmp' : 'icmpv6';
      echo = d.hasL4 && (isEchoRequest(d) || isEchoReply(d));
      // echo exchanges are told apart by their identifier, as ping sessions are
      a = echo ? `${d.src}#e${d.icmpId}` : d.src;
      b = echo ? `${d.dst}#e${d.icmpId}` : d.dst;
    } else {
      protocol = 'other';
      a = `${d.src}#p${d.ipProto}`;
      b = `${d.dst}#p${d.ipProto}`;
    }
    const key = `${protocol}|${a}|${b}`;
    let flow = this.flows.get(key);
    if (flow) return flow;
    flow = this.flows.get(`${protocol}|${b}|${a}`);
    if (flow) return flow;
    // New flow: the client is whoever sent this packet, except a SYN-ACK or an echo reply
    // (the opening packet was missed or sent before the capture started).
    let reverse = false;
    if (protocol === 'tcp') {
      const synAck = (d.tcpFlags & 0x12) === 0x12;
      reverse = synAck;
    } else if (echo) reverse = isEchoReply(d);
    if (this.flows.size >= this.opts.maxFlows) this.evict();
    flow = reverse
      ? new Flow(key, protocol, d.ipProto, d.dst, serverPort, d.src, clientPort, ns)
      : new Flow(key, protocol, d.ipProto, d.src, clientPort, d.dst, serverPort, ns);
    if (protocol === 'tcp' && (d.tcpFlags & 0x02) === 0) flow.midstream = true;
    this.flows.set(key, flow);
    return flow;
  }

  /** Folds the oldest tenth of the table into totals, finished flows first. */
  private evict(): void {
    this.recent = undefined;
    // the state is worked out once per flow, not once per comparison
    const all = [...this.flows.values()].map((f) => ({ f, finished: f.finished }));
    all.sort((x, y) =>
      x.finished === y.finished ? (x.f.lastNs < y.f.lastNs ? -1 : x.f.lastNs > y.f.lastNs ? 1 : 0) : x.finished ? -1 : 1,
    );
    const n = Math.max(1, Math.floor(all.length / 10));
    for (let i = 0; i < n; i++) {
      this.evicted++;
      this.retire(all[i]!.f);
    }
  }

  /** Takes a flow out of the table into the totals; it stays a candidate for the summary's list
   *  (the largest by bytes) in a list trimmed to that size, so memory stays bounded. */
  retire(f: Flow): void {
    this.flows.delete(f.key);
    if (this.recent === f) this.recent = undefined;
    this.finalize(f);
    this.retired.push(f);
    if (this.retired.length >= 2 * Math.max(this.opts.listFlows, 100)) this.trimRetired();
  }

  private finalize(f: Flow): void {
    this.flowCount++;
    this.onFinalize(f);
  }

  private trimRetired(): void {
    this.retired.sort(byBytes);
    for (const f of this.retired.splice(this.opts.listFlows)) {
      this.unlisted.flows++;
      this.unlisted.packets += f.packets;
      this.unlisted.bytes += f.bytes;
    }
  }

  /** Ends the analysis: every flow still in the table is finalised. */
  finish(): void {
    for (const f of this.flows.values()) this.finalize(f);
  }

  /** The listing (after `finish`): the largest flows, and what was left out. */
  summarize(namesOf: NamesOf): Pick<Summary, 'flows' | 'flowCount' | 'flowsOmitted'> {
    const listed = [...this.retired, ...this.flows.values()].sort(byBytes);
    const shown = listed.slice(0, this.opts.listFlows);
    const hidden = listed.slice(this.opts.listFlows);
    return {
      flows: shown.map((f) => flowSummary(f, namesOf)),
      flowCount: this.flowCount,
      flowsOmitted: {
        flows: hidden.length + this.unlisted.flows,
        packets: hidden.reduce((n, f) => n + f.packets, 0) + this.unlisted.packets,
        bytes: hidden.reduce((n, f) => n + f.bytes, 0) + this.unlisted.bytes,
        evicted: this.evicted,
      },
    };
  }
}

function flowSummary(f: Flow, namesOf: NamesOf): FlowSummary {
  const out: FlowSummary = {
    protocol: f.protocol,
    client: endpoint(f.clientIp, f.clientPort),
    server: endpoint(f.serverIp, f.serverPort),
    packets: f.packets,
    bytes: f.bytes,
    state: f.state,
    clientPackets: f.clientPackets,
    clientBytes: f.clientBytes,
    serverPackets: f.serverPackets,
    serverBytes: f.serverBytes,
    start: isoFromNs(f.firstNs),
    end: isoFromNs(f.lastNs),
    durationMs: round3(Number(f.lastNs - f.firstNs) / 1e6),
  };
  const names = namesOf(f.serverIp);
  if (names) out.serverNames = [...names];
  if (f.protocol === 'other') out.ipProtocol = f.ipProto;
  if (f.protocol === 'tcp') {
    const rtt = f.handshakeRttNs;
    out.tcp = {
      synSent: f.synCount,
      ...optional('handshakeRttMs', rtt === undefined ? undefined : round3(Number(rtt) / 1e6)),
      handshakeCompleted: f.handshakeAcked,
      midstream: f.midstream,
      retransmissions: f.retransmissions,
      dataPackets: f.c.dataPackets + f.s.dataPackets,
      resets: f.resets,
      ...optional('rstFrom', f.firstRstFrom === '' ? undefined : f.firstRstFrom),
      finFromClient: f.c.fin,
      finFromServer: f.s.fin,
    };
  }
  if (f.protocol === 'icmp' || f.protocol === 'icmpv6') out.icmp = { echoRequests: f.echoRequests, echoReplies: f.echoReplies };
  return out;
}

/** Largest first; among equals, the earlier first. */
function byBytes(x: Flow, y: Flow): number {
  return y.bytes - x.bytes || (x.firstNs < y.firstNs ? -1 : x.firstNs > y.firstNs ? 1 : 0);
}
