// Link layers: where the network-layer packet starts in a frame and which protocol it is.
// Ethernet with 802.1Q / QinQ tags, Linux cooked v1 and v2 (tcpdump -i any), raw IP, and the
// BSD null/loopback headers.
import { EtherType, type Decoded } from './decoded.js';
import { LinkType as LINK_TYPES } from '../../../lib/pcap/constants.js';

// Each function sets d.etherType (0x0800 IPv4, 0x86dd IPv6, other values: not IP) and d.l3Offset
// and returns '' — or a problem string. Nothing is allocated per packet.

/** Tags stacked deeper than this are taken as garbage rather than followed. */
const MAX_VLAN_TAGS = 4;

export function ethernet(buf: Buffer, d: Decoded, offset = 0): string {
  if (buf.length < offset + 14) return 'truncated ethernet header';
  return vlanAware(buf, d, buf.readUInt16BE(offset + 12), offset + 14);
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
export function sll(buf: Buffer, d: Decoded): string {
  if (buf.length < 16) return 'truncated Linux cooked (SLL) header';
  // protocol values below 0x600 (802.3 framing, CAN, …) are no EtherType and so not IP
  return vlanAware(buf, d, buf.readUInt16BE(14), 16);
}

/** LINKTYPE_LINUX_SLL2 (276): 20-byte header, protocol first. */
export function sll2(buf: Buffer, d: Decoded): string {
  if (buf.length < 20) return 'truncated Linux cooked (SLL2) header';
  return vlanAware(buf, d, buf.readUInt16BE(0), 20);
}

/** Follows 802.1Q/QinQ tags from the protocol field `proto`, whose payload starts at `at`. */
function vlanAware(buf: Buffer, d: Decoded, proto: number, at: number): string {
  let type = proto;
  for (let tags = 0; isVlan(type); tags++) {
    if (tags >= MAX_VLAN_TAGS) return 'too many VLAN tags';
    if (buf.length < at + 4) return 'truncated 802.1Q tag';
    type = buf.readUInt16BE(at + 2);
    at += 4;
  }
  return found(d, type, at);
}

/** Raw IP (101, and 12 as some systems write it): the version nibble says which. */
export function rawIp(buf: Buffer, d: Decoded): string {
  if (buf.length < 1) return 'empty raw IP packet';
  const v = buf[0]! >> 4;
  if (v === 4) return found(d, EtherType.IPV4, 0);
  if (v === 6) return found(d, EtherType.IPV6, 0);
  return `raw IP packet of IP version ${v}`;
}

/** BSD address families for IPv6 differ by system (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30). */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

/** LINKTYPE_NULL (0): a 4-byte address family in the writer's byte order; LINKTYPE_LOOP (108): big-endian. */
export function nullLoopback(buf: Buffer, d: Decoded, bigEndianOnly: boolean): string {
  if (buf.length < 4) return 'truncated loopback header';
  const be = buf.readUInt32BE(0);
  // Host order is unknown for LINKTYPE_NULL: the family is small, so the non-zero half tells.
  const family = bigEndianOnly || be < 0x10000 ? be : buf.readUInt32LE(0);
  if (family === AF_INET) return found(d, EtherType.IPV4, 4);
  if (AF_INET6.has(family)) return found(d, EtherType.IPV6, 4);
  return found(d, 0, 4);
}


/** Where the IP packet of a frame of this link type starts; a non-empty string says why there is none. */
export function linkLayer(linkType: number, buf: Buffer, d: Decoded): string {
  switch (linkType) {
    case LINK_TYPES.ETHERNET:
      return ethernet(buf, d);
    case LINK_TYPES.LINUX_SLL:
      return sll(buf, d);
    case LINK_TYPES.LINUX_SLL2:
      return sll2(buf, d);
    case LINK_TYPES.RAW:
    case LINK_TYPES.RAW_OPENBSD:
      return rawIp(buf, d);
    case LINK_TYPES.IPV4:
      return found(d, EtherType.IPV4, 0);
    case LINK_TYPES.IPV6:
      return found(d, EtherType.IPV6, 0);
    case LINK_TYPES.NULL:
      return nullLoopback(buf, d, false);
    case LINK_TYPES.LOOP:
      return nullLoopback(buf, d, true);
    default:
      return `unsupported link type ${linkType}`;
  }
}
