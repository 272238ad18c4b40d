// IPv4: addresses, protocol, fragments (only the first fragment carries the L4 header).
import type { Decoded } from './decoded.js';

/** Decodes the IPv4 header at `at` (the frame ends at d.frameEnd), setting d.l4Offset and
 *  d.l4Length; returns '' or a problem. The addresses are kept as numbers only. */
export function ipv4(buf: Buffer, at: number, d: Decoded): string {
  const end = d.frameEnd;
  if (end < at + 20) return 'truncated IPv4 header';
  const vihl = buf[at]!;
  if (vihl >> 4 !== 4) return `IPv4 header with version ${vihl >> 4}`;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return `IPv4 header length ${ihl}`;
  let total = (buf[at + 2]! << 8) | buf[at + 3]!;
  // Segmentation offload captures may carry a total length of 0: the frame tells the size then.
  if (total === 0) total = end - at;
  const fragField = (buf[at + 6]! << 8) | buf[at + 7]!;
  const fragOffset = fragField & 0x1fff;
  d.ipVersion = 4;
  d.ipId = (buf[at + 4]! << 8) | buf[at + 5]!;
  d.ipProto = buf[at + 9]!;
  d.srcV4 = (buf[at + 12]! << 24) | (buf[at + 13]! << 16) | (buf[at + 14]! << 8) | buf[at + 15]!;
  d.dstV4 = (buf[at + 16]! << 24) | (buf[at + 17]! << 16) | (buf[at + 18]! << 8) | buf[at + 19]!;
  d.fragment = (fragField & 0x2000) !== 0 || fragOffset !== 0;
  d.laterFragment = fragOffset !== 0;
  if (end < at + ihl) return 'truncated IPv4 options';
  d.l4Offset = at + ihl;
  d.l4Length = total > ihl ? total - ihl : 0;
  return '';
}
