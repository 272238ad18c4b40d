// Joining captures: the segments of one capture back into one file, or several captures into
// one time-ordered pcap.
import { PCAP_HEADER_LENGTH } from './constants.js';
import { parseCapture } from './reader.js';
import { sniffFormat } from './sniff.js';
import type { Packet } from './types.js';
import { PcapWriter } from './writer.js';

/** Joins the segments of one capture, in order, into one capture file. pcap: the first global
 *  header is kept and the repeated ones dropped (they must all describe the same link type and
 *  timestamp precision); pcapng: segments are whole sections already, so they are appended. */
export function concatPcaps(segments: Buffer[]): Buffer {
  if (segments.length === 0) throw new Error('concatPcaps: no segments');
  const format = sniffFormat(segments[0]!);
  if (format === 'pcapng') {
    segments.forEach((s, i) => {
      if (sniffFormat(s) !== 'pcapng') throw new Error(`concatPcaps: segment ${i} is not pcapng`);
    });
    return Buffer.concat(segments);
  }
  if (format !== 'pcap') throw new Error('concatPcaps: segment 0 is not a pcap or pcapng capture');
  const header = segments[0]!.subarray(0, PCAP_HEADER_LENGTH);
  if (header.length < PCAP_HEADER_LENGTH) throw new Error('concatPcaps: segment 0 is shorter than a pcap header');
  const parts: Buffer[] = [header];
  segments.forEach((s, i) => {
    const h = s.subarray(0, PCAP_HEADER_LENGTH);
    // same magic (byte order + precision), version and link type; snaplen may differ harmlessly
    if (h.length < PCAP_HEADER_LENGTH || !h.subarray(0, 8).equals(header.subarray(0, 8)) || !h.subarray(20).equals(header.subarray(20))) {
      throw new Error(`concatPcaps: segment ${i} does not have the same pcap header as segment 0`);
    }
    parts.push(s.subarray(PCAP_HEADER_LENGTH));
  });
  return Buffer.concat(parts);
}

export interface MergeOptions {
  /** 'time' (default): all packets ordered by timestamp (stable); 'concat': segments of one
   *  capture joined in order (see concatPcaps) */
  order?: 'time' | 'concat';
}

/** Merges pcap/pcapng captures. With order 'time' the inputs must share one link type and
 *  must parse cleanly; the output is a nanosecond pcap. */
export function mergePcaps(inputs: Buffer[], opts: MergeOptions = {}): Buffer {
  if ((opts.order ?? 'time') === 'concat') return concatPcaps(inputs);
  if (inputs.length === 0) throw new Error('mergePcaps: no inputs');
  const all: Packet[] = [];
  let linkType: number | undefined;
  let snaplen = 1;
  inputs.forEach((buf, i) => {
    const r = parseCapture(buf);
    if (r.format === undefined || r.errors.length > 0) {
      throw new Error(`mergePcaps: input ${i} is not a clean capture: ${r.errors.join('; ')}`);
    }
    for (const p of r.packetList) {
      if (linkType === undefined) linkType = p.linkType;
      else if (p.linkType !== linkType) {
        throw new Error(`mergePcaps: input ${i} has link type ${p.linkType}, others ${linkType}`);
      }
      snaplen = Math.max(snaplen, p.capturedLength);
      all.push(p);
    }
  });
  // Array.prototype.sort is stable, so equal timestamps keep input order.
  all.sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
  const w = new PcapWriter({ linkType: linkType ?? 1, nanosecond: true, snaplen: Math.max(snaplen, 262144) });
  const parts = [w.header()];
  for (const p of all) parts.push(w.record({ timestampNs: p.timestampNs, data: p.data, originalLength: p.originalLength }));
  return Buffer.concat(parts);
}
