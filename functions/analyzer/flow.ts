// One bidirectional flow (a 5-tuple seen from both sides) and the TCP bookkeeping that tells how
// its connection went. Pure state updates; the Analyzer decides which flow a packet belongs to.
import type { FlowProtocol, FlowState } from '../../lib/api/analysis-summary.js';
import { TcpFlag, type Decoded } from './decode/decoded.js';

export type { FlowProtocol, FlowState };

/** a - b in 32-bit sequence space, as a signed number */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Per-direction TCP sequence tracking. */
class TcpSide {
  /** highest sequence number + length seen (valid once `seen`) */
  high = 0;
  seen = false;
  fin = false;
  rst = 0;
  retransmissions = 0;
  dataPackets = 0;
  /** DNS over TCP: bytes of a message still to come in later segments (Infinity: lost framing) */
  dnsSkip = 0;

  /** Counts the segment; true when it repeats sequence space already sent (a retransmission). */
  segment(seq: number, length: number, control: boolean): boolean {
    if (length === 0) return false;
    const end = (seq + length) >>> 0;
    let retransmitted = false;
    if (this.seen) {
      // A keep-alive probe re-sends the one byte just below the edge: not a retransmission.
      const keepAlive = !control && length === 1 && seqDiff(seq, this.high) === -1;
      if (!keepAlive && seqDiff(seq, this.high) < 0) retransmitted = true;
      if (seqDiff(end, this.high) > 0) this.high = end;
    } else {
      this.high = end;
      this.seen = true;
    }
    if (retransmitted) this.retransmissions++;
    return retransmitted;
  }
}

export class Flow {
  clientPackets = 0;
  clientBytes = 0;
  serverPackets = 0;
  serverBytes = 0;
  /** earliest and latest timestamps (the earliest is the first packet's unless time went backwards) */
  firstNs: bigint;
  lastNs: bigint;
  // TCP
  synNs = -1n;
  /** the client's initial sequence number (valid once synNs >= 0) */
  synSeq = 0;
  synCount = 0;
  synAckNs = -1n;
  /** the client's SYN was answered by a SYN-ACK */
  handshake = false;
  /** the final ACK of the three-way handshake was seen */
  handshakeAcked = false;
  /** no SYN seen: the capture started in the middle of the connection */
  midstream = false;
  /** first RST: who sent it, and whether the handshake had completed then */
  firstRstFrom: 'client' | 'server' | '' = '';
  firstRstBeforeHandshake = false;
  readonly c = new TcpSide();
  readonly s = new TcpSide();
  // ICMP echo
  echoRequests = 0;
  echoReplies = 0;
  /** The flow table's hash index (IPv4 TCP/UDP flows): the addresses as numbers, and the next
   *  flow with the same hash. */
  v4Client = 0;
  v4Server = 0;
  nextSameHash: Flow | undefined = undefined;
  /** The flow table's slot for this flow's eviction key (-1: out of the table), and whether the
   *  flow has had packets since that key was worked out. */
  slot = -1;
  dirty = false;

  constructor(
    /** the flow table's string key ('' for flows it finds by hash) */
    readonly key: string,
    readonly protocol: FlowProtocol,
    readonly ipProto: number,
    readonly clientIp: string,
    /** undefined for protocols without ports (ICMP, other) */
    readonly clientPort: number | undefined,
    readonly serverIp: string,
    readonly serverPort: number | undefined,
    firstNs: bigint,
  ) {
    this.firstNs = firstNs;
    this.lastNs = firstNs;
  }

  get packets(): number {
    return this.clientPackets + this.serverPackets;
  }

  get bytes(): number {
    return this.clientBytes + this.serverBytes;
  }

  count(fromClient: boolean, bytes: number, ns: bigint): void {
    if (fromClient) {
      this.clientPackets++;
      this.clientBytes += bytes;
    } else {
      this.serverPackets++;
      this.serverBytes += bytes;
    }
    if (ns > this.lastNs) this.lastNs = ns;
    else if (ns < this.firstNs) this.firstNs = ns;
  }

  /** TCP: handshake, retransmissions, FIN/RST. Returns true for a retransmitted segment. */
  tcp(fromClient: boolean, d: Decoded, ns: bigint): boolean {
    const f = d.tcpFlags;
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    if (syn && !ack && fromClient) {
      this.synCount++;
      if (this.synNs < 0n) {
        this.synNs = ns;
        this.synSeq = d.tcpSeq;
      }
    } else if (syn && ack && !fromClient && this.synAckNs < 0n) {
      this.synAckNs = ns;
      this.handshake = true;
    } else if (!syn && ack && fromClient && this.handshake && !this.handshakeAcked) {
      this.handshakeAcked = true;
    }
    if ((f & TcpFlag.RST) !== 0) {
      const side = fromClient ? this.c : this.s;
      side.rst++;
      if (this.firstRstFrom === '') {
        this.firstRstFrom = fromClient ? 'client' : 'server';
        this.firstRstBeforeHandshake = !this.handshake;
      }
      // a RST's sequence number says nothing about retransmission
      return false;
    }
    if ((f & TcpFlag.FIN) !== 0) (fromClient ? this.c : this.s).fin = true;
    // SYN and FIN occupy one sequence number each, so their retransmissions count too
    const fin = (f & TcpFlag.FIN) !== 0;
    const length = d.payloadLength + (syn ? 1 : 0) + (fin ? 1 : 0);
    const side = fromClient ? this.c : this.s;
    if (d.payloadLength > 0) side.dataPackets++;
    return side.segment(d.tcpSeq, length, syn || fin);
  }

  /** A SYN with this sequence number opens a new connection on the same 5-tuple (the port was
   *  reused): its initial sequence number differs from this flow's SYN, or this flow had no SYN
   *  and has ended (FIN or RST). A SYN with the flow's own ISN is a retransmission, even after a
   *  RST (a refused connection whose RSTs do not reach the client is retried with the same ISN). */
  isReopenedBy(synSeq: number): boolean {
    if (this.synNs >= 0n) return synSeq !== this.synSeq;
    return this.c.fin || this.s.fin || this.c.rst > 0 || this.s.rst > 0;
  }

  /** A SYN was sent (so this counts as a connection attempt). */
  get attempted(): boolean {
    return this.protocol === 'tcp' && this.synCount > 0;
  }

  get retransmissions(): number {
    return this.c.retransmissions + this.s.retransmissions;
  }

  get resets(): number {
    return this.c.rst + this.s.rst;
  }

  get handshakeRttNs(): bigint | undefined {
    return this.synNs >= 0n && this.synAckNs >= this.synNs ? this.synAckNs - this.synNs : undefined;
  }

  /** The connection's outcome, per docs/design.md "Summary JSON": established|refused|unanswered|closed|reset|n/a. */
  get state(): FlowState {
    if (this.protocol !== 'tcp') return 'n/a';
    const opened = this.handshake || this.midstream;
    if (this.firstRstFrom !== '') {
      if (!opened && this.firstRstBeforeHandshake) return this.firstRstFrom === 'server' ? 'refused' : 'unanswered';
      return 'reset';
    }
    if (!opened) return 'unanswered';
    if (this.c.fin || this.s.fin) return 'closed';
    return 'established';
  }

  /** Finished flows (closed, reset, refused) are the first to leave a full flow table. */
  get finished(): boolean {
    const st = this.state;
    return st === 'closed' || st === 'reset' || st === 'refused';
  }
}
