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
 *  must parse cleanly; the output is a nanosecond pcap. Like mergecap, it is a k-way merge:
 *  the next packet is the earliest of the inputs' next packets (a tie goes to the later input,
 *  as in mergecap),
 *  so packets of one input never change order, even where its own timestamps step back. */
export function mergePcaps(inputs: Buffer[], opts: MergeOptions = {}): Buffer {
  if ((opts.order ?? 'time') === 'concat') return concatPcaps(inputs);
  if (inputs.length === 0) throw new Error('mergePcaps: no inputs');
  let linkType: number | undefined;
  let snaplen = 1;
  const lists = inputs.map((buf, i) => {
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
    }
    return r.packetList;
  });
  const w = new PcapWriter({ linkType: linkType ?? 1, nanosecond: true, snaplen: Math.max(snaplen, 262144) });
  const parts = [w.header()];
  const next = lists.map(() => 0);
  for (;;) {
    let pick = -1;
    let best: Packet | undefined;
    for (let i = 0; i < lists.length; i++) {
      const p = lists[i]![next[i]!];
      if (p !== undefined && (best === undefined || p.timestampNs <= best.timestampNs)) {
        pick = i;
        best = p;
      }
    }
    if (best === undefined) break;
    next[pick]!++;
    parts.push(w.record({ timestampNs: best.timestampNs, data: best.data, originalLength: best.originalLength }));
  }
  return Buffer.concat(parts);
}
