// One bidirectional flow (a 5-tuple seen from both sides) and the TCP bookkeeping that tells how
// its connection went. Pure state updates; the Analyzer decides which flow a packet belongs to.
// Only numbers (and the address strings, shared with the address cache) so that a flow is one
// small object: times are nanoseconds relative to the analysis' base time (see analysis.ts).
import type { FlowProtocol, FlowState } from '../../lib/api/analysis-summary.js';
import { TcpFlag, type Decoded } from './decode/decoded.js';

export type { FlowProtocol, FlowState };

/** a - b in 32-bit sequence space, as a signed number */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Set by `advance`: the segment repeated sequence space already sent. */
let repeated = false;

/** A segment [seq, seq + length) (length > 0) in a direction whose highest sequence number sent
 *  so far is `high` (when `seen`): returns the new highest, and sets `repeated` when the segment
 *  starts below it — a retransmission, except a keep-alive probe, which re-sends the one byte
 *  just below the edge. */
function advance(seen: boolean, high: number, seq: number, length: number, control: boolean): number {
  const end = (seq + length) | 0;
  if (!seen) {
    repeated = false;
    return end;
  }
  const keepAlive = !control && length === 1 && seqDiff(seq, high) === -1;
  repeated = !keepAlive && seqDiff(seq, high) < 0;
  return seqDiff(end, high) > 0 ? end : high;
}

const enum Rst {
  None = 0,
  Client = 1,
  Server = 2,
}

export class Flow {
  clientPackets = 0;
  clientBytes = 0;
  serverPackets = 0;
  serverBytes = 0;
  /** earliest and latest times (the earliest is the first packet's unless time went backwards) */
  first = 0;
  last = 0;
  // TCP
  synSeen = false;
  synTime = 0;
  /** the client's initial sequence number (valid once synSeen), as a signed 32-bit number like
   *  cHigh and sHigh: small integers, never boxed; seqDiff reads them the same */
  synSeq = 0;
  synCount = 0;
  synAckSeen = false;
  synAckTime = 0;
  /** the client's SYN was answered by a SYN-ACK */
  handshake = false;
  /** the final ACK of the three-way handshake was seen */
  handshakeAcked = false;
  /** no SYN seen: the capture started in the middle of the connection */
  midstream = false;
  /** first RST: who sent it, and whether the handshake had completed then */
  private firstRst: Rst = Rst.None;
  firstRstBeforeHandshake = false;
  // Per direction (c: client to server, s: server to client): highest sequence number + length
  // seen (valid once cSeen/sSeen), FIN, RSTs, retransmissions, segments with payload, and for
  // DNS over TCP the bytes of a message still to come in later segments (Infinity: lost framing).
  cHigh = 0;
  cSeen = false;
  cFin = false;
  cRst = 0;
  cRetransmissions = 0;
  cData = 0;
  cDnsSkip = 0;
  sHigh = 0;
  sSeen = false;
  sFin = false;
  sRst = 0;
  sRetransmissions = 0;
  sData = 0;
  sDnsSkip = 0;
  // ICMP echo
  echoRequests = 0;
  echoReplies = 0;
  /** IPv4 flows: the addresses as numbers (what the flow table and the Analyzer compare) */
  v4Client = 0;
  v4Server = 0;
  /** The flow table's slot for this flow's eviction key (-1: out of the table), and whether the
   *  flow has had packets since that key was worked out. */
  slot = -1;
  dirty = false;

  /** the flow table's string key ('' for flows it finds by hash) */
  key = '';
  protocol: FlowProtocol = 'other';
  ipVersion = 0;
  ipProto = 0;
  clientIp = '';
  /** undefined for protocols without ports (ICMP, other) */
  clientPort: number | undefined = undefined;
  serverIp = '';
  serverPort: number | undefined = undefined;
  /** a first fragment's flow: later fragments may still find it after it left the table, so
   *  the flow table never reuses it */
  fragmented = false;

  /** Makes this object a new flow, every field set (the flow table reuses the objects of flows it no longer needs, so a
   *  capture of many short flows does not fill the heap with them). */
  init(key: string, protocol: FlowProtocol, ipVersion: number, ipProto: number, clientIp: string, clientPort: number | undefined, serverIp: string, serverPort: number | undefined, time: number): void {
    this.clientPackets = 0;
    this.clientBytes = 0;
    this.serverPackets = 0;
    this.serverBytes = 0;
    this.first = time;
    this.last = time;
    this.synSeen = false;
    this.synTime = 0;
    this.synSeq = 0;
    this.synCount = 0;
    this.synAckSeen = false;
    this.synAckTime = 0;
    this.handshake = false;
    this.handshakeAcked = false;
    this.midstream = false;
    this.firstRst = Rst.None;
    this.firstRstBeforeHandshake = false;
    this.cHigh = 0;
    this.cSeen = false;
    this.cFin = false;
    this.cRst = 0;
    this.cRetransmissions = 0;
    this.cData = 0;
    this.cDnsSkip = 0;
    this.sHigh = 0;
    this.sSeen = false;
    this.sFin = false;
    this.sRst = 0;
    this.sRetransmissions = 0;
    this.sData = 0;
    this.sDnsSkip = 0;
    this.echoRequests = 0;
    this.echoReplies = 0;
    this.v4Client = 0;
    this.v4Server = 0;
    this.slot = -1;
    this.dirty = false;
    this.key = key;
    this.protocol = protocol;
    this.ipVersion = ipVersion;
    this.ipProto = ipProto;
    this.clientIp = clientIp;
    this.clientPort = clientPort;
    this.serverIp = serverIp;
    this.serverPort = serverPort;
    this.fragmented = false;
  }

