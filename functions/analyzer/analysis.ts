// The flow analysis: packets in (in capture order), a Summary out. A thin dispatcher: each frame
// is decoded once into a reused Decoded and handed to the trackers (trackers/*.ts), each of which
// keeps one part of the summary. Memory is bounded whatever the capture's size: the flow table,
// the DNS and ICMP transaction tables, the per-destination, per-talker and per-name tables all
// have caps; what overflows is folded into totals.
// Times are numbers: nanoseconds from a base time (the first packet's whole second), exact as
// doubles for a capture spanning less than 104 days from its first packet (2^53 ns), and turned
// into absolute ISO times only for the summary.
import type { PacketRecord, ReadResult } from '../../lib/pcap/types.js';
import { isoFromNs } from '../../lib/pcap/timestamp.js';
import { Decoded, IpProto } from './decode/decoded.js';
import { isEchoReply } from './decode/icmp.js';
import { decodeFrame } from './decode/packet.js';
import type { Flow } from './flow.js';
import type { Summary } from '../../lib/api/analysis-summary.js';
import { SUMMARY_VERSION } from '../../lib/api/analysis-summary.js';
import { CaptureTracker } from './trackers/capture.js';
import { DNS_PORT, DnsTracker } from './trackers/dns.js';
import { FlowTable } from './trackers/flows.js';
import { IcmpTracker } from './trackers/icmp.js';
import { IpTracker } from './trackers/ip.js';
import { ProblemTracker } from './trackers/problems.js';
import { optional } from './trackers/stats.js';
import { TalkerTracker } from './trackers/talkers.js';
import { TcpTracker } from './trackers/tcp.js';
import { UdpTracker } from './trackers/udp.js';

export interface AnalyzerOptions {
  /** flows kept in memory at once; beyond this the oldest (finished first) are folded into totals */
  maxFlows?: number;
  /** flows listed in the summary (the largest by bytes) */
  listFlows?: number;
  /** destinations and talkers listed in the headline */
  topN?: number;
  /** cap for the destination, talker, DNS-name and transaction tables */
  maxTableEntries?: number;
  /** UDP port whose VXLAN datagrams are decoded as their inner frames (0, the default: off,
   *  tunnels are counted by their outer headers) */
  vxlanPort?: number;
}

export class Analyzer {
  private readonly d = new Decoded();
  private readonly capture = new CaptureTracker();
  private readonly problems = new ProblemTracker();
  private readonly ip = new IpTracker();
  private readonly flows: FlowTable;
  private readonly tcp: TcpTracker;
  private readonly udp = new UdpTracker();
  private readonly talkers: TalkerTracker;
  private readonly dns: DnsTracker;
  private readonly icmp: IcmpTracker;
  private readonly vxlanPort: number;
  /** the first packet's whole seconds since the epoch: time 0 of the analysis */
  private baseSeconds: number | undefined;

  constructor(opts: AnalyzerOptions = {}) {
    const maxFlows = opts.maxFlows ?? 50_000;
    const listFlows = opts.listFlows ?? 1000;
    const topN = opts.topN ?? 10;
    const maxTableEntries = opts.maxTableEntries ?? 10_000;
    if (maxFlows < 10) throw new Error('maxFlows must be at least 10');
    this.vxlanPort = opts.vxlanPort ?? 0;
    this.flows = new FlowTable({ maxFlows, listFlows, maxTableEntries }, (f) => this.finalize(f));
    this.tcp = new TcpTracker(maxTableEntries, topN);
    this.talkers = new TalkerTracker(maxTableEntries, topN);
    this.dns = new DnsTracker(maxTableEntries, this.problems);
    this.icmp = new IcmpTracker(maxTableEntries);
  }

