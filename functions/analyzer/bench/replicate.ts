// The bench's many-flow file from a smaller real capture: the capture again and again, each copy
// with the bench client's address moved to a new one (10.K.K.1 style, both directions, IPv4
// header and TCP/UDP checksums adjusted) and its times moved past the previous copy's end, so
// every copy's flows are new flows to the analyzer and to tshark alike, and time only goes forward.
// Written as microsecond pcap, tcpdump's default. Ports are kept: the addresses tell copies apart.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { LinkType, parseCapture, PcapWriter } from '../../../lib/pcap/index.js';

const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;

/** Copy `copy`'s client address: 10.a.b.1 with a.b = copy + 1, so copy 0 is changed too. */
export function shiftedAddress(copy: number): number {
  const n = copy + 1;
  return ((10 << 24) | ((n >> 8) << 16) | ((n & 0xff) << 8) | 1) >>> 0;
}

/** RFC 1624 incremental update of the one's-complement checksum at `at` for a 32-bit word
 *  changing from `from` to `to`. A UDP checksum of 0 (none) stays 0. */
function adjustChecksum(frame: Buffer, at: number, from: number, to: number, udp: boolean): void {
  const old = frame.readUInt16BE(at);
  if (udp && old === 0) return;
  let sum = ~old & 0xffff;
  sum += ~(from >>> 16) & 0xffff;
  sum += ~from & 0xffff;
  sum += to >>> 16;
  sum += to & 0xffff;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  let out = ~sum & 0xffff;
  if (udp && out === 0) out = 0xffff;
  frame.writeUInt16BE(out, at);
}

/** Rewrites `frame` (Ethernet, in place): `from` becomes `to` as source or destination. */
export function moveAddress(frame: Buffer, from: number, to: number): void {
  if (frame.length < ETHERNET_HEADER + 20 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return;
  const ip = ETHERNET_HEADER;
  const ihl = (frame[ip]! & 0x0f) * 4;
  const proto = frame[ip + 9]!;
  const firstFragment = (frame.readUInt16BE(ip + 6) & 0x1fff) === 0;
  for (const at of [ip + 12, ip + 16]) {
    if (frame.readUInt32BE(at) !== from) continue;
    frame.writeUInt32BE(to, at);
    adjustChecksum(frame, ip + 10, from, to, false);
    const l4 = ip + ihl;
    if (!firstFragment) continue;
    if (proto === 6 && frame.length >= l4 + 18) adjustChecksum(frame, l4 + 16, from, to, false);
    else if (proto === 17 && frame.length >= l4 + 8) adjustChecksum(frame, l4 + 6, from, to, true);
  }
}

/** The first `n` packets of `input`, unchanged: a tiny capture for timing start-up. */
export function writeFirst(input: string, output: string, n: number): void {
  const packets = parseCapture(readFileSync(input)).packetList.slice(0, n);
  const writer = new PcapWriter({ linkType: LinkType.ETHERNET });
  writeFileSync(output, Buffer.concat([writer.header(), ...packets.map((p) => writer.record({ timestampNs: p.timestampNs, data: p.data, originalLength: p.originalLength }))]));
}

/** Writes `copies` shifted copies of the Ethernet pcap `input` to `output`; returns the packets. */
export function replicate(input: string, output: string, clientIp: string, copies: number): number {
  const parsed = parseCapture(readFileSync(input));
  const packets = parsed.packetList;
  if (packets.length === 0) throw new Error(`${input} holds no packets`);
  if (packets.some((p) => p.linkType !== LinkType.ETHERNET)) throw new Error(`${input} is not all Ethernet`);
  const client = clientIp.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const first = packets[0]!.timestampNs;
  const span = packets[packets.length - 1]!.timestampNs - first + 1_000_000n;
  const writer = new PcapWriter({ linkType: LinkType.ETHERNET, nanosecond: false });
  const fd = openSync(output, 'w');
  try {
    writeSync(fd, writer.header());
    for (let k = 0; k < copies; k++) {
      const to = shiftedAddress(k);
      const shift = span * BigInt(k);
      let batch: Buffer[] = [];
      for (const p of packets) {
        const data = Buffer.from(p.data);
        moveAddress(data, client, to);
        batch.push(writer.record({ timestampNs: p.timestampNs + shift, data, originalLength: p.originalLength }));
        if (batch.length === 4096) {
          writeSync(fd, Buffer.concat(batch));
          batch = [];
        }
      }
      if (batch.length > 0) writeSync(fd, Buffer.concat(batch));
    }
  } finally {
    closeSync(fd);
  }
  return packets.length * copies;
}
