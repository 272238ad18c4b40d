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
  let problem = linkLayer(linkType, frame, d);
  if (problem !== '') {
    d.problem = problem;
    return;
  }
  if (d.etherType === EtherType.IPV4) problem = ipv4(frame, d.l3Offset, d);
  else if (d.etherType === EtherType.IPV6) problem = ipv6(frame, d.l3Offset, d);
  else return;
  if (problem !== '') {
    d.problem = problem;
    if (d.src === '') d.ipVersion = 0;
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
