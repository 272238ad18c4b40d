// Converting the formats' timestamp encodings to nanoseconds since the epoch.

/** Turns a record's two 32-bit timestamp words into nanoseconds. */
export interface TimestampScale {
  toNs(high: number, low: number): bigint;
  /** pcap: the sub-second field must stay below this (10^6 µs, 10^9 ns) */
  readonly fractionLimit?: number;
}

// A sub-second field at or above a second (a broken writer) is read as the last instant of its
// second, so it cannot move the packet into a later second; the reader reports such records.

/** pcap: seconds + microseconds */
export const PCAP_MICRO: TimestampScale = {
  // a 32-bit sec * 1e6 + usec stays below 2^53: one BigInt conversion per packet
  toNs: (sec, usec) => BigInt(sec * 1_000_000 + (usec < 1_000_000 ? usec : 999_999)) * 1000n,
  fractionLimit: 1_000_000,
};

/** pcap: seconds + nanoseconds */
export const PCAP_NANO: TimestampScale = {
  toNs: (sec, nsec) => BigInt(sec) * 1_000_000_000n + BigInt(nsec < 1_000_000_000 ? nsec : 999_999_999),
  fractionLimit: 1_000_000_000,
};

/** pcapng: a 64-bit count of units given by the interface's if_tsresol, plus if_tsoffset seconds. */
export class PcapngTimestampScale implements TimestampScale {
  private readonly mul: bigint;
  private readonly div: bigint;
  private readonly offsetNs: bigint;

  /** `tsresol` as in the if_tsresol option (default 6: microseconds); `offsetSeconds` from if_tsoffset. */
  constructor(readonly tsresol = 6, offsetSeconds = 0n) {
    if (tsresol & 0x80) {
      // a negative power of two
      this.mul = 1_000_000_000n;
      this.div = 1n << BigInt(tsresol & 0x7f);
    } else if (tsresol <= 9) {
      this.mul = 10n ** BigInt(9 - tsresol);
      this.div = 1n;
    } else {
      this.mul = 1n;
      this.div = 10n ** BigInt(tsresol - 9);
    }
    this.offsetNs = offsetSeconds * 1_000_000_000n;
  }

  toNs(high: number, low: number): bigint {
    const units = (BigInt(high) << 32n) | BigInt(low);
    return (units * this.mul) / this.div + this.offsetNs;
  }

  /** The inverse, for writers: nanoseconds to this interface's units. */
  fromNs(ns: bigint): bigint {
    return ((ns - this.offsetNs) * this.div) / this.mul;
  }
}

/** Nanoseconds since the epoch as an ISO-8601 string (millisecond precision). */
export function isoFromNs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}
