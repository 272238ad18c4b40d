// The result of decoding one frame. One instance is reused for every packet (the analyzer looks
// at a packet once and keeps only numbers and strings), so decoding allocates almost nothing.
// Offsets are into the buffer the frame lies in (a reader's chunk), which ends at `frameEnd`.
import { ipv4Text } from './address.js';

export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export class Decoded {
  /** 4, 6, or 0 when the frame carries no IP packet (ARP, LLDP, …) or could not be decoded */
  ipVersion: 0 | 4 | 6 = 0;
  /** why decoding stopped early (truncated header, unknown link type); '' when it did not */
  problem = '';
  /** where the frame ends in its buffer: nothing at or after it belongs to this packet */
  frameEnd = 0;
  /** link layer: the EtherType of its payload and where that payload starts */
  etherType = 0;
  l3Offset = 0;
  /** network layer: where the L4 header starts and its length per the IP header */
  l4Offset = 0;
  l4Length = 0;
  /** IPv6 addresses as text (IPv4 ones are made from srcV4/dstV4 only when asked for) */
  src6 = '';
  dst6 = '';
  /** IPv4 addresses as signed 32-bit numbers (valid when ipVersion is 4; small integers, never
   *  boxed): what the flow table compares and hashes, so most packets never need the text */
  srcV4 = 0;
  dstV4 = 0;
  /** the upper-layer protocol number (after IPv6 extension headers) */
  ipProto = 0;
  ipId = 0;
  /** a fragment of a larger datagram (IPv4 MF/offset or an IPv6 fragment header) */
  fragment = false;
  /** a fragment other than the first one: it carries no L4 header */
  laterFragment = false;
  /** the L4 header was decoded (false for later fragments and truncated headers) */
  hasL4 = false;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  /** L4 payload length per the headers (not limited by the snapshot length) */
  payloadLength = 0;
  /** where the L4 payload starts in the frame, and how much of it was captured */
  payloadOffset = 0;
  capturedPayload = 0;
  icmpType = 0;
  icmpCode = 0;
  icmpId = 0;
  icmpSeq = 0;

  /** the source address as text ('' without an IP header) */
  get src(): string {
    return this.ipVersion === 4 ? ipv4Text(this.srcV4) : this.src6;
  }

  get dst(): string {
    return this.ipVersion === 4 ? ipv4Text(this.dstV4) : this.dst6;
  }

  reset(): void {
    this.ipVersion = 0;
    this.problem = '';
    this.frameEnd = 0;
    this.etherType = 0;
    this.l3Offset = 0;
    this.l4Offset = 0;
    this.l4Length = 0;
    this.src6 = '';
    this.dst6 = '';
    this.srcV4 = 0;
    this.dstV4 = 0;
    this.ipProto = 0;
    this.ipId = 0;
    this.fragment = false;
    this.laterFragment = false;
    this.hasL4 = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.payloadLength = 0;
    this.payloadOffset = 0;
    this.capturedPayload = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.icmpId = 0;
    this.icmpSeq = 0;
  }
}

export const EtherType = { IPV4: 0x0800, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100, ARISTA: 0xd28b } as const;
