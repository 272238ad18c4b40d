// DNS messages (over UDP): header, the first question, response code, and the names and A/AAAA
// addresses in the answer section. Bounded everywhere: a crafted message costs little.
import { ipv4String, ipv6String } from './address.js';

export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  rcode: number;
  questions: number;
  answerCount: number;
  /** the first question's name (lower case, no trailing dot; "" for the root) */
  qname?: string;
  qtype?: number;
  /** addresses from A/AAAA answers, with the owner name they were given for */
  addresses: Array<{ name: string; address: string }>;
  /** CNAME answers: owner → canonical name */
  aliases: Array<{ name: string; target: string }>;
}

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

const MAX_ANSWERS = 32;
const MAX_LABELS = 128;
const MAX_POINTER_JUMPS = 16;

/** Parses a DNS message; undefined when even the header or the question is broken. */
export function parseDns(buf: Buffer, start: number, length: number): DnsMessage | undefined {
  const end = Math.min(buf.length, start + length);
  if (end - start < 12) return undefined;
  const flags = buf.readUInt16BE(start + 2);
  const msg: DnsMessage = {
    id: buf.readUInt16BE(start),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    rcode: flags & 0x0f,
    questions: buf.readUInt16BE(start + 4),
    answerCount: buf.readUInt16BE(start + 6),
    addresses: [],
    aliases: [],
  };
  let at = start + 12;
  for (let q = 0; q < msg.questions && q < 4; q++) {
    const name = readName(buf, start, end, at);
    if (!name || name.next + 4 > end) return msg;
    if (q === 0) {
      msg.qname = name.name;
      msg.qtype = buf.readUInt16BE(name.next);
    }
    at = name.next + 4;
  }
  if (msg.questions > 4) return msg;
  for (let a = 0; a < msg.answerCount && a < MAX_ANSWERS; a++) {
    const owner = readName(buf, start, end, at);
    if (!owner || owner.next + 10 > end) break;
    const type = buf.readUInt16BE(owner.next);
    const rdlength = buf.readUInt16BE(owner.next + 8);
    const rdata = owner.next + 10;
    if (rdata + rdlength > end) break;
    if (type === 1 && rdlength === 4) msg.addresses.push({ name: owner.name, address: ipv4String(buf, rdata) });
    else if (type === 28 && rdlength === 16) msg.addresses.push({ name: owner.name, address: ipv6String(buf, rdata) });
    else if (type === 5) {
      const target = readName(buf, start, end, rdata);
      if (target) msg.aliases.push({ name: owner.name, target: target.name });
    }
    at = rdata + rdlength;
  }
  return msg;
}

/** Reads a possibly compressed name at `at`; `next` is where the record continues. */
export function readName(buf: Buffer, msgStart: number, end: number, at: number): { name: string; next: number } | undefined {
  const labels: string[] = [];
  let pos = at;
  let next = -1;
  let jumps = 0;
  for (let i = 0; i < MAX_LABELS; i++) {
    if (pos >= end) return undefined;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.').toLowerCase(), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= end || ++jumps > MAX_POINTER_JUMPS) return undefined;
      if (next < 0) next = pos + 2;
      pos = msgStart + (((len & 0x3f) << 8) | buf[pos + 1]!);
      continue;
    }
    if ((len & 0xc0) !== 0 || pos + 1 + len > end) return undefined;
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return undefined;
}
