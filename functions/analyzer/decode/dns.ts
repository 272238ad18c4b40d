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

/** An empty message, to be filled by readDns (and filled again for every message). */
export function emptyDnsMessage(): DnsMessage {
  return { id: 0, response: false, opcode: 0, rcode: 0, questions: 0, answerCount: 0, addresses: [], aliases: [] };
}

/** Parses a DNS message; undefined when even the header or the question is broken. */
export function parseDns(buf: Buffer, start: number, length: number): DnsMessage | undefined {
  const msg = emptyDnsMessage();
  return readDns(buf, start, length, msg, true) ? msg : undefined;
}

/** Reads a DNS message into `msg` (reset first); false when even the header is broken. Without
 *  `ownerNames` the answers' owner names and CNAME targets are only stepped over (addresses get
 *  the owner name '', no aliases): what the analysis needs, at a fraction of the strings. */
export function readDns(buf: Buffer, start: number, length: number, msg: DnsMessage, ownerNames: boolean): boolean {
  const end = Math.min(buf.length, start + length);
  if (end - start < 12) return false;
  const flags = (buf[start + 2]! << 8) | buf[start + 3]!;
  msg.id = (buf[start]! << 8) | buf[start + 1]!;
  msg.response = (flags & 0x8000) !== 0;
  msg.opcode = (flags >> 11) & 0x0f;
  msg.rcode = flags & 0x0f;
  msg.questions = (buf[start + 4]! << 8) | buf[start + 5]!;
  msg.answerCount = (buf[start + 6]! << 8) | buf[start + 7]!;
  msg.qname = undefined;
  msg.qtype = undefined;
  msg.addresses.length = 0;
  msg.aliases.length = 0;
  let at = start + 12;
  for (let q = 0; q < msg.questions && q < 4; q++) {
    const next = walkName(buf, start, end, at, q === 0);
    if (next < 0 || next + 4 > end) return true;
    if (q === 0) {
      msg.qname = nameText;
      msg.qtype = buf.readUInt16BE(next);
    }
    at = next + 4;
  }
  if (msg.questions > 4) return true;
  for (let a = 0; a < msg.answerCount && a < MAX_ANSWERS; a++) {
    const next = walkName(buf, start, end, at, ownerNames);
    if (next < 0 || next + 10 > end) break;
    const owner = ownerNames ? nameText : '';
    const type = buf.readUInt16BE(next);
    const rdlength = buf.readUInt16BE(next + 8);
    const rdata = next + 10;
    if (rdata + rdlength > end) break;
    if (type === 1 && rdlength === 4) msg.addresses.push({ name: owner, address: ipv4String(buf, rdata) });
    else if (type === 28 && rdlength === 16) msg.addresses.push({ name: owner, address: ipv6String(buf, rdata) });
    else if (type === 5 && ownerNames) {
      if (walkName(buf, start, end, rdata, true) >= 0) msg.aliases.push({ name: owner, target: nameText });
    }
    at = rdata + rdlength;
  }
  return true;
}

/** Reads a possibly compressed name at `at`; `next` is where the record continues. */
export function readName(buf: Buffer, msgStart: number, end: number, at: number): { name: string; next: number } | undefined {
  const next = walkName(buf, msgStart, end, at, true);
  return next < 0 ? undefined : { name: nameText, next };
}

/** The name walkName read last (with `text`), and the bytes it is built in: labels joined by
 *  dots and lower-cased byte by byte, then made a string once. */
let nameText = '';
const nameBytes = Buffer.allocUnsafe(MAX_LABELS * 64);

/** Walks a possibly compressed name at `at` and returns where the record continues (-1 when
 *  the name is broken); with `text`, leaves the name in nameText (lower case, no trailing dot,
 *  "" for the root). */
function walkName(buf: Buffer, msgStart: number, end: number, at: number, text: boolean): number {
  let pos = at;
  let next = -1;
  let jumps = 0;
  let n = 0;
  for (let i = 0; i < MAX_LABELS; i++) {
    if (pos >= end) return -1;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      if (text) nameText = n === 0 ? '' : nameBytes.toString('latin1', 0, n);
      return next;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= end || ++jumps > MAX_POINTER_JUMPS) return -1;
      if (next < 0) next = pos + 2;
      pos = msgStart + (((len & 0x3f) << 8) | buf[pos + 1]!);
      continue;
    }
    if ((len & 0xc0) !== 0 || pos + 1 + len > end) return -1;
    if (text) {
      if (n > 0) nameBytes[n++] = 0x2e;
      for (let k = pos + 1; k <= pos + len; k++) nameBytes[n++] = lowerLatin1(buf[k]!);
    }
    pos += 1 + len;
  }
  return -1;
}

/** String.prototype.toLowerCase on one Latin-1 character: A–Z and À–Þ (but ×) move up by 0x20. */
function lowerLatin1(c: number): number {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7) ? c + 0x20 : c;
}
