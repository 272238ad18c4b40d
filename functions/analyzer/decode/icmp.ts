// ICMP and ICMPv6: type, code, and the identifier/sequence of echo messages.
import type { Decoded } from './decoded.js';

export const IcmpType = { ECHO_REPLY: 0, UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;
export const Icmp6Type = { UNREACHABLE: 1, TIME_EXCEEDED: 3, ECHO_REQUEST: 128, ECHO_REPLY: 129 } as const;

export function icmp(buf: Buffer, at: number, l4Length: number, d: Decoded): string | undefined {
  const end = d.frameEnd;
  if (end < at + 4) return 'truncated ICMP header';
  d.icmpType = buf[at]!;
  d.icmpCode = buf[at + 1]!;
  d.hasL4 = true;
  if (end >= at + 8) {
    d.icmpId = buf.readUInt16BE(at + 4);
    d.icmpSeq = buf.readUInt16BE(at + 6);
  }
  d.payloadLength = Math.max(0, l4Length - 8);
  d.payloadOffset = at + 8;
  d.capturedPayload = Math.max(0, Math.min(d.payloadLength, end - d.payloadOffset));
  return undefined;
}

export function isEchoRequest(d: Decoded): boolean {
  return d.ipVersion === 4 ? d.icmpType === IcmpType.ECHO_REQUEST : d.icmpType === Icmp6Type.ECHO_REQUEST;
}

export function isEchoReply(d: Decoded): boolean {
  return d.ipVersion === 4 ? d.icmpType === IcmpType.ECHO_REPLY : d.icmpType === Icmp6Type.ECHO_REPLY;
}

export function isUnreachable(d: Decoded): boolean {
  return d.ipVersion === 4 ? d.icmpType === IcmpType.UNREACHABLE : d.icmpType === Icmp6Type.UNREACHABLE;
}