  get packets(): number {
    return this.clientPackets + this.serverPackets;
  }

  get bytes(): number {
    return this.clientBytes + this.serverBytes;
  }

  count(fromClient: boolean, bytes: number, time: number): void {
    if (fromClient) {
      this.clientPackets++;
      this.clientBytes += bytes;
    } else {
      this.serverPackets++;
      this.serverBytes += bytes;
    }
    if (time > this.last) this.last = time;
    else if (time < this.first) this.first = time;
  }

  /** TCP: handshake, retransmissions, FIN/RST. Returns true for a retransmitted segment. */
  tcp(fromClient: boolean, d: Decoded, time: number): boolean {
    const f = d.tcpFlags;
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    if (syn && !ack && fromClient) {
      this.synCount++;
      if (!this.synSeen) {
        this.synSeen = true;
        this.synTime = time;
        this.synSeq = d.tcpSeq | 0;
      }
    } else if (syn && ack && !fromClient && !this.synAckSeen) {
      this.synAckSeen = true;
      this.synAckTime = time;
      this.handshake = true;
    } else if (!syn && ack && fromClient && this.handshake && !this.handshakeAcked) {
      this.handshakeAcked = true;
    }
    if ((f & TcpFlag.RST) !== 0) {
      if (fromClient) this.cRst++;
      else this.sRst++;
      if (this.firstRst === Rst.None) {
        this.firstRst = fromClient ? Rst.Client : Rst.Server;
        this.firstRstBeforeHandshake = !this.handshake;
      }
      // a RST's sequence number says nothing about retransmission
      return false;
    }
    // SYN and FIN occupy one sequence number each, so their retransmissions count too
    const fin = (f & TcpFlag.FIN) !== 0;
    const payload = d.payloadLength;
    const length = payload + (syn ? 1 : 0) + (fin ? 1 : 0);
    const control = syn || fin;
    if (fromClient) {
      if (fin) this.cFin = true;
      if (payload > 0) this.cData++;
      if (length === 0) return false;
      this.cHigh = advance(this.cSeen, this.cHigh, d.tcpSeq, length, control);
      this.cSeen = true;
      if (repeated) this.cRetransmissions++;
    } else {
      if (fin) this.sFin = true;
      if (payload > 0) this.sData++;
      if (length === 0) return false;
      this.sHigh = advance(this.sSeen, this.sHigh, d.tcpSeq, length, control);
      this.sSeen = true;
      if (repeated) this.sRetransmissions++;
    }
    return repeated;
  }

  /** A SYN with this sequence number opens a new connection on the same 5-tuple (the port was
   *  reused): its initial sequence number differs from this flow's SYN, or this flow had no SYN
   *  and has ended (FIN or RST). A SYN with the flow's own ISN is a retransmission, even after a
   *  RST (a refused connection whose RSTs do not reach the client is retried with the same ISN). */
  isReopenedBy(synSeq: number): boolean {
    if (this.synSeen) return (synSeq | 0) !== this.synSeq;
    return this.cFin || this.sFin || this.cRst > 0 || this.sRst > 0;
  }

  /** A SYN was sent (so this counts as a connection attempt). */
  get attempted(): boolean {
    return this.protocol === 'tcp' && this.synCount > 0;
  }

  get retransmissions(): number {
    return this.cRetransmissions + this.sRetransmissions;
  }

  get resets(): number {
    return this.cRst + this.sRst;
  }

  get dataPackets(): number {
    return this.cData + this.sData;
  }

  /** who sent the first RST ('' when none) */
  get firstRstFrom(): 'client' | 'server' | '' {
    return this.firstRst === Rst.Client ? 'client' : this.firstRst === Rst.Server ? 'server' : '';
  }

  get handshakeRttNs(): number | undefined {
    return this.synSeen && this.synAckSeen && this.synAckTime >= this.synTime ? this.synAckTime - this.synTime : undefined;
  }

  /** The connection's outcome, per docs/design.md "Summary JSON": established|refused|unanswered|closed|reset|n/a. */
  get state(): FlowState {
    if (this.protocol !== 'tcp') return 'n/a';
    const opened = this.handshake || this.midstream;
    if (this.firstRst !== Rst.None) {
      if (!opened && this.firstRstBeforeHandshake) return this.firstRst === Rst.Server ? 'refused' : 'unanswered';
      return 'reset';
    }
    if (!opened) return 'unanswered';
    if (this.cFin || this.sFin) return 'closed';
    return 'established';
  }

  /** Finished flows (closed, reset, refused) are the first to leave a full flow table. */
  get finished(): boolean {
    const st = this.state;
    return st === 'closed' || st === 'reset' || st === 'refused';
  }
}
