// TCP: ports, sequence numbers, flags, payload length.
import type { Decoded } from './decoded.js';

export function tcp(buf: Buffer, at: number, l4Length: number, d: Decoded): string | undefined {
  const end = d.frameEnd;
  if (end < at + 20) return 'truncated TCP header';
  d.srcPort = (buf[at]! << 8) | buf[at + 1]!;
  d.dstPort = (buf[at + 2]! << 8) | buf[at + 3]!;
  d.tcpSeq = ((buf[at + 4]! << 24) | (buf[at + 5]! << 16) | (buf[at + 6]! << 8) | buf[at + 7]!) >>> 0;
  d.tcpAck = ((buf[at + 8]! << 24) | (buf[at + 9]! << 16) | (buf[at + 10]! << 8) | buf[at + 11]!) >>> 0;
  const doff = (buf[at + 12]! >> 4) * 4;
  d.tcpFlags = buf[at + 13]!;
  if (doff < 20) return `TCP header length ${doff}`;
  d.hasL4 = true;
  const payload = l4Length > doff ? l4Length - doff : 0;
  d.payloadLength = payload;
  d.payloadOffset = at + doff;
  d.capturedPayload = Math.max(0, Math.min(payload, end - d.payloadOffset));
  return undefined;
}
