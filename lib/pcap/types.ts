// The shapes shared by the reader, the segmenter and their users (podtracer, analyzer).

export type StreamFormat = 'pcap' | 'pcapng' | 'text';

/** A self-contained piece of a capture or of a tool's text output. */
export interface Segment {
  /** pcap: global header + whole records; pcapng: SHB + the section's IDBs (and DSBs) + whole
   *  blocks; text: whole lines (the very last line of a stream may lack its newline).
   *  Joined from `parts` on first use. */
  readonly data: Buffer;
  /** The same bytes in pieces, as they came: write these (writev) to avoid joining a copy. */
  readonly parts: readonly Buffer[];
  /** Length of the segment in bytes. */
  readonly bytes: number;
  format: StreamFormat;
  /** packets (EPB/SPB/PB/pcap records) or lines */
  records: number;
  firstTimestampNs?: bigint;
  lastTimestampNs?: bigint;
  /** Set when the stream stopped being decodable: from then on segments carry the remaining
   *  bytes as they came (cut only by size), so nothing is lost, and this says why. */
  damaged?: string;
  /** Where the bytes came from, when a Segmenter cut them: see SegmentSource. */
  source?: SegmentSource;
}

/**
 * A segment's bytes as `head` followed by the input stream's bytes [start, end) (offsets count
 * every byte pushed into the Segmenter). `head` is what the stream does not hold at that place:
 * the repeated header blocks of a rotated capture segment, or a patched copy of a pcapng SHB. It
 * lets a reader that keeps the stream itself (a file) re-read a segment instead of keeping it.
 */
export interface SegmentSource {
  head: Buffer;
  start: number;
  end: number;
}

/** A segment over `parts` whose contiguous `data` is joined (once) only if someone asks for it. */
export function segmentOf(parts: readonly Buffer[], fields: { format: StreamFormat; records: number; source?: SegmentSource }): Segment {
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  let joined: Buffer | undefined;
  return {
    ...fields,
    parts,
    bytes,
    get data(): Buffer {
      joined ??= parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[], bytes);
      return joined;
    },
  };
}

export interface Packet {
  timestampNs: bigint;
  /** LINKTYPE_* (1 ethernet, 113 SLL, 276 SLL2, 101 raw, 0 null/loopback, …) */
  linkType: number;
  /** pcapng interface index within its section (0 for pcap) */
  interfaceId: number;
  capturedLength: number;
  originalLength: number;
  /** The captured bytes. May share memory with the input chunk it came from. */
  data: Buffer;
  /** Only set (to true) for pcapng Simple Packet Blocks, which carry no timestamp: their
   *  timestampNs is 0, as libpcap reports it (skip them when computing time spans). */
  timestampUnknown?: true;
}

/** One packet as a reader's record callback sees it (`PacketParser.forRecords`): one object
 *  refilled for every packet and valid only during the callback, so reading allocates nothing
 *  per packet. The packet's bytes are `buffer[offset, offset + capturedLength)`; the buffer may
 *  be the input chunk itself. */
export interface PacketRecord {
  buffer: Buffer;
  offset: number;
  capturedLength: number;
  originalLength: number;
  /** LINKTYPE_* as in Packet */
  linkType: number;
  interfaceId: number;
  /** the timestamp as whole seconds since the epoch and nanoseconds within the second
   *  (0 ≤ nanos < 10^9): the same instant as Packet.timestampNs */
  seconds: number;
  nanos: number;
  /** a pcapng Simple Packet Block: no timestamp (seconds and nanos 0, as Packet has it) */
  timestampUnknown: boolean;
}

export interface ReadResult {
  format: 'pcap' | 'pcapng' | undefined;
  packets: number;
  errors: string[];
  /** the input ended inside a record/block, or could not be read to its end */
  truncated: boolean;
}
