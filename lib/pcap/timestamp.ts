// Converting the formats' timestamp encodings to nanoseconds since the epoch.

/** Turns a record's two 32-bit timestamp words into nanoseconds. */
export interface TimestampScale {
  toNs(high: number, low: number): bigint;
  /** The same instant as whole seconds since the epoch and nanoseconds within that second
   *  (0 ≤ nanos < 10^9), as numbers: no BigInt on the hot path of a reader's record callback. */
  split(high: number, low: number, out: SplitTime): void;
  /** pcap: the sub-second field must stay below this (10^6 µs, 10^9 ns) */
  readonly fractionLimit?: number;
}

/** Where TimestampScale.split writes. */
export interface SplitTime {
  seconds: number;
  nanos: number;
}

/** Splits nanoseconds since the epoch (any sign) into floor seconds and the nanoseconds after them. */
function splitNs(ns: bigint, out: SplitTime): void {
  let s = ns / 1_000_000_000n;
  let r = ns - s * 1_000_000_000n;
  if (r < 0n) {
    s -= 1n;
    r += 1_000_000_000n;
  }
  out.seconds = Number(s);
  out.nanos = Number(r);
}

// A sub-second field at or above a second (a broken writer) is read as the last instant of its
// second, so it cannot move the packet into a later second; the reader reports such records.

/** pcap: seconds + microseconds */
export const PCAP_MICRO: TimestampScale = {
  // a 32-bit sec * 1e6 + usec stays below 2^53: one BigInt conversion per packet
  toNs: (sec, usec) => BigInt(sec * 1_000_000 + (usec < 1_000_000 ? usec : 999_999)) * 1000n,
  split: (sec, usec, out) => {
    out.seconds = sec;
    out.nanos = (usec < 1_000_000 ? usec : 999_999) * 1000;
  },
  fractionLimit: 1_000_000,
};

/** pcap: seconds + nanoseconds */
export const PCAP_NANO: TimestampScale = {
  toNs: (sec, nsec) => BigInt(sec) * 1_000_000_000n + BigInt(nsec < 1_000_000_000 ? nsec : 999_999_999),
  split: (sec, nsec, out) => {
    out.seconds = sec;
    out.nanos = nsec < 1_000_000_000 ? nsec : 999_999_999;
  },
  fractionLimit: 1_000_000_000,
};

/** pcapng: a 64-bit count of units given by the interface's if_tsresol, plus if_tsoffset seconds. */
export class PcapngTimestampScale implements TimestampScale {
  private readonly mul: bigint;
  private readonly div: bigint;
  private readonly offsetNs: bigint;
  /** microseconds without an offset (the default resolution): split with numbers alone */
  private readonly plainMicro: boolean;

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
    this.plainMicro = tsresol === 6 && offsetSeconds === 0n;
  }

  toNs(high: number, low: number): bigint {
    const units = (BigInt(high) << 32n) | BigInt(low);
    return (units * this.mul) / this.div + this.offsetNs;
  }

  split(high: number, low: number, out: SplitTime): void {
    // below 2^21 the 64-bit count is exact as a double (microseconds: until the year 2255)
    if (this.plainMicro && high < 0x200000) {
      const units = high * 0x100000000 + low;
      let seconds = Math.floor(units / 1_000_000);
      // the division may round up to the next whole second
      if (seconds * 1_000_000 > units) seconds--;
      out.seconds = seconds;
      out.nanos = (units - seconds * 1_000_000) * 1000;
      return;
    }
    splitNs(this.toNs(high, low), out);
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
