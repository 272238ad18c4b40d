// The network layer: IPv4 / IPv6 packets, fragments, and frames that carry no IP packet.
import type { Decoded } from '../decode/decoded.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';

export class IpTracker {
  private nonIp = 0;
  private v4 = 0;
  private v6 = 0;
  private fragments = 0;
  private laterFragments = 0;
  private unattributedFragments = 0;

  /** Counts the frame; false when it carries no IP packet (nothing more to look at). */
  observe(d: Decoded): boolean {
    if (d.ipVersion === 0) {
      this.nonIp++;
      return false;
    }
    if (d.ipVersion === 4) this.v4++;
    else this.v6++;
    if (d.fragment) this.fragments++;
    if (d.laterFragment) this.laterFragments++;
    return true;
  }

  /** A later fragment whose first fragment was not seen (or has left the table). */
  unattributed(): void {
    this.unattributedFragments++;
  }

  summarize(): Summary['ip'] {
    return {
      v4Packets: this.v4,
      v6Packets: this.v6,
      fragments: this.fragments,
      laterFragments: this.laterFragments,
      unattributedFragments: this.unattributedFragments,
    };
  }

  summarizeNonIp(): number {
    return this.nonIp;
  }
}