  /** The reader's per-packet callback (a record view, see PacketParser.forRecords). A decoding
   *  bug must not lose the rest of the capture: it is noted as a decode problem and the next
   *  packet goes on. */
  readonly record = (r: PacketRecord): void => {
    try {
      this.onRecord(r);
    } catch (err) {
      this.problems.observe(`decoder error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  /** An analysis time as an ISO-8601 string. */
  private readonly isoOf = (time: number): string => isoFromNs(BigInt(this.baseSeconds ?? 0) * 1_000_000_000n + BigInt(time));

  private onRecord(r: PacketRecord): void {
    const base = (this.baseSeconds ??= r.seconds);
    const ns = (r.seconds - base) * 1e9 + r.nanos;
    this.capture.observe(r, ns);
    const d = this.d;
    const frame = r.buffer;
    decodeFrame(r.linkType, frame, d, this.vxlanPort, r.offset, r.offset + r.capturedLength);
    if (d.problem !== '') this.problems.observe(d.problem);
    if (!this.ip.observe(d)) return;
    const wire = r.originalLength;
    if (d.laterFragment) {
      const flow = this.flows.fragmentFlow(d);
      if (flow) flow.count(d.ipVersion === 4 ? flow.v4Client === d.srcV4 : flow.clientIp === d.src, wire, ns);
      else this.ip.unattributed();
      return;
    }
    let flow = this.flows.flowOf(d, ns);
    if (d.ipProto === IpProto.TCP && d.hasL4 && (d.tcpFlags & 0x12) === 0x02 && flow.isReopenedBy(d.tcpSeq)) {
      // a new connection on a reused port: the old one is done
      this.flows.retire(flow);
      flow = this.flows.flowOf(d, ns);
    }
    // On one host (loopback) the address does not tell the sides apart; the port (or the echo type) does.
    const fromClient =
      d.ipVersion === 4 && flow.v4Client !== flow.v4Server
        ? d.srcV4 === flow.v4Client
        : d.ipVersion === 6 && flow.clientIp !== flow.serverIp
          ? d.src6 === flow.clientIp
          : flow.clientPort !== undefined
          ? d.srcPort === flow.clientPort
          : !(d.hasL4 && isEchoReply(d));
    flow.count(fromClient, wire, ns);
    if (d.fragment) this.flows.rememberFragment(d, flow);
    if (!d.hasL4) return;
    if (d.ipProto === IpProto.TCP) {
      const retransmitted = this.tcp.observe(flow, fromClient, d, ns);
      if (!retransmitted && (d.srcPort === DNS_PORT || d.dstPort === DNS_PORT) && d.payloadLength > 0) {
        this.dns.observeTcp(frame, d, ns, flow, fromClient);
      }
    } else if (d.ipProto === IpProto.UDP) {
      if ((d.srcPort === DNS_PORT || d.dstPort === DNS_PORT) && d.capturedPayload > 0) this.dns.observe(frame, d, ns);
    } else this.icmp.observe(flow, d, ns);
  }

  /** The reader's result: file-level errors and truncation. */
  readResult(r: ReadResult, source?: string): void {
    this.capture.readResult(r, source);
  }

  error(message: string): void {
    this.capture.error(message);
  }

  /** A flow leaving the table (or still in it at the end): its share of every total. */
  private finalize(f: Flow): void {
    this.talkers.finalize(f);
    if (f.protocol === 'udp') this.udp.finalize(f);
    else if (f.protocol === 'tcp') this.tcp.finalize(f);
  }

  /** Ends the analysis: every flow still in the table is finalised. */
  finish(): Summary {
    const capture = this.capture.summarize(this.isoOf);
    this.flows.finish();
    const namesOf = this.dns.namesOf;
    return {
      version: SUMMARY_VERSION,
      ...capture,
      ...this.flows.summarize(namesOf, this.isoOf),
      tcp: this.tcp.summarize(),
      udp: this.udp.summarize(),
      dns: this.dns.summarize(),
      icmp: this.icmp.summarize(),
      ip: this.ip.summarize(),
      ...this.ip.summarizeNonIp(),
      decodeProblems: this.problems.summarize(),
      headline: {
        ...optional('connectionSuccessRate', this.tcp.successRate),
        destinations: this.tcp.summarizeDestinations(namesOf),
        topTalkers: this.talkers.summarize(namesOf),
        ...optional('dnsFailureRate', this.dns.failureRate),
        ...optional('retransmissionRate', this.tcp.retransmissionRate),
        ...optional('echoSuccessRate', this.icmp.successRate),
      },
      errors: this.capture.summarizeErrors(),
    };
  }
}
