// Small helpers the trackers share: a latency accumulator, capped counter tables, rounding, and
// optional JSON fields.
import type { RateStats } from '../../../lib/api/analysis-summary.js';

/** min/avg/max of durations (fed in nanoseconds, reported in milliseconds) */
export class Rtt {
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;
  /** A negative duration (time went backwards between the two packets) is no measurement. */
  add(ns: number): void {
    if (ns < 0) return;
    const ms = ns / 1e6;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  stats(): RateStats {
    if (this.count === 0) return { count: 0 };
    return { count: this.count, minMs: round3(this.min), avgMs: round3(this.sum / this.count), maxMs: round3(this.max) };
  }
}

/** Adds to a counter map with a cap on distinct keys; the overflow lands under `other`. */
export function bump<T>(map: Map<string, T>, key: string, max: number, make: () => T): T {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= max) key = 'other';
    v = map.get(key);
    if (v === undefined) {
      v = make();
      map.set(key, v);
    }
  }
  return v;
}

/** Drops the oldest tenth of a transaction table (Maps iterate in insertion order). */
export function expireOldest<V>(map: Map<string, V>, onExpire: () => void): void {
  let n = Math.max(1, Math.floor(map.size / 10));
  for (const k of map.keys()) {
    if (n-- <= 0) break;
    map.delete(k);
    onExpire();
  }
}

/** `{ [key]: value }` when value is defined, else `{}` (keeps undefined out of the JSON). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
export function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** A time of the analysis (nanoseconds from its base time) as an ISO-8601 string. */
export type IsoOf = (time: number) => string;

/** Names the capture's DNS answers gave an address (undefined when none). */
export type NamesOf = (ip: string) => string[] | undefined;
