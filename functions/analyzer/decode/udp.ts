// UDP: ports and payload.
import type { Decoded } from './decoded.js';

export function udp(buf: Buffer, at: number, l4Length: number, d: Decoded): string | undefined {
  const end = d.frameEnd;
  if (end < at + 8) return 'truncated UDP header';
  d.srcPort = (buf[at]! << 8) | buf[at + 1]!;
  d.dstPort = (buf[at + 2]! << 8) | buf[at + 3]!;
  const len = (buf[at + 4]! << 8) | buf[at + 5]!;
  d.hasL4 = true;
  // the UDP length wins when sane; 0 happens with offload (and jumbograms)
  d.payloadLength = len >= 8 ? len - 8 : Math.max(0, l4Length - 8);
  d.payloadOffset = at + 8;
  d.capturedPayload = Math.max(0, Math.min(d.payloadLength, end - d.payloadOffset));
  return undefined;
}
