// Hand-built frames for the decoder corner cases real traffic in a test rarely shows (VLAN
// stacks, cooked and loopback link layers, IPv6 extension headers, fragments, DNS compression).
// tshark judges each one.

export function ethernet(etherType: number, payload: Buffer, vlans: Array<[tpid: number, vid: number]> = []): Buffer {
  const parts: Buffer[] = [Buffer.from('020000000001020000000002', 'hex')];
  // each tag is a TPID and a TCI; the payload's EtherType follows the last one
  for (const [tpid, vid] of vlans) parts.push(u16s(tpid, vid));
  parts.push(u16s(etherType));
  return Buffer.concat([...parts, payload]);
}

export function u16s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

function ip4(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

function ip6(addr: string): Buffer {
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return u16s(...groups.map((g) => parseInt(g, 16)));
}

export function ipv4(src: string, dst: string, proto: number, payload: Buffer, frag: { id?: number; mf?: boolean; offset8?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(frag.id ?? 1, 4);
  h.writeUInt16BE((frag.mf ? 0x2000 : 0) | (frag.offset8 ?? 0), 6);
  h[8] = 64;
  h[9] = proto;
  ip4(src).copy(h, 12);
  ip4(dst).copy(h, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  h.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([h, payload]);
}

/** extension headers: [type, body] with body padded by the caller to 8n - 2 bytes (fragment: 6 bytes) */
export function ipv6(src: string, dst: string, proto: number, payload: Buffer, ext: Array<[number, Buffer]> = []): Buffer {
  const chain: Buffer[] = [];
  for (let i = 0; i < ext.length; i++) {
    const next = i + 1 < ext.length ? ext[i + 1]![0] : proto;
    const body = ext[i]![1];
    const len = ext[i]![0] === 44 ? 0 : (body.length + 2) / 8 - 1;
    chain.push(Buffer.concat([Buffer.from([next, len]), body]));
  }
  const rest = Buffer.concat([...chain, payload]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(rest.length, 4);
  h[6] = ext.length > 0 ? ext[0]![0] : proto;
  h[7] = 64;
  ip6(src).copy(h, 8);
  ip6(dst).copy(h, 24);
  return Buffer.concat([h, rest]);
}

export function tcp(sport: number, dport: number, flags: number, seq = 1000, payload = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq, 4);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function icmpEcho(type: number, id: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = type;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  return b;
}

function name(n: string): Buffer {
  return Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

export function dnsQuery(id: number, qname: string, qtype = 1): Buffer {
  return Buffer.concat([u16s(id, 0x0100, 1, 0, 0, 0), name(qname), u16s(qtype, 1)]);
}

/** A response whose answers use compression: CNAME qname → alias, then A and AAAA for the alias. */
export function dnsResponse(id: number, qname: string, alias: string, a: string, aaaa: string, rcode = 0): Buffer {
  const question = Buffer.concat([name(qname), u16s(1, 1)]);
  const aliasName = name(alias);
  const cname = Buffer.concat([u16s(0xc00c, 5, 1), Buffer.from([0, 0, 0, 60]), u16s(aliasName.length), aliasName]);
  const aliasOffset = 12 + question.length + 12; // where the alias's name starts (CNAME rdata)
  const rrA = Buffer.concat([u16s(0xc000 | aliasOffset, 1, 1), Buffer.from([0, 0, 0, 60]), u16s(4), ip4(a)]);
  const rrAAAA = Buffer.concat([u16s(0xc000 | aliasOffset, 28, 1), Buffer.from([0, 0, 0, 60]), u16s(16), ip6(aaaa)]);
  return Buffer.concat([u16s(id, 0x8180 | rcode, 1, 3, 0, 0), question, cname, rrA, rrAAAA]);
}

export function sll(proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0); // to us
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  Buffer.from('020000000002', 'hex').copy(h, 6);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, payload]);
}

export function sll2(proto: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  h.writeUInt32BE(3, 4); // interface index
  h.writeUInt16BE(1, 8);
  h[10] = 4; // outgoing
  h[11] = 6;
  Buffer.from('020000000002', 'hex').copy(h, 12);
  return Buffer.concat([h, payload]);
}

export function nullHeader(family: number, littleEndian: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  if (littleEndian) h.writeUInt32LE(family, 0);
  else h.writeUInt32BE(family, 0);
  return Buffer.concat([h, payload]);
}

/** LINKTYPE_NFLOG: family, version 0, resource id (big-endian), then TLVs in the writer's byte
 *  order: the packet header (hardware protocol, hook) and the payload, each padded to 4 bytes. */
export function nflog(family: number, littleEndian: boolean, payload: Buffer): Buffer {
  const tlv = (type: number, value: Buffer) => {
    const h = Buffer.alloc(4);
    if (littleEndian) {
      h.writeUInt16LE(4 + value.length, 0);
      h.writeUInt16LE(type, 2);
    } else {
      h.writeUInt16BE(4 + value.length, 0);
      h.writeUInt16BE(type, 2);
    }
    return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  };
  const packetHeader = Buffer.from([family === 2 ? 0x08 : 0x86, family === 2 ? 0x00 : 0xdd, 3, 0]);
  return Buffer.concat([Buffer.from([family, 0, 0, 5]), tlv(1, packetHeader), tlv(9, payload)]);
}

/** An Arista timestamp header (EtherType 0xd28b, subtype 1) of version 0x0010 (64-bit) or 0x0020
 *  (48-bit), to put before the frame's own EtherType. */
export function aristaTag(version: 0x10 | 0x20): Buffer {
  return Buffer.concat([u16s(0xd28b, 1, version), Buffer.alloc(version === 0x10 ? 8 : 6, 7)]);
}
