// The capture as a whole: frames and bytes, first and last timestamps, link types, and what the
// reader said about the file (format, truncation, errors).
import type { Packet, ReadResult } from '../../../lib/pcap/index.js';
import { isoFromNs } from '../../../lib/pcap/index.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import { round6 } from './stats.js';

const MAX_ERRORS = 50;

export type CaptureSummary = Pick<Summary, 'packets' | 'bytes' | 'capturedBytes' | 'start' | 'end' | 'durationSeconds' | 'format' | 'truncated' | 'linkTypes'>;

export class CaptureTracker {
  packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  private firstNs = -1n;
  private lastNs = -1n;
  private readonly linkTypes = new Map<number, number>();
  /** Packets of the current link type are counted in a plain field; the Map gets them on a change. */
  private lastLinkType = -1;
  private lastLinkTypeCount = 0;
  private format: 'pcap' | 'pcapng' | undefined;
  private truncated = false;
  private readonly errors: string[] = [];

  observe(p: Packet): void {
    this.packets++;
    this.bytes += p.originalLength;
    this.capturedBytes += p.capturedLength;
    const ns = p.timestampNs;
    if (!p.timestampUnknown) {
      if (this.firstNs < 0n || ns < this.firstNs) this.firstNs = ns;
      if (ns > this.lastNs) this.lastNs = ns;
    }
    if (p.linkType === this.lastLinkType) this.lastLinkTypeCount++;
    else {
      this.flushLinkType();
      this.lastLinkType = p.linkType;
      this.lastLinkTypeCount = 1;
    }
  }

  /** The reader's result: file-level errors and truncation. */
  readResult(r: ReadResult, source?: string): void {
    if (r.format && !this.format) this.format = r.format;
    if (r.truncated) this.truncated = true;
    for (const e of r.errors) this.error(source ? `${source}: ${e}` : e);
  }

  error(message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(message);
  }

  private flushLinkType(): void {
    if (this.lastLinkType >= 0) this.linkTypes.set(this.lastLinkType, (this.linkTypes.get(this.lastLinkType) ?? 0) + this.lastLinkTypeCount);
    this.lastLinkTypeCount = 0;
  }

  summarize(): CaptureSummary {
    this.flushLinkType();
    const durationSeconds = this.firstNs >= 0n ? Number(this.lastNs - this.firstNs) / 1e9 : 0;
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      ...(this.firstNs >= 0n ? { start: isoFromNs(this.firstNs), end: isoFromNs(this.lastNs) } : {}),
      durationSeconds: round6(durationSeconds),
      ...(this.format ? { format: this.format } : {}),
      truncated: this.truncated,
      linkTypes: Object.fromEntries([...this.linkTypes].map(([k, v]) => [String(k), v])),
    };
  }

  summarizeErrors(): string[] {
    return [...this.errors];
  }
}
