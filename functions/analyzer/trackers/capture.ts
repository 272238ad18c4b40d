// The capture as a whole: frames and bytes, first and last timestamps, link types, and what the
// reader said about the file (format, truncation, errors).
import type { PacketRecord, ReadResult } from '../../../lib/pcap/types.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';
import { round6, type IsoOf } from './stats.js';

const MAX_ERRORS = 50;
/** Time is followed per interface: a capture of several interfaces (pcapng) interleaves their
 *  packets only roughly (dumpcap was seen 0.23 s out of order). Within one interface, steps back
 *  up to this are taken as the reordering of a busy multi-queue or `-i any` capture; longer ones
 *  (a file holding its packets twice, files merged in the wrong order) are reported. */
const BACKWARDS_TOLERANCE_NS = 100_000_000;

export type CaptureSummary = Pick<Summary, 'packets' | 'bytes' | 'capturedBytes' | 'start' | 'end' | 'durationSeconds' | 'format' | 'truncated' | 'linkTypes'>;

export class CaptureTracker {
  packets = 0;
  private bytes = 0;
  private capturedBytes = 0;
  /** earliest and latest times (nanoseconds from the analysis' base), once a timestamp was seen */
  private timed = false;
  private firstNs = 0;
  private lastNs = 0;
  private readonly linkTypes = new Map<number, number>();
  /** Packets of the current link type are counted in a plain field; the Map gets them on a change. */
  private lastLinkType = -1;
  private lastLinkTypeCount = 0;
  private format: 'pcap' | 'pcapng' | undefined;
  private truncated = false;
  private readonly errors: string[] = [];
  /** the previous packet's timestamp on interface 0 (and the others'), and the steps back in
   *  time beyond the tolerance */
  private prevNs = -Infinity;
  private readonly prevNsOf = new Map<number, number>();
  private backSteps = 0;
  private maxBackNs = 0;

  /** A packet and its time (nanoseconds from the analysis' base). */
  observe(p: PacketRecord, ns: number): void {
    this.packets++;
    this.bytes += p.originalLength;
    this.capturedBytes += p.capturedLength;
    if (!p.timestampUnknown) {
      if (!this.timed) {
        this.timed = true;
        this.firstNs = ns;
        this.lastNs = ns;
      } else if (ns < this.firstNs) this.firstNs = ns;
      if (ns > this.lastNs) this.lastNs = ns;
      if (p.interfaceId === 0) {
        if (ns < this.prevNs) this.stepBack(this.prevNs - ns);
        this.prevNs = ns;
      } else this.otherInterface(p.interfaceId, ns);
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

  private otherInterface(id: number, ns: number): void {
    const prev = this.prevNsOf.get(id);
    if (prev !== undefined && ns < prev) this.stepBack(prev - ns);
    this.prevNsOf.set(id, ns);
  }

  private stepBack(ns: number): void {
    if (ns <= BACKWARDS_TOLERANCE_NS) return;
    this.backSteps++;
    if (ns > this.maxBackNs) this.maxBackNs = ns;
  }

  private flushLinkType(): void {
    if (this.lastLinkType >= 0) this.linkTypes.set(this.lastLinkType, (this.linkTypes.get(this.lastLinkType) ?? 0) + this.lastLinkTypeCount);
    this.lastLinkTypeCount = 0;
  }

  summarize(isoOf: IsoOf): CaptureSummary {
    this.flushLinkType();
    const durationSeconds = this.timed ? (this.lastNs - this.firstNs) / 1e9 : 0;
    return {
      packets: this.packets,
      bytes: this.bytes,
      capturedBytes: this.capturedBytes,
      ...(this.timed ? { start: isoOf(this.firstNs), end: isoOf(this.lastNs) } : {}),
      durationSeconds: round6(durationSeconds),
      ...(this.format ? { format: this.format } : {}),
      truncated: this.truncated,
      linkTypes: Object.fromEntries([...this.linkTypes].map(([k, v]) => [String(k), v])),
    };
  }

  summarizeErrors(): string[] {
    const errors = [...this.errors];
    if (this.backSteps > 0) {
      errors.push(
        `time goes backwards ${this.backSteps} times by more than 0.1 s on one interface (at most ${this.maxBackNs / 1e9} s): ` +
          'packets out of order, or the capture holds packets twice; durations span the earliest to the latest timestamp',
      );
    }
    return errors;
  }
}
