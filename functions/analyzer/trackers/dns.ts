// DNS over UDP and TCP: queries matched to responses (transport, client address and port, server
// address, message id),
// rcodes, latency, the names asked for, and the addresses the answers gave them (which name the
// servers, destinations and talkers elsewhere in the summary).
import type { Decoded } from '../decode/decoded.js';
import type { Flow } from '../flow.js';
import { emptyDnsMessage, readDns, rcodeName } from '../decode/dns.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import type { ProblemTracker } from './problems.js';
import { bump, expireOldest, optional, round4, Rtt } from './stats.js';

export const DNS_PORT = 53;
const MAX_NAMES_PER_ADDRESS = 4;

interface DnsName {
  queries: number;
  answered: number;
  failed: number;
  rcodes: Record<string, number>;
  addresses: Set<string>;
}

function newDnsName(): DnsName {
  return { queries: 0, answered: 0, failed: 0, rcodes: {}, addresses: new Set() };
}

/** A transaction's key: transport, client address and port, server address, message id. For
 *  IPv4 a flat 8-character string of 16-bit units (cheap to build and hash); otherwise the text
 *  form, which is longer, so the two never meet. */
function transactionKey(transport: string, d: Decoded, response: boolean, id: number): string {
  const port = response ? d.dstPort : d.srcPort;
  if (d.ipVersion === 4) {
    const client = response ? d.dstV4 : d.srcV4;
    const server = response ? d.srcV4 : d.dstV4;
    return String.fromCharCode(transport === '' ? 0 : 1, client >>> 16, client & 0xffff, port, server >>> 16, server & 0xffff, id, 0x7c);
  }
  return response ? `${transport}${d.dst6}|${port}|${d.src6}|${id}` : `${transport}${d.src6}|${port}|${d.dst6}|${id}`;
}

export class DnsTracker {
  private readonly pending = new Map<string, { ns: number; qname: string }>();
  private queries = 0;
  private responses = 0;
  private answered = 0;
  private failed = 0;
  private unmatched = 0;
  private expired = 0;
  private readonly rcodes = new Map<string, number>();
  private readonly latency = new Rtt();
  private readonly names = new Map<string, DnsName>();
  private readonly addressNames = new Map<string, string[]>();
  /** every message is read into this one */
  private readonly msg = emptyDnsMessage();

  constructor(
    private readonly maxTableEntries: number,
    private readonly problems: ProblemTracker,
  ) {}

  /** Names the capture's DNS answers gave this address. */
  readonly namesOf = (ip: string): string[] | undefined => this.addressNames.get(ip);

  /** A DNS message over UDP: the L4 payload of `frame` as decoded into `d`. */
  observe(frame: Buffer, d: Decoded, ns: number): void {
    this.message(frame, d.payloadOffset, d.capturedPayload, d, ns, '');
  }

  /** A TCP segment to or from port 53 (not a retransmission): the messages it starts, each after
   *  its 2-byte length (RFC 1035 4.2.2). A message that goes on in later segments is read from
   *  its first segment (header and question are what counts), and the flow's DNS skip of the
   *  segment's direction carries the bytes still to come so they are not taken for a length. */
  observeTcp(frame: Buffer, d: Decoded, ns: number, flow: Flow, fromClient: boolean): void {
    let at = d.payloadOffset;
    let left = d.payloadLength;
    const captured = d.payloadOffset + d.capturedPayload;
    let dnsSkip = fromClient ? flow.cDnsSkip : flow.sDnsSkip;
    if (dnsSkip > 0) {
      const skip = Math.min(dnsSkip, left);
      dnsSkip -= skip;
      at += skip;
      left -= skip;
    }
    while (left >= 2 && at + 2 <= captured) {
      const length = frame.readUInt16BE(at);
      at += 2;
      left -= 2;
      this.message(frame, at, Math.min(length, captured - at), d, ns, 't|');
      if (length > left) {
        dnsSkip = length - left;
        left = 0;
        break;
      }
      at += length;
      left -= length;
    }
    // a length prefix split between segments: what follows cannot be framed
    if (left > 0) dnsSkip = Infinity;
    if (fromClient) flow.cDnsSkip = dnsSkip;
    else flow.sDnsSkip = dnsSkip;
  }

  private message(frame: Buffer, start: number, length: number, d: Decoded, ns: number, transport: string): void {
    const msg = this.msg;
    if (!readDns(frame, start, length, msg, false)) {
      this.problems.observe('undecodable DNS message');
      return;
    }
    const max = this.maxTableEntries;
    if (!msg.response) {
      this.queries++;
      const key = transactionKey(transport, d, false, msg.id);
      const qname = msg.qname ?? '';
      bump(this.names, qname, max, newDnsName).queries++;
      if (this.pending.has(key)) return; // a repeated query keeps the first one's time
      if (this.pending.size >= max) expireOldest(this.pending, () => this.expired++);
      this.pending.set(key, { ns, qname });
      return;
    }
    this.responses++;
    const rc = rcodeName(msg.rcode);
    this.rcodes.set(rc, (this.rcodes.get(rc) ?? 0) + 1);
    const key = transactionKey(transport, d, true, msg.id);
    const pending = this.pending.get(key);
    if (!pending) {
      this.unmatched++;
    } else {
      this.pending.delete(key);
      this.latency.add(ns - pending.ns);
    }
    const name = bump(this.names, msg.qname ?? pending?.qname ?? '', max, newDnsName);
    name.rcodes[rc] = (name.rcodes[rc] ?? 0) + 1;
    if (msg.rcode === 0) {
      this.answered++;
      name.answered++;
    } else {
      this.failed++;
      name.failed++;
    }
    for (const { address } of msg.addresses) {
      if (name.addresses.size < 16) name.addresses.add(address);
      // the question's name is what a client asked for; CNAME owners would confuse the reader
      const qn = msg.qname ?? '';
      const known = this.addressNames.get(address);
      if (!known) {
        if (this.addressNames.size < max) this.addressNames.set(address, [qn]);
      } else if (!known.includes(qn) && known.length < MAX_NAMES_PER_ADDRESS) known.push(qn);
    }
  }

  private get unanswered(): number {
    return this.pending.size + this.expired;
  }

  get failureRate(): number | undefined {
    const done = this.answered + this.failed + this.unanswered;
    return done > 0 ? round4((this.failed + this.unanswered) / done) : undefined;
  }

  summarize(): Summary['dns'] {
    return {
      queries: this.queries,
      responses: this.responses,
      answered: this.answered,
      failed: this.failed,
      unanswered: this.unanswered,
      unmatchedResponses: this.unmatched,
      ...optional('failureRate', this.failureRate),
      rcodes: Object.fromEntries(this.rcodes),
      latency: this.latency.stats(),
      names: [...this.names.entries()]
        .sort((x, y) => y[1].queries - x[1].queries || x[0].localeCompare(y[0]))
        .slice(0, 100)
        .map(([name, n]) => ({ name, queries: n.queries, answered: n.answered, failed: n.failed, rcodes: n.rcodes, addresses: [...n.addresses] })),
    };
  }
}
