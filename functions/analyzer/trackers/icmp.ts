// ICMP and ICMPv6: message types, unreachables, and echo requests matched to their replies
// (addresses, identifier, sequence) for ping success and RTT.
import type { Decoded } from '../decode/decoded.js';
import { isEchoReply, isEchoRequest, isUnreachable } from '../decode/icmp.js';
import type { Flow } from '../flow.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import { expireOldest, optional, round4, Rtt } from './stats.js';

export class IcmpTracker {
  private readonly pending = new Map<string, number>();
  private echoRequests = 0;
  private echoReplies = 0;
  private echoAnswered = 0;
  private echoExpired = 0;
  private unreachable = 0;
  private readonly types = new Map<string, number>();
  private readonly rtt = new Rtt();

  constructor(private readonly maxTableEntries: number) {}

  observe(flow: Flow, d: Decoded, ns: number): void {
    const typeKey = `${flow.protocol}:${d.icmpType}`;
    this.types.set(typeKey, (this.types.get(typeKey) ?? 0) + 1);
    if (isUnreachable(d)) {
      this.unreachable++;
      return;
    }
    if (isEchoRequest(d)) {
      this.echoRequests++;
      flow.echoRequests++;
      const key = `${d.src}|${d.dst}|${d.icmpId}|${d.icmpSeq}`;
      if (this.pending.has(key)) return;
      if (this.pending.size >= this.maxTableEntries) expireOldest(this.pending, () => this.echoExpired++);
      this.pending.set(key, ns);
    } else if (isEchoReply(d)) {
      this.echoReplies++;
      flow.echoReplies++;
      const key = `${d.dst}|${d.src}|${d.icmpId}|${d.icmpSeq}`;
      const sent = this.pending.get(key);
      if (sent !== undefined) {
        this.pending.delete(key);
        this.echoAnswered++;
        this.rtt.add(ns - sent);
      }
    }
  }

  get successRate(): number | undefined {
    return this.echoRequests > 0 ? round4(this.echoAnswered / (this.echoAnswered + this.pending.size + this.echoExpired)) : undefined;
  }

  summarize(): Summary['icmp'] {
    return {
      echoRequests: this.echoRequests,
      echoReplies: this.echoReplies,
      echoAnswered: this.echoAnswered,
      echoLost: this.pending.size + this.echoExpired,
      ...optional('successRate', this.successRate),
      rtt: this.rtt.stats(),
      unreachable: this.unreachable,
      types: Object.fromEntries(this.types),
    };
  }
}
