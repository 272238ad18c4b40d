// Link layers: where the network-layer packet starts in a frame and which protocol it is.
// Ethernet with 802.1Q / QinQ tags and Arista timestamp headers, Linux cooked v1 and v2
// (tcpdump -i any), raw IP, the BSD null/loopback headers, and Linux NFLOG.
import { EtherType, type Decoded } from './decoded.js';
import { LinkType as LINK_TYPES } from '../../../lib/pcap/constants.js';

// Each function reads the frame in buf[start, end), sets d.etherType (0x0800 IPv4, 0x86dd IPv6,
// other values: not IP) and d.l3Offset and returns '' — or a problem string. Nothing is allocated
// per packet.

/** Tags stacked deeper than this are taken as garbage rather than followed. */
const MAX_VLAN_TAGS = 4;

function u16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function ethernet(buf: Buffer, d: Decoded, start: number, end: number): string {
  if (end < start + 14) return 'truncated ethernet header';
  return vlanAware(buf, end, d, u16(buf, start + 12), start + 14);
}

function found(d: Decoded, etherType: number, offset: number): string {
  d.etherType = etherType;
  d.l3Offset = offset;
  return '';
}

function isVlan(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD;
}

/** LINKTYPE_LINUX_SLL (113): 16-byte header, protocol at 14. */
export function sll(buf: Buffer, d: Decoded, start: number, end: number): string {
  if (end < start + 16) return 'truncated Linux cooked (SLL) header';
  // protocol values below 0x600 (802.3 framing, CAN, …) are no EtherType and so not IP
  return vlanAware(buf, end, d, u16(buf, start + 14), start + 16);
}

/** LINKTYPE_LINUX_SLL2 (276): 20-byte header, protocol first. */
export function sll2(buf: Buffer, d: Decoded, start: number, end: number): string {
  if (end < start + 20) return 'truncated Linux cooked (SLL2) header';
  return vlanAware(buf, end, d, u16(buf, start), start + 20);
}

/** Arista's vendor EtherType: subtype 1 is a timestamp header (tcpdump's and Wireshark's
 *  reading): version 0x?010 a 64-bit, 0x?020 a 48-bit timestamp, then the original EtherType.
 *  The length of the header, or 0 when it is some other subtype. */
function aristaHeaderLength(buf: Buffer, end: number, at: number): number {
  if (end < at + 4 || u16(buf, at) !== 1) return 0;
  const v = buf[at + 3]!;
  return v === 0x10 ? 4 + 8 : v === 0x20 ? 4 + 6 : 0;
}

/** Follows 802.1Q/QinQ tags and Arista timestamp headers from the protocol field `proto`, whose
 *  payload starts at `at`. */
function vlanAware(buf: Buffer, end: number, d: Decoded, proto: number, at: number): string {
  let type = proto;
  for (let tags = 0; isVlan(type) || type === EtherType.ARISTA; tags++) {
    if (tags >= MAX_VLAN_TAGS) return 'too many VLAN tags';
    if (type === EtherType.ARISTA) {
      const n = aristaHeaderLength(buf, end, at);
      if (n === 0) break; // another Arista subtype: counted as that EtherType
      if (end < at + n + 2) return 'truncated Arista timestamp header';
      type = u16(buf, at + n);
      at += n + 2;
      continue;
    }
    if (end < at + 4) return 'truncated 802.1Q tag';
    type = u16(buf, at + 2);
    at += 4;
  }
  return found(d, type, at);
}

/** Raw IP (101, and 12 as some systems write it): the version nibble says which. */
export function rawIp(buf: Buffer, d: Decoded, start: number, end: number): string {
  if (end < start + 1) return 'empty raw IP packet';
  const v = buf[start]! >> 4;
  if (v === 4) return found(d, EtherType.IPV4, start);
  if (v === 6) return found(d, EtherType.IPV6, start);
  return `raw IP packet of IP version ${v}`;
}

/** BSD address families for IPv6 differ by system (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30). */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

/** LINKTYPE_NULL (0): a 4-byte address family in the writer's byte order; LINKTYPE_LOOP (108): big-endian. */
export function nullLoopback(buf: Buffer, d: Decoded, start: number, end: number, bigEndianOnly: boolean): string {
  if (end < start + 4) return 'truncated loopback header';
  const be = buf.readUInt32BE(start);
  // Host order is unknown for LINKTYPE_NULL: the family is small, so the non-zero half tells.
  const family = bigEndianOnly || be < 0x10000 ? be : buf.readUInt32LE(start);
  if (family === AF_INET) return found(d, EtherType.IPV4, start + 4);
  if (AF_INET6.has(family)) return found(d, EtherType.IPV6, start + 4);
  return found(d, 0, start + 4);
}

const NFULA_PAYLOAD = 9;
const AF_INET6_LINUX = 10;

/** LINKTYPE_NFLOG (239, `tcpdump -i nflog:N`): family, version, resource id, then TLVs (length
 *  including its 4-byte header, type; both in the writer's byte order; padded to 4 bytes). The
 *  packet is the payload TLV (type 9): an IP packet of the header's family. */
export function nflog(buf: Buffer, d: Decoded, start: number, end: number): string {
  if (end < start + 4) return 'truncated NFLOG header';
  const family = buf[start]!;
  // The byte order is the writer's: the type field is small, so the non-zero half tells.
  let at = start + 4;
  let le = true;
  if (end >= start + 8) le = buf.readUInt16LE(start + 6) < 0x100;
  while (at + 4 <= end) {
    const len = le ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
    const type = (le ? buf.readUInt16LE(at + 2) : buf.readUInt16BE(at + 2)) & 0x7fff;
    if (len < 4) return 'malformed NFLOG TLV';
    if (type === NFULA_PAYLOAD) {
      if (family === AF_INET) return found(d, EtherType.IPV4, at + 4);
      if (family === AF_INET6_LINUX) return found(d, EtherType.IPV6, at + 4);
      return found(d, 0, at + 4);
    }
    at += (len + 3) & ~3;
  }
  return 'NFLOG record without a packet';
}

/** Where the IP packet of a frame of this link type starts; a non-empty string says why there is none. */
export function linkLayer(linkType: number, buf: Buffer, d: Decoded, start: number, end: number): string {
  switch (linkType) {
    case LINK_TYPES.ETHERNET:
      return ethernet(buf, d, start, end);
    case LINK_TYPES.LINUX_SLL:
      return sll(buf, d, start, end);
    case LINK_TYPES.LINUX_SLL2:
      return sll2(buf, d, start, end);
    case LINK_TYPES.RAW:
    case LINK_TYPES.RAW_OPENBSD:
      return rawIp(buf, d, start, end);
    case LINK_TYPES.IPV4:
      return found(d, EtherType.IPV4, start);
    case LINK_TYPES.IPV6:
      return found(d, EtherType.IPV6, start);
    case LINK_TYPES.NULL:
      return nullLoopback(buf, d, start, end, false);
    case LINK_TYPES.LOOP:
      return nullLoopback(buf, d, start, end, true);
    case LINK_TYPES.NFLOG:
      return nflog(buf, d, start, end);
    default:
      return `unsupported link type ${linkType}`;
  }
}
