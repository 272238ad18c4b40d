// The flow analysis: packets in (in capture order), a Summary out. Memory is bounded whatever the
// capture's size: the flow table, the DNS and ICMP transaction tables, the per-destination,
// per-talker and per-name tables all have caps; what overflows is folded into totals.
import type { Packet, ReadResult } from '../../lib/pcap/index.js';
import { isoFromNs } from '../../lib/pcap/index.js';
import { endpoint } from './decode/address.js';
import { Decoded, IpProto } from './decode/decoded.js';
import { parseDns, rcodeName } from './decode/dns.js';
import { isEchoReply, isEchoRequest, isUnreachable } from './decode/icmp.js';
import { decodeFrame } from './decode/packet.js';
import { Flow, type FlowProtocol } from './flow.js';
import type { DestinationSummary, FlowSummary, RateStats, Summary, TalkerSummary } from '../../lib/api/analysis-summary.js';
import { SUMMARY_VERSION } from '../../lib/api/analysis-summary.js';

export interface AnalyzerOptions {
  /** flows kept in memory at once; beyond this the oldest (finished first) are folded into totals */
  maxFlows?: number;
  /** flows listed in the summary (the largest by bytes) */
  listFlows?: number;
  /** destinations and talkers listed in the headline */
  topN?: number;
  /** cap for the destination, talker, DNS-name and transaction tables */
  maxTableEntries?: number;
}

const DNS_PORT = 53;
const MAX_DECODE_PROBLEM_KINDS = 20;
const MAX_NAMES_PER_ADDRESS = 4;

class Rtt {
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;
  add(ns: bigint): void {
    const ms = Number(ns) / 1e6;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  stats(): RateStats {
    if (this.count === 0) return { count: 0 };
    return { count: this.count, minMs: round3(this.min), avgMs: round3(this.sum / this.count), maxMs: round3(this.max) };
  }
}

interface DestinationCounts {
  ip: string;
  attempted: number;
  established: number;
  refused: number;
  unanswered: number;
}

interface TalkerCounts {
  packets: number;
  sentBytes: number;
  receivedBytes: number;
}

interface DnsName {
  queries: number;
  answered: number;
  failed: number;
  rcodes: Record<string, number>;
  addresses: Set<string>;
}

/** Adds to a counter map with a cap on distinct keys; the overflow lands under `other`. */
function bump<T>(map: Map<string, T>, key: string, max: number, make: () => T): T {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= max) key = 'other';
    v = map.get(key);
    if (v === undefined) {
      v = make();
      map.set(key, v);
    }
  }
  return v;
}

export class Analyzer {
  private readonly d = new Decoded();
  private readonly flows = new Map<string, Flow>();
  private readonly opts: Required<AnalyzerOptions>;
  private packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private firstNs = -1n;
  private lastNs = -1n;
  private readonly linkTypes = new Map<number, number>();
  private nonIp = 0;
  private v4 = 0;
  private v6 = 0;
  private fragments = 0;
  private laterFragments = 0;
  private unattributedFragments = 0;
  /** first fragment's flow, so later fragments (no ports) are counted with it */
  private readonly fragmentFlows = new Map<string, Flow>();
  private readonly decodeProblems = new Map<string, number>();
  private readonly errors: string[] = [];
  private format: 'pcap' | 'pcapng' | undefined;
  private truncated = false;
  // totals of flows that left the table (evicted or finalised at the end)
  private readonly done = {
    tcpFlows: 0,
    attempted: 0,
    established: 0,
    refused: 0,
    unanswered: 0,
    closed: 0,
    reset: 0,
    midstream: 0,
    retransmissions: 0,
    dataPackets: 0,
    resets: 0,
    udpFlows: 0,
    udpPackets: 0,
    udpBytes: 0,
    evicted: 0,
    flowCount: 0,
  };
  /** flows out of the table, kept for the listing (trimmed to the largest) */
  private readonly retired: Flow[] = [];
  /** flows trimmed from that list */
  private readonly unlisted = { flows: 0, packets: 0, bytes: 0 };
  private readonly handshakeRtt = new Rtt();
  private readonly destinations = new Map<string, DestinationCounts>();
  private readonly talkers = new Map<string, TalkerCounts>();
  // DNS
  private readonly dnsPending = new Map<string, { ns: bigint; qname: string }>();
  private dnsQueries = 0;
  private dnsResponses = 0;
  private dnsAnswered = 0;
  private dnsFailed = 0;
  private dnsUnmatched = 0;
  private dnsExpired = 0;
  private readonly dnsRcodes = new Map<string, number>();
  private readonly dnsLatency = new Rtt();
  private readonly dnsNames = new Map<string, DnsName>();
  private readonly addressNames = new Map<string, string[]>();
  // ICMP
  private readonly echoPending = new Map<string, bigint>();
  private echoRequests = 0;
  private echoReplies = 0;
  private echoAnswered = 0;
  private echoExpired = 0;
  private unreachable = 0;
  private readonly icmpTypes = new Map<string, number>();
  private readonly echoRtt = new Rtt();

