// TCP: ports, sequence numbers, flags, payload length.
import type { Decoded } from './decoded.js';

export function tcp(buf: Buffer, at: number, l4Length: number, d: Decoded): string | undefined {
  if (buf.length < at + 20) return 'truncated TCP header';
  d.srcPort = buf.readUInt16BE(at);
  d.dstPort = buf.readUInt16BE(at + 2);
  d.tcpSeq = buf.readUInt32BE(at + 4);
  d.tcpAck = buf.readUInt32BE(at + 8);
  const doff = (buf[at + 12]! >> 4) * 4;
  d.tcpFlags = buf[at + 13]!;
  if (doff < 20) return `TCP header length ${doff}`;
  d.hasL4 = true;
  d.payloadLength = Math.max(0, l4Length - doff);
  d.payloadOffset = at + doff;
  d.capturedPayload = Math.max(0, Math.min(d.payloadLength, buf.length - d.payloadOffset));
  return undefined;
}
