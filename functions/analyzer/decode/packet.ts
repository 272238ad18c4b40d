// One frame, all layers: link → IP → TCP/UDP/ICMP, filling a reused Decoded.
import { Decoded, EtherType, IpProto } from './decoded.js';
import { icmp } from './icmp.js';
import { ipv4 } from './ipv4.js';
import { ipv6 } from './ipv6.js';
import { linkLayer } from './link.js';
import { tcp } from './tcp.js';
import { udp } from './udp.js';

export { Decoded };

/** Decodes `frame` (of `linkType`) into `d` (reset first). `d.problem` says why decoding stopped
 *  early; `d.ipVersion === 0` means no IP packet (not IP, or undecodable). */
export function decodeFrame(linkType: number, frame: Buffer, d: Decoded): void {
  d.reset();
  const l2 = linkLayer(linkType, frame);
  if (typeof l2 === 'string') {
    d.problem = l2;
    return;
  }
  let l3;
  if (l2.etherType === EtherType.IPV4) l3 = ipv4(frame, l2.offset, d);
  else if (l2.etherType === EtherType.IPV6) l3 = ipv6(frame, l2.offset, d);
  else return;
  if (typeof l3 === 'string') {
    d.problem = l3;
    if (d.src === '') d.ipVersion = 0;
    return;
  }
  if (d.laterFragment) return;
  let problem: string | undefined;
  switch (d.ipProto) {
    case IpProto.TCP:
      problem = tcp(frame, l3.l4, l3.l4Length, d);
      break;
    case IpProto.UDP:
      problem = udp(frame, l3.l4, l3.l4Length, d);
      break;
    case IpProto.ICMP:
      if (d.ipVersion === 4) problem = icmp(frame, l3.l4, l3.l4Length, d);
      break;
    case IpProto.ICMPV6:
      if (d.ipVersion === 6) problem = icmp(frame, l3.l4, l3.l4Length, d);
      break;
    default:
      break;
  }
  if (problem) d.problem = problem;
}
