// Text forms of IP addresses: dotted quad, and RFC 5952 for IPv6 (longest run of zero groups
// as "::", lower-case hex), the way tcpdump and tshark print them.

/** IPv4 strings are looked up often (every packet); a bounded cache keeps formatting off the hot path. */
const v4Cache = new Map<number, string>();
const V4_CACHE_MAX = 65536;

/** The address at `at`. */
export function ipv4String(buf: Buffer, at: number): string {
  return ipv4Text(buf.readInt32BE(at));
}

/** An address given as a 32-bit number (signed, as Decoded keeps them). */
export function ipv4Text(n: number): string {
  let s = v4Cache.get(n);
  if (s === undefined) {
    s = `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
    if (v4Cache.size >= V4_CACHE_MAX) v4Cache.clear();
    v4Cache.set(n, s);
  }
  return s;
}

export function ipv6String(buf: Buffer, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(at + i * 2));
  // longest run of zero groups (length >= 2), first one on ties
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped addresses print their last 32 bits dotted (::ffff:192.0.2.1)
  if (bestStart === 0 && bestLen === 5 && groups[5] === 0xffff) {
    return `::ffff:${buf[at + 12]}.${buf[at + 13]}.${buf[at + 14]}.${buf[at + 15]}`;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** "ip:port", with IPv6 in brackets ("[::1]:53"); without a port for port-less protocols. */
export function endpoint(ip: string, port: number | undefined): string {
  if (port === undefined) return ip;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