  constructor(opts: AnalyzerOptions = {}) {
    this.opts = {
      maxFlows: opts.maxFlows ?? 50_000,
      listFlows: opts.listFlows ?? 1000,
      topN: opts.topN ?? 10,
      maxTableEntries: opts.maxTableEntries ?? 10_000,
    };
    if (this.opts.maxFlows < 10) throw new Error('maxFlows must be at least 10');
  }

  /** The reader's per-packet callback. A decoding bug must not lose the rest of the capture:
   *  it is noted as a decode problem and the next packet goes on. */
  readonly packet = (p: Packet): void => {
    try {
      this.onPacket(p);
    } catch (err) {
      this.problem(`decoder error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  private onPacket(p: Packet): void {
    this.packets++;
    const wire = p.originalLength;
    this.bytes += wire;
    this.capturedBytes += p.capturedLength;
    const ns = p.timestampNs;
    if (!p.timestampUnknown) {
      if (this.firstNs < 0n || ns < this.firstNs) this.firstNs = ns;
      if (ns > this.lastNs) this.lastNs = ns;
    }
    if (p.linkType === this.lastLinkType) this.lastLinkTypeCount++;
    else this.countLinkType(p.linkType);
    const d = this.d;
    decodeFrame(p.linkType, p.data, d);
    if (d.problem !== '') this.problem(d.problem);
    if (d.ipVersion === 0) {
      this.nonIp++;
      return;
    }
    if (d.ipVersion === 4) this.v4++;
    else this.v6++;
    if (d.fragment) this.fragments++;
    if (d.laterFragment) {
      this.laterFragments++;
      const flow = this.fragmentFlows.get(`${d.src}|${d.dst}|${d.ipProto}|${d.ipId}`);
      if (flow) flow.count(flow.clientIp === d.src, wire, ns);
      else this.unattributedFragments++;
      return;
    }
    let flow = this.flowOf(d, ns);
    if (d.ipProto === IpProto.TCP && d.hasL4 && (d.tcpFlags & 0x12) === 0x02 && flow.isReopenedBy(d.tcpSeq)) {
      // a new connection on a reused port: the old one is done
      this.retire(flow);
      flow = this.flowOf(d, ns);
    }
    // On one host (loopback) the address does not tell the sides apart; the port (or the echo type) does.
    const fromClient =
      flow.clientIp !== flow.serverIp
        ? d.src === flow.clientIp
        : flow.clientPort !== undefined
          ? d.srcPort === flow.clientPort
          : !(d.hasL4 && isEchoReply(d));
    flow.count(fromClient, wire, ns);
    if (d.fragment) {
      if (this.fragmentFlows.size >= this.opts.maxTableEntries) this.fragmentFlows.clear();
      this.fragmentFlows.set(`${d.src}|${d.dst}|${d.ipProto}|${d.ipId}`, flow);
    }
    if (!d.hasL4) return;
    if (d.ipProto === IpProto.TCP) flow.tcp(fromClient, d, ns);
    else if (d.ipProto === IpProto.UDP) {
      if ((d.srcPort === DNS_PORT || d.dstPort === DNS_PORT) && d.capturedPayload > 0) this.dns(p.data, d, ns);
    } else this.icmp(flow, d, ns);
  }

  /** The reader's result: file-level errors and truncation. */
  readResult(r: ReadResult, source?: string): void {
    if (r.format && !this.format) this.format = r.format;
    if (r.truncated) this.truncated = true;
    for (const e of r.errors) this.error(source ? `${source}: ${e}` : e);
  }

  error(message: string): void {
    if (this.errors.length < 50) this.errors.push(message);
  }

  /** Packets of the current link type are counted in a plain field; the Map gets them on a change. */
  private lastLinkType = -1;
  private lastLinkTypeCount = 0;

  private countLinkType(linkType: number): void {
    this.flushLinkType();
    this.lastLinkType = linkType;
    this.lastLinkTypeCount = 1;
  }

  private flushLinkType(): void {
    if (this.lastLinkType >= 0) this.linkTypes.set(this.lastLinkType, (this.linkTypes.get(this.lastLinkType) ?? 0) + this.lastLinkTypeCount);
    this.lastLinkTypeCount = 0;
  }

  private problem(message: string): void {
    const n = this.decodeProblems.get(message);
    if (n !== undefined) this.decodeProblems.set(message, n + 1);
    else if (this.decodeProblems.size < MAX_DECODE_PROBLEM_KINDS) this.decodeProblems.set(message, 1);
  }

  /** The last TCP/UDP flow looked up: bulk transfers hit it packet after packet (data one way,
   *  ACKs the other), which spares building the key strings. */
  private recent: Flow | undefined;

  private flowOf(d: Decoded, ns: bigint): Flow {
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
      this.done.evicted++;
      this.retire(all[i]!.f);
    }
  }

  /** Takes a flow out of the table into the totals; it stays a candidate for the summary's list
   *  (the largest by bytes) in a list trimmed to that size, so memory stays bounded. */
  private retire(f: Flow): void {
    this.flows.delete(f.key);
    if (this.recent === f) this.recent = undefined;
    this.finalize(f);
    this.retired.push(f);
    if (this.retired.length >= 2 * Math.max(this.opts.listFlows, 100)) this.trimRetired();
  }

  private trimRetired(): void {
    this.retired.sort(byBytes);
    for (const f of this.retired.splice(this.opts.listFlows)) {
      this.unlisted.flows++;
      this.unlisted.packets += f.packets;
      this.unlisted.bytes += f.bytes;
    }
  }

  /** Adds a flow that leaves the table to every total it contributes to. */
  private finalize(f: Flow): void {
    const t = this.done;
    t.flowCount++;
    const max = this.opts.maxTableEntries;
    const client = bump(this.talkers, f.clientIp, max, () => ({ packets: 0, sentBytes: 0, receivedBytes: 0 }));
    client.packets += f.packets;
    client.sentBytes += f.clientBytes;
    client.receivedBytes += f.serverBytes;
    if (f.serverIp !== f.clientIp) {
      const server = bump(this.talkers, f.serverIp, max, () => ({ packets: 0, sentBytes: 0, receivedBytes: 0 }));
      server.packets += f.packets;
      server.sentBytes += f.serverBytes;
      server.receivedBytes += f.clientBytes;
    }
    if (f.protocol === 'udp') {
      t.udpFlows++;
      t.udpPackets += f.packets;
      t.udpBytes += f.bytes;
      return;
    }
    if (f.protocol !== 'tcp') return;
    t.tcpFlows++;
    t.retransmissions += f.retransmissions;
    t.dataPackets += f.c.dataPackets + f.s.dataPackets + f.synCount;
    t.resets += f.resets;
    const state = f.state;
    if (state === 'closed') t.closed++;
    if (state === 'reset') t.reset++;
    if (f.midstream) t.midstream++;
    const rtt = f.handshakeRttNs;
    if (rtt !== undefined) this.handshakeRtt.add(rtt);
    if (!f.attempted) return;
    t.attempted++;
    const dest = bump(this.destinations, endpoint(f.serverIp, f.serverPort), max, () => ({
      ip: f.serverIp,
      attempted: 0,
      established: 0,
      refused: 0,
      unanswered: 0,
    }));
    dest.attempted++;
    if (f.handshake) {
      t.established++;
      dest.established++;
    } else if (state === 'refused') {
      t.refused++;
      dest.refused++;
    } else {
      t.unanswered++;
      dest.unanswered++;
    }
  }

  private dns(frame: Buffer, d: Decoded, ns: bigint): void {
    const msg = parseDns(frame, d.payloadOffset, d.capturedPayload);
    if (!msg) {
      this.problem('undecodable DNS message');
      return;
    }
    const max = this.opts.maxTableEntries;
    if (!msg.response) {
      this.dnsQueries++;
      const key = `${d.src}|${d.srcPort}|${d.dst}|${msg.id}`;
      const qname = msg.qname ?? '';
      bump(this.dnsNames, qname, max, newDnsName).queries++;
      if (this.dnsPending.has(key)) return; // a repeated query keeps the first one's time
      if (this.dnsPending.size >= max) this.expireOldest(this.dnsPending, () => this.dnsExpired++);
      this.dnsPending.set(key, { ns, qname });
      return;
    }
    this.dnsResponses++;
    const rc = rcodeName(msg.rcode);
    this.dnsRcodes.set(rc, (this.dnsRcodes.get(rc) ?? 0) + 1);
    const key = `${d.dst}|${d.dstPort}|${d.src}|${msg.id}`;
    const pending = this.dnsPending.get(key);
    if (!pending) {
      this.dnsUnmatched++;
    } else {
      this.dnsPending.delete(key);
      this.dnsLatency.add(ns - pending.ns);
    }
    const name = bump(this.dnsNames, msg.qname ?? pending?.qname ?? '', max, newDnsName);
    name.rcodes[rc] = (name.rcodes[rc] ?? 0) + 1;
    if (msg.rcode === 0) {
      this.dnsAnswered++;
      name.answered++;
    } else {
      this.dnsFailed++;
      name.failed++;
    }
    for (const { address } of msg.addresses) {
      if (name.addresses.size < 16) name.addresses.add(address);
      // the question's name is what a client asked for; CNAME owners would confuse the reader
      const qn = msg.qname ?? '';
      const known = this.addressNames.get(address);
      if (!known) {
        if (this.addressNames.size < max) this.addressNames.set(address, [qn]);
      } else if (!known.includes(qn) && known.length < MAX_NAMES_PER_ADDRESS) known.push(qn);
    }
  }

  private icmp(flow: Flow, d: Decoded, ns: bigint): void {
    const typeKey = `${flow.protocol}:${d.icmpType}`;
    this.icmpTypes.set(typeKey, (this.icmpTypes.get(typeKey) ?? 0) + 1);
    if (isUnreachable(d)) {
      this.unreachable++;
      return;
    }
    if (isEchoRequest(d)) {
      this.echoRequests++;
      flow.echoRequests++;
      const key = `${d.src}|${d.dst}|${d.icmpId}|${d.icmpSeq}`;
      if (this.echoPending.has(key)) return;
      if (this.echoPending.size >= this.opts.maxTableEntries) this.expireOldest(this.echoPending, () => this.echoExpired++);
      this.echoPending.set(key, ns);
    } else if (isEchoReply(d)) {
      this.echoReplies++;
      flow.echoReplies++;
      const key = `${d.dst}|${d.src}|${d.icmpId}|${d.icmpSeq}`;
      const sent = this.echoPending.get(key);
      if (sent !== undefined) {
        this.echoPending.delete(key);
        this.echoAnswered++;
        this.echoRtt.add(ns - sent);
      }
    }
  }

  /** Drops the oldest tenth of a transaction table (Maps iterate in insertion order). */
  private expireOldest<V>(map: Map<string, V>, onExpire: () => void): void {
    let n = Math.max(1, Math.floor(map.size / 10));
    for (const k of map.keys()) {
      if (n-- <= 0) break;
      map.delete(k);
      onExpire();
    }
  }

  /** Ends the analysis: every flow still in the table is finalised. */
  finish(): Summary {
    this.flushLinkType();
    const live = [...this.flows.values()];
    for (const f of live) this.finalize(f);
    const listed = [...this.retired, ...live].sort(byBytes);
    const shown = listed.slice(0, this.opts.listFlows);
    const hidden = listed.slice(this.opts.listFlows);
    const t = this.done;
    const names = (ip: string) => this.addressNames.get(ip);
    const destinations: DestinationSummary[] = [...this.destinations.entries()]
      .map(([destination, c]) => ({
        destination,
        ...optional('names', destination === 'other' ? undefined : names(c.ip)),
        attempted: c.attempted,
        established: c.established,
        refused: c.refused,
        unanswered: c.unanswered,
        successRate: round4(c.established / c.attempted),
      }))
      .sort((x, y) => y.attempted - x.attempted || x.successRate - y.successRate || x.destination.localeCompare(y.destination))
      .slice(0, this.opts.topN);
    const topTalkers: TalkerSummary[] = [...this.talkers.entries()]
      .map(([ip, c]) => ({
        ip,
        ...optional('names', names(ip)),
        packets: c.packets,
        bytes: c.sentBytes + c.receivedBytes,
        sentBytes: c.sentBytes,
        receivedBytes: c.receivedBytes,
      }))
      .sort((x, y) => y.bytes - x.bytes || x.ip.localeCompare(y.ip))
      .slice(0, this.opts.topN);
    const dnsUnanswered = this.dnsPending.size + this.dnsExpired;
    const dnsDone = this.dnsAnswered + this.dnsFailed + dnsUnanswered;
    const retransmissionRate = t.dataPackets > 0 ? round4(t.retransmissions / t.dataPackets) : undefined;
    const connectionSuccessRate = t.attempted > 0 ? round4(t.established / t.attempted) : undefined;
    const dnsFailureRate = dnsDone > 0 ? round4((this.dnsFailed + dnsUnanswered) / dnsDone) : undefined;
    const echoSuccessRate = this.echoRequests > 0 ? round4(this.echoAnswered / (this.echoAnswered + this.echoPending.size + this.echoExpired)) : undefined;
    const durationSeconds = this.firstNs >= 0n ? Number(this.lastNs - this.firstNs) / 1e9 : 0;
    return {
      version: SUMMARY_VERSION,
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      ...(this.firstNs >= 0n ? { start: isoFromNs(this.firstNs), end: isoFromNs(this.lastNs) } : {}),
      durationSeconds: round6(durationSeconds),
      ...(this.format ? { format: this.format } : {}),
      truncated: this.truncated,
      linkTypes: Object.fromEntries([...this.linkTypes].map(([k, v]) => [String(k), v])),
      flows: shown.map((f) => this.flowSummary(f)),
      flowCount: t.flowCount,
      flowsOmitted: {
        flows: hidden.length + this.unlisted.flows,
        packets: hidden.reduce((n, f) => n + f.packets, 0) + this.unlisted.packets,
        bytes: hidden.reduce((n, f) => n + f.bytes, 0) + this.unlisted.bytes,
        evicted: t.evicted,
      },
      tcp: {
        flows: t.tcpFlows,
        attempted: t.attempted,
        established: t.established,
        refused: t.refused,
        unanswered: t.unanswered,
        closed: t.closed,
        reset: t.reset,
        midstream: t.midstream,
        ...optional('successRate', connectionSuccessRate),
        retransmissions: t.retransmissions,
        dataPackets: t.dataPackets,
        ...optional('retransmissionRate', retransmissionRate),
        resets: t.resets,
        handshakeRtt: this.handshakeRtt.stats(),
      },
      udp: { flows: t.udpFlows, packets: t.udpPackets, bytes: t.udpBytes },
      dns: {
        queries: this.dnsQueries,
        responses: this.dnsResponses,
        answered: this.dnsAnswered,
        failed: this.dnsFailed,
        unanswered: dnsUnanswered,
        unmatchedResponses: this.dnsUnmatched,
        ...optional('failureRate', dnsFailureRate),
        rcodes: Object.fromEntries(this.dnsRcodes),
        latency: this.dnsLatency.stats(),
        names: [...this.dnsNames.entries()]
          .sort((x, y) => y[1].queries - x[1].queries || x[0].localeCompare(y[0]))
          .slice(0, 100)
          .map(([name, n]) => ({ name, queries: n.queries, answered: n.answered, failed: n.failed, rcodes: n.rcodes, addresses: [...n.addresses] })),
      },
      icmp: {
        echoRequests: this.echoRequests,
        echoReplies: this.echoReplies,
        echoAnswered: this.echoAnswered,
        echoLost: this.echoPending.size + this.echoExpired,
        ...optional('successRate', echoSuccessRate),
        rtt: this.echoRtt.stats(),
        unreachable: this.unreachable,
        types: Object.fromEntries(this.icmpTypes),
      },
      ip: {
        v4Packets: this.v4,
        v6Packets: this.v6,
        fragments: this.fragments,
        laterFragments: this.laterFragments,
        unattributedFragments: this.unattributedFragments,
      },
      nonIpPackets: this.nonIp,
      decodeProblems: Object.fromEntries(this.decodeProblems),
      headline: {
        ...optional('connectionSuccessRate', connectionSuccessRate),
        destinations,
        topTalkers,
        ...optional('dnsFailureRate', dnsFailureRate),
        ...optional('retransmissionRate', retransmissionRate),
        ...optional('echoSuccessRate', echoSuccessRate),
      },
      errors: [...this.errors],
    };
  }

  private flowSummary(f: Flow): FlowSummary {
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
    const names = this.addressNames.get(f.serverIp);
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
}

/** Largest first; among equals, the earlier first. */
function byBytes(x: Flow, y: Flow): number {
  return y.bytes - x.bytes || (x.firstNs < y.firstNs ? -1 : x.firstNs > y.firstNs ? 1 : 0);
}

function newDnsName(): DnsName {
  return { queries: 0, answered: 0, failed: 0, rcodes: {}, addresses: new Set() };
}

/** `{ [key]: value }` when value is defined, else `{}` (keeps undefined out of the JSON). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
