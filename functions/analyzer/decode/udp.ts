// UDP: ports and payload.
import type { Decoded } from './decoded.js';

export function udp(buf: Buffer, at: number, l4Length: number, d: Decoded): string | undefined {
  if (buf.length < at + 8) return 'truncated UDP header';
  d.srcPort = buf.readUInt16BE(at);
  d.dstPort = buf.readUInt16BE(at + 2);
  const len = buf.readUInt16BE(at + 4);
  d.hasL4 = true;
  // the UDP length wins when sane; 0 happens with offload (and jumbograms)
  d.payloadLength = len >= 8 ? len - 8 : Math.max(0, l4Length - 8);
  d.payloadOffset = at + 8;
  d.capturedPayload = Math.max(0, Math.min(d.payloadLength, buf.length - d.payloadOffset));
  return undefined;
}
