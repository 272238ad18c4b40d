// UDP: flows, packets and bytes (DNS, which rides on it, has its own tracker).
import type { Flow } from '../flow.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';

export class UdpTracker {
  private flows = 0;
  private packets = 0;
  private bytes = 0;

  /** A UDP flow leaving the table. */
  finalize(f: Flow): void {
    this.flows++;
    this.packets += f.packets;
    this.bytes += f.bytes;
  }

  summarize(): Summary['udp'] {
    return { flows: this.flows, packets: this.packets, bytes: this.bytes };
  }
}
