// Magic numbers of the pcap and pcapng formats.

/** pcap magic numbers as read big-endian from the first four bytes of a file. */
export const PCAP_MAGIC = {
  micro: 0xa1b2c3d4,
  nano: 0xa1b23c4d,
  /** Alexey Kuznetzov's modified pcap: 8 more bytes in every record header */
  modified: 0xa1b2cd34,
} as const;

export const PCAP_HEADER_LENGTH = 24;

export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const BlockType = {
  SectionHeader: 0x0a0d0d0a,
  InterfaceDescription: 0x00000001,
  /** obsolete Packet Block */
  Packet: 0x00000002,
  SimplePacket: 0x00000003,
  NameResolution: 0x00000004,
  InterfaceStatistics: 0x00000005,
  EnhancedPacket: 0x00000006,
  DecryptionSecrets: 0x0000000a,
  Custom: 0x00000bad,
  CustomNoCopy: 0x40000bad,
} as const;

/** Common LINKTYPE_* values (tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  /** raw IP as OpenBSD's DLT_RAW number appears in some files */
  RAW_OPENBSD: 12,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  /** Linux netfilter log (tcpdump -i nflog:N) */
  NFLOG: 239,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** libpcap's largest snapshot length for ordinary link types; a pcap record claiming more
 *  (than this or the file's snaplen, whichever is larger) is taken as corruption. */
export const MAX_SNAPLEN = 262144;

/** Upper bound for one record or block: keeps a corrupt length field from making a reader or
 *  the segmenter wait for (and buffer) gigabytes. */
export const MAX_FRAME_BYTES = 128 * 1024 * 1024;
