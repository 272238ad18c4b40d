// One frame, all layers: link → IP → TCP/UDP/ICMP, filling a reused Decoded.
import { Decoded, EtherType, IpProto } from './decoded.js';
import { icmp } from './icmp.js';
import { ipv4 } from './ipv4.js';
import { ipv6 } from './ipv6.js';
import { ethernet, linkLayer } from './link.js';
import { tcp } from './tcp.js';
import { udp } from './udp.js';

export { Decoded };

/** The VXLAN header before the inner Ethernet frame (RFC 7348); flag I says the VNI is valid. */
const VXLAN_HEADER = 8;
const VXLAN_FLAG_I = 0x08;

/** Decodes the frame `frame[start, end)` (of `linkType`) into `d` (reset first). `d.problem`
 *  says why decoding stopped early; `d.ipVersion === 0` means no IP packet (not IP, or
 *  undecodable). With `vxlanPort` (non-zero), a UDP datagram to that port carrying a VXLAN header
 *  is decoded as its inner frame instead (one level), so flows are the tunnelled ones. */
export function decodeFrame(linkType: number, frame: Buffer, d: Decoded, vxlanPort = 0, start = 0, end = frame.length): void {
  d.reset();
  d.frameEnd = end;
  const problem = linkLayer(linkType, frame, d, start, end);
  if (problem !== '') {
    d.problem = problem;
    return;
  }
  network(frame, d);
  if (
    vxlanPort !== 0 &&
    d.hasL4 &&
    d.ipProto === IpProto.UDP &&
    d.dstPort === vxlanPort &&
    d.capturedPayload >= VXLAN_HEADER &&
    (frame[d.payloadOffset]! & VXLAN_FLAG_I) !== 0
  ) {
    const inner = d.payloadOffset + VXLAN_HEADER;
    d.reset();
    d.frameEnd = end;
    const innerProblem = ethernet(frame, d, inner, end);
    if (innerProblem !== '') {
      d.problem = `VXLAN inner frame: ${innerProblem}`;
      return;
    }
    network(frame, d);
  }
}

/** From the network layer on (d.etherType and d.l3Offset set by the link layer). */
function network(frame: Buffer, d: Decoded): void {
  let problem: string;
  if (d.etherType === EtherType.IPV4) problem = ipv4(frame, d.l3Offset, d);
  else if (d.etherType === EtherType.IPV6) problem = ipv6(frame, d.l3Offset, d);
  else return;
  if (problem !== '') {
    // (the version is set only once the addresses are read)
    d.problem = problem;
    return;
  }
  if (d.laterFragment) return;
  let l4Problem: string | undefined;
  switch (d.ipProto) {
    case IpProto.TCP:
      l4Problem = tcp(frame, d.l4Offset, d.l4Length, d);
      break;
    case IpProto.UDP:
      l4Problem = udp(frame, d.l4Offset, d.l4Length, d);
      break;
    case IpProto.ICMP:
      if (d.ipVersion === 4) l4Problem = icmp(frame, d.l4Offset, d.l4Length, d);
      break;
    case IpProto.ICMPV6:
      if (d.ipVersion === 6) l4Problem = icmp(frame, d.l4Offset, d.l4Length, d);
      break;
    default:
      break;
  }
  if (l4Problem) d.problem = l4Problem;
}
