// Streaming pcap/pcapng reading, writing and segmenting.
export type { StreamFormat, Segment, SegmentSource, Packet, PacketRecord, ReadResult } from './types.js';
export { segmentOf } from './types.js';
export { sniffFormat } from './sniff.js';
export { Segmenter, type SegmenterOptions } from './segmenter.js';
export {
  readPackets,
  readRecords,
  readPacketsFromFile,
  iteratePackets,
  parseCapture,
  PacketParser,
  type ParsedCapture,
  type ByteSource,
} from './reader.js';
export {
  PcapWriter,
  PcapngWriter,
  type PcapWriterOptions,
  type PcapRecordInput,
  type PcapngInterfaceOptions,
} from './writer.js';
export { mergePcaps, concatPcaps, type MergeOptions } from './merge.js';
export { LinkType, BlockType, PCAP_MAGIC, MAX_SNAPLEN } from './constants.js';
export { isoFromNs, PcapngTimestampScale } from './timestamp.js';
