// IPv4: addresses, protocol, fragments (only the first fragment carries the L4 header).
import { ipv4String } from './address.js';
import type { Decoded } from './decoded.js';

/** Decodes the IPv4 header at `at`, setting d.l4Offset and d.l4Length; returns '' or a problem. */
export function ipv4(buf: Buffer, at: number, d: Decoded): string {
  if (buf.length < at + 20) return 'truncated IPv4 header';
  const vihl = buf[at]!;
  if (vihl >> 4 !== 4) return `IPv4 header with version ${vihl >> 4}`;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return `IPv4 header length ${ihl}`;
  let total = buf.readUInt16BE(at + 2);
  // Segmentation offload captures may carry a total length of 0: the frame tells the size then.
  if (total === 0) total = buf.length - at;
  const fragField = buf.readUInt16BE(at + 6);
  const moreFragments = (fragField & 0x2000) !== 0;
  const fragOffset = fragField & 0x1fff;
  d.ipVersion = 4;
  d.ipId = buf.readUInt16BE(at + 4);
  d.ipProto = buf[at + 9]!;
  d.srcV4 = buf.readUInt32BE(at + 12);
  d.dstV4 = buf.readUInt32BE(at + 16);
  d.src = ipv4String(buf, at + 12, d.srcV4);
  d.dst = ipv4String(buf, at + 16, d.dstV4);
  d.fragment = moreFragments || fragOffset !== 0;
  d.laterFragment = fragOffset !== 0;
  if (buf.length < at + ihl) return 'truncated IPv4 options';
  d.l4Offset = at + ihl;
  d.l4Length = Math.max(0, total - ihl);
  return '';
}
