// Joins one target's segments as they arrive, one in memory at a time, into the bytes
// concatPcaps would produce for all of them: the first pcap global header kept, later ones
// checked against it and dropped; pcapng sections and text appended as they are.
import { concatPcaps } from '../lib/pcap/index.js';
import { sniffFormat } from '../lib/pcap/sniff.js';
import type { SegmentFormat } from '../lib/storage-keys.js';

const PCAP_HEADER = 24;

export class SegmentJoiner {
  private header: Buffer | undefined;
  constructor(private readonly format: SegmentFormat) {}

  /** The bytes this segment adds to the joined file; throws when it does not fit the first. */
  next(segment: Buffer): Buffer {
    if (this.format === 'text') return segment;
    if (this.format === 'pcapng') {
      if (sniffFormat(segment) !== 'pcapng') throw new Error('a .pcapng segment is not pcapng');
      return segment;
    }
    if (this.header === undefined) {
      concatPcaps([segment]); // is a pcap at all
      this.header = Buffer.from(segment.subarray(0, PCAP_HEADER));
      return segment;
    }
    return concatPcaps([this.header, segment]).subarray(PCAP_HEADER);
  }
}
