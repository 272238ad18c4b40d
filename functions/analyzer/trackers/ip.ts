// The network layer: IPv4 / IPv6 packets, fragments, and frames that carry no IP packet.
import type { Decoded } from '../decode/decoded.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';

/** Names for the EtherTypes a capture commonly holds besides IP. */
const ETHERTYPE_NAMES: Record<number, string> = {
  0x0806: 'ARP',
  0x8035: 'RARP',
  0x22f0: 'AVTP',
  0x88cc: 'LLDP',
  0x8809: 'slow protocols (LACP)',
  0x888e: '802.1X',
  0x88e5: 'MACsec',
  0x88f7: 'PTP',
  0x8847: 'MPLS',
  0x8848: 'MPLS multicast',
  0x8863: 'PPPoE discovery',
  0x8864: 'PPPoE session',
  0x88a8: '802.1ad',
  0x8100: '802.1Q',
  0x894f: 'NSH',
  0x9000: 'loopback test',
  0xd28b: 'Arista (not a timestamp header)',
};

/** Distinct EtherTypes kept apart; the rest are summed under "other". */
const MAX_NON_IP_TYPES = 64;

export function etherTypeLabel(type: number): string {
  const hex = `EtherType 0x${type.toString(16).padStart(4, '0')}`;
  if (type < 0x600) return `${hex} (802.3 length or a Linux cooked protocol)`;
  const name = ETHERTYPE_NAMES[type];
  return name === undefined ? hex : `${hex} ${name}`;
}

export class IpTracker {
  private nonIp = 0;
  /** non-IP frames that were read, by EtherType (0: the link layer had none to give) */
  private readonly nonIpTypes = new Map<number, number>();
  private v4 = 0;
  private v6 = 0;
  private fragments = 0;
  private laterFragments = 0;
  private unattributedFragments = 0;

  /** Counts the frame; false when it carries no IP packet (nothing more to look at). */
  observe(d: Decoded): boolean {
    if (d.ipVersion === 0) {
      this.nonIp++;
      // an unreadable frame is counted under its decode problem
      if (d.problem === '') {
        const n = this.nonIpTypes.get(d.etherType);
        if (n !== undefined) this.nonIpTypes.set(d.etherType, n + 1);
        else if (this.nonIpTypes.size < MAX_NON_IP_TYPES) this.nonIpTypes.set(d.etherType, 1);
        else this.nonIpTypes.set(-1, (this.nonIpTypes.get(-1) ?? 0) + 1);
      }
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

  summarizeNonIp(): Pick<Summary, 'nonIpPackets' | 'nonIpTypes'> {
    const types = [...this.nonIpTypes].sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    return {
      nonIpPackets: this.nonIp,
      nonIpTypes: Object.fromEntries(types.map(([t, n]) => [t < 0 ? 'other EtherTypes' : t === 0 ? 'not IP per the link layer (no EtherType)' : etherTypeLabel(t), n])),
    };
  }
}
