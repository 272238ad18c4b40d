// Builds argument lists for getopt-style tools the way an attacker would write them: short option
// clusters, values attached or in the next word, long options as unique (or ambiguous) prefixes
// with "=value" or the value in the next word, options after operands (GNU permutation), "--".
import type { Rng } from './prng.js';
import { ADDRS, IFACES, NUMS, PATHS, PORTS, WORDS } from './values.js';

/** What kind of value an option takes; a list means those literal values. */
export type ValueKind = 'path' | 'num' | 'addr' | 'iface' | 'port' | 'word' | readonly string[];

export interface OptDef {
  short?: string;
  long?: string;
  /** undefined: a flag */
  value?: ValueKind;
  /** the long form's value is optional (only "--name=value" attaches it) */
  optional?: boolean;
}

export interface GetoptSpec {
  opts: readonly OptDef[];
  /** operand word groups (each a list of words kept together) */
  operands: (rng: Rng) => string[][];
  /** hand-written attack fragments, mixed in now and then */
  hot?: readonly (readonly string[])[];
  /** long options are written with one dash (ss? no; traceroute's -UL? no): none use it today */
  longPrefix?: string;
}

export function pickValue(rng: Rng, kind: ValueKind): string {
  // an attacker feeds any value to any option now and then
  if (rng.chance(0.12)) return rng.pick([...PATHS, ...NUMS, ...WORDS]);
  if (typeof kind !== 'string') return rng.pick(kind);
  switch (kind) {
    case 'path':
      return rng.pick(PATHS);
    case 'num':
      return rng.pick(NUMS);
    case 'addr':
      return rng.pick(ADDRS);
    case 'iface':
      return rng.pick(IFACES);
    case 'port':
      return rng.pick(PORTS);
    case 'word':
      return rng.pick(WORDS);
  }
  return 'x';
}

/** A prefix of `name` that getopt_long would accept: anything from the shortest unique prefix (or shorter, ambiguous) to the full name. */
export function abbreviate(rng: Rng, name: string, all: readonly string[]): string {
  let unique = name.length;
  for (let n = 1; n <= name.length; n++) {
    const p = name.slice(0, n);
    if (all.filter((o) => o.startsWith(p)).length === 1 || all.includes(p)) {
      unique = n;
      break;
    }
  }
  const lo = rng.chance(0.15) ? Math.max(1, unique - 1) : unique;
  return name.slice(0, rng.int(lo, name.length));
}

/** One option occurrence rendered as words (a short one may later join a cluster). */
interface Rendered {
  words: string[];
  /** a bare short flag (clusterable), or a short option with its value attached/following */
  shortLetter?: string;
  shortValue?: string;
}

function renderOpt(rng: Rng, o: OptDef, longNames: readonly string[], prefix: string): Rendered {
  const useLong = o.long !== undefined && (o.short === undefined || rng.chance(0.5));
  if (useLong) {
    const name = rng.chance(0.35) ? abbreviate(rng, o.long!, longNames) : o.long!;
    if (o.value === undefined) {
      return { words: [rng.chance(0.05) ? `${prefix}${name}=${pickValue(rng, 'word')}` : `${prefix}${name}`] };
    }
    const v = pickValue(rng, o.value);
    if (o.optional) return { words: rng.chance(0.6) ? [`${prefix}${name}=${v}`] : [`${prefix}${name}`] };
    return { words: rng.chance(0.5) ? [`${prefix}${name}=${v}`] : [`${prefix}${name}`, v] };
  }
  const letter = o.short!;
  if (o.value === undefined) return { words: [`-${letter}`], shortLetter: letter };
  const v = pickValue(rng, o.value);
  return { words: rng.chance(0.5) ? [`-${letter}${v}`] : [`-${letter}`, v], shortLetter: letter, shortValue: v };
}

/** Generates one argv from a getopt spec. */
export function genGetopt(rng: Rng, spec: GetoptSpec): string[] {
  const prefix = spec.longPrefix ?? '--';
  const longNames = spec.opts.flatMap((o) => (o.long ? [o.long] : []));
  const n = rng.int(0, 5);
  const rendered: Rendered[] = [];
  for (let i = 0; i < n; i++) rendered.push(renderOpt(rng, rng.pick(spec.opts), longNames, prefix));
  // join runs of short options into clusters ("-nv", "-nvc5", "-nvc 5")
  const optWords: string[][] = [];
  for (let i = 0; i < rendered.length; i++) {
    const r = rendered[i]!;
    if (r.shortLetter !== undefined && r.shortValue === undefined && rng.chance(0.5)) {
      let cluster = `-${r.shortLetter}`;
      let j = i + 1;
      const tail: string[] = [];
      while (j < rendered.length && rendered[j]!.shortLetter !== undefined) {
        const next = rendered[j]!;
        if (next.shortValue !== undefined) {
          if (rng.chance(0.5)) cluster += `${next.shortLetter}${next.shortValue}`;
          else {
            cluster += next.shortLetter;
            tail.push(next.shortValue);
          }
          j++;
          break;
        }
        cluster += next.shortLetter;
        j++;
      }
      optWords.push([cluster, ...tail]);
      i = j - 1;
      continue;
    }
    optWords.push(r.words);
  }
  if (spec.hot && spec.hot.length > 0 && rng.chance(0.3)) {
    optWords.splice(rng.int(0, optWords.length), 0, [...rng.pick(spec.hot)]);
  }
  const operands = spec.operands(rng);
  return arrange(rng, optWords, operands);
}

/** Places option groups and operand groups: usually options first, sometimes permuted, sometimes with "--". */
export function arrange(rng: Rng, optWords: string[][], operands: string[][]): string[] {
  const r = rng.next();
  if (r < 0.55 || operands.length === 0) return [...optWords.flat(), ...operands.flat()];
  if (r < 0.85) {
    // GNU permutation: options after (or between) operands
    const groups = rng.shuffle([...optWords, ...operands]);
    return groups.flat();
  }
  // "--" ends the options; sometimes an option-looking word follows it
  const after = rng.chance(0.5) && optWords.length > 0 ? optWords.pop()! : [];
  return [...optWords.flat(), '--', ...after, ...operands.flat()];
}

export function someOf<T>(rng: Rng, items: readonly T[], lo: number, hi: number): T[] {
  return rng.shuffle(items).slice(0, rng.int(lo, Math.min(hi, items.length)));
}

export { ADDRS, IFACES, NUMS, PATHS, PORTS, WORDS };
