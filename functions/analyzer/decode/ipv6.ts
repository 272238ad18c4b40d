// IPv6: addresses and the extension-header chain (hop-by-hop, routing, fragment, destination
// options, authentication) up to the upper-layer protocol.
import { ipv6String } from './address.js';
import type { Decoded } from './decoded.js';

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const ESP = 50;
const AUTH = 51;
const DEST_OPTS = 60;
const MOBILITY = 135;
/** Bounds the walk over a chain of extension headers in a crafted packet. */
const MAX_EXTENSION_HEADERS = 16;

/** Decodes the IPv6 header and its extension headers at `at`, setting d.l4Offset and d.l4Length
 *  (of the upper-layer header); returns '' or a problem. */
export function ipv6(buf: Buffer, at: number, d: Decoded): string {
  const end = d.frameEnd;
  if (end < at + 40) return 'truncated IPv6 header';
  if (buf[at]! >> 4 !== 6) return `IPv6 header with version ${buf[at]! >> 4}`;
  let payload = buf.readUInt16BE(at + 4);
  // payload length 0: jumbogram or offloaded segment; the frame tells the size
  if (payload === 0) payload = Math.max(0, end - at - 40);
  let next = buf[at + 6]!;
  d.ipVersion = 6;
  d.src6 = ipv6String(buf, at + 8);
  d.dst6 = ipv6String(buf, at + 24);
  let off = at + 40;
  let left = payload;
  for (let i = 0; i < MAX_EXTENSION_HEADERS; i++) {
    if (next === HOP_BY_HOP || next === ROUTING || next === DEST_OPTS || next === MOBILITY) {
      if (end < off + 2) return truncated(d, next);
      const len = (buf[off + 1]! + 1) * 8;
      next = buf[off]!;
      off += len;
      left -= len;
    } else if (next === FRAGMENT) {
      if (end < off + 8) return truncated(d, next);
      const field = buf.readUInt16BE(off + 2);
      d.fragment = true;
      d.laterFragment = field >> 3 !== 0;
      d.ipId = buf.readUInt32BE(off + 4) & 0xffff;
      next = buf[off]!;
      off += 8;
      left -= 8;
    } else if (next === AUTH) {
      if (end < off + 2) return truncated(d, next);
      const len = (buf[off + 1]! + 2) * 4;
      next = buf[off]!;
      off += len;
      left -= len;
    } else {
      break;
    }
  }
  d.ipProto = next;
  d.l4Offset = off;
  // ESP: what follows is encrypted
  d.l4Length = next === ESP ? 0 : Math.max(0, left);
  return '';
}

function truncated(d: Decoded, header: number): string {
  d.ipProto = header;
  return `truncated IPv6 extension header ${header}`;
}
