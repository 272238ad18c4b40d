// Tell pcap, pcapng and text apart from a stream's first bytes.
import { PCAP_MAGIC, BlockType } from './constants.js';
import type { StreamFormat } from './types.js';

const MAGICS: ReadonlyArray<{ bytes: Buffer; format: StreamFormat }> = [
  ...Object.values(PCAP_MAGIC).flatMap((m) => {
    const be = Buffer.alloc(4);
    be.writeUInt32BE(m);
    return [
      { bytes: be, format: 'pcap' as const },
      { bytes: Buffer.from(be).reverse(), format: 'pcap' as const },
    ];
  }),
  { bytes: Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), format: 'pcapng' },
];

/** The stream format, or undefined when fewer than 4 bytes are given and they could still be
 *  the start of a pcap/pcapng magic number (a prefix that cannot is already 'text'). */
export function sniffFormat(firstBytes: Buffer): StreamFormat | undefined {
  const n = Math.min(firstBytes.length, 4);
  let prefixOfMagic = false;
  for (const m of MAGICS) {
    if (firstBytes.subarray(0, n).equals(m.bytes.subarray(0, n))) {
      if (n === 4) return m.format;
      prefixOfMagic = true;
    }
  }
  return prefixOfMagic || n === 0 ? undefined : 'text';
}

const PCAP_MAGICS_BOTH_ORDERS = Object.values(PCAP_MAGIC).flatMap((m) => [m, swap32(m)]);
const [M0, M1, M2, M3, M4, M5] = PCAP_MAGICS_BOTH_ORDERS as [number, number, number, number, number, number];

/** True when the four bytes (read big-endian) are a pcap magic in either byte order. */
export function isPcapMagic(u32be: number): boolean {
  // called once per record: plain comparisons, no allocation
  return u32be === M0 || u32be === M1 || u32be === M2 || u32be === M3 || u32be === M4 || u32be === M5;
}

export function isPcapngMagic(u32be: number): boolean {
  return u32be === BlockType.SectionHeader;
}

export function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}
