// Link layers: where the network-layer packet starts in a frame and which protocol it is.
// Ethernet with 802.1Q / QinQ tags, Linux cooked v1 and v2 (tcpdump -i any), raw IP, and the
// BSD null/loopback headers.
import { EtherType } from './decoded.js';

export interface L3Start {
  /** EtherType of the payload (0x0800 IPv4, 0x86dd IPv6, other values: not IP) */
  etherType: number;
  offset: number;
}

/** Tags stacked deeper than this are taken as garbage rather than followed. */
const MAX_VLAN_TAGS = 4;

export function ethernet(buf: Buffer, offset = 0): L3Start | string {
  if (buf.length < offset + 14) return 'truncated ethernet header';
  let type = buf.readUInt16BE(offset + 12);
  let at = offset + 14;
  for (let tags = 0; isVlan(type); tags++) {
    if (tags >= MAX_VLAN_TAGS) return 'too many VLAN tags';
    if (buf.length < at + 4) return 'truncated 802.1Q tag';
    type = buf.readUInt16BE(at + 2);
    at += 4;
  }
  return { etherType: type, offset: at };
}

function isVlan(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD;
}

/** LINKTYPE_LINUX_SLL (113): 16-byte header, protocol at 14. */
export function sll(buf: Buffer): L3Start | string {
  if (buf.length < 16) return 'truncated Linux cooked (SLL) header';
  const arphrd = buf.readUInt16BE(2);
  const proto = buf.readUInt16BE(14);
  // An Ethernet-framed payload inside cooked capture is signalled by protocol 1 (802.3) etc.;
  // only EtherType values (>= 0x600) describe an IP payload directly.
  return vlanAware(buf, proto, 16, arphrd);
}

/** LINKTYPE_LINUX_SLL2 (276): 20-byte header, protocol first. */
export function sll2(buf: Buffer): L3Start | string {
  if (buf.length < 20) return 'truncated Linux cooked (SLL2) header';
  return vlanAware(buf, buf.readUInt16BE(0), 20, buf.readUInt16BE(8));
}

function vlanAware(buf: Buffer, proto: number, at: number, _arphrd: number): L3Start | string {
  let type = proto;
  for (let tags = 0; isVlan(type); tags++) {
    if (tags >= MAX_VLAN_TAGS) return 'too many VLAN tags';
    if (buf.length < at + 4) return 'truncated 802.1Q tag';
    type = buf.readUInt16BE(at + 2);
    at += 4;
  }
  return { etherType: type, offset: at };
}

/** Raw IP (101, and 12 as some systems write it): the version nibble says which. */
export function rawIp(buf: Buffer): L3Start | string {
  if (buf.length < 1) return 'empty raw IP packet';
  const v = buf[0]! >> 4;
  if (v === 4) return { etherType: EtherType.IPV4, offset: 0 };
  if (v === 6) return { etherType: EtherType.IPV6, offset: 0 };
  return `raw IP packet of IP version ${v}`;
}

/** BSD address families for IPv6 differ by system (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30). */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

/** LINKTYPE_NULL (0): a 4-byte address family in the writer's byte order; LINKTYPE_LOOP (108): big-endian. */
export function nullLoopback(buf: Buffer, bigEndianOnly: boolean): L3Start | string {
  if (buf.length < 4) return 'truncated loopback header';
  const be = buf.readUInt32BE(0);
  // Host order is unknown for LINKTYPE_NULL: the family is small, so the non-zero half tells.
  const family = bigEndianOnly || be < 0x10000 ? be : buf.readUInt32LE(0);
  if (family === AF_INET) return { etherType: EtherType.IPV4, offset: 4 };
  if (AF_INET6.has(family)) return { etherType: EtherType.IPV6, offset: 4 };
  return { etherType: 0, offset: 4 };
}

export const LINK_TYPES = {
  NULL: 0,
  ETHERNET: 1,
  RAW_OPENBSD: 12,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Where the IP packet of a frame of this link type starts; a string says why there is none. */
export function linkLayer(linkType: number, buf: Buffer): L3Start | string {
  switch (linkType) {
    case LINK_TYPES.ETHERNET:
      return ethernet(buf);
    case LINK_TYPES.LINUX_SLL:
      return sll(buf);
    case LINK_TYPES.LINUX_SLL2:
      return sll2(buf);
    case LINK_TYPES.RAW:
    case LINK_TYPES.RAW_OPENBSD:
      return rawIp(buf);
    case LINK_TYPES.IPV4:
      return { etherType: EtherType.IPV4, offset: 0 };
    case LINK_TYPES.IPV6:
      return { etherType: EtherType.IPV6, offset: 0 };
    case LINK_TYPES.NULL:
      return nullLoopback(buf, false);
    case LINK_TYPES.LOOP:
      return nullLoopback(buf, true);
    default:
      return `unsupported link type ${linkType}`;
  }
}
