// The rule signature shared by every tool, and the older getopt-ish scanner (scanOptions and its
// helpers), kept for the rules that still use it; the per-tool option models live in getopt.ts.

import type { ToolPolicy } from './config.js';
import { refuseArg } from './errors.js';

/** One option occurrence as a getopt-style parser of that tool would see it. */
export interface Opt {
  /** "-w" for short options, "--write" (as typed, maybe abbreviated) for long ones */
  name: string;
  long: boolean;
  value?: string;
  /** index in argv of the word the option came from */
  index: number;
}

export interface Scanned {
  opts: Opt[];
  operands: string[];
}

export interface OptionTable {
  /** short option letters that take a value (attached or in the next word) */
  shortWithValue: string;
  /** long option names (without --) that take a value in the next word when not given with = */
  longWithValue: readonly string[];
  /** long options whose value is optional: only an attached "=value" belongs to them */
  longOptionalValue?: readonly string[];
  /** long options without a value; an exact match wins over a longer value-taking name, as in getopt_long */
  longFlags?: readonly string[];
}

/** Finds the full long option names an (abbreviated) word may mean, as getopt_long does. */
export function longCandidates(word: string, names: readonly string[]): string[] {
  if (names.includes(word)) return [word];
  return names.filter((n) => n.startsWith(word));
}

/**
 * Parses argv the way GNU getopt_long does (options anywhere, "--" ends them, short options
 * clustered, a value-taking letter swallows the rest of its cluster or the next word).
 */
export function scanOptions(argv: readonly string[], table: OptionTable): Scanned {
  const opts: Opt[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq >= 0 ? w.slice(2, eq) : w.slice(2);
      const exactFlag = table.longFlags?.includes(name) ?? false;
      const cands = exactFlag ? [] : longCandidates(name, table.longWithValue);
      const optional = longCandidates(name, table.longOptionalValue ?? []);
      if (eq >= 0) {
        opts.push({ name: `--${name}`, long: true, value: w.slice(eq + 1), index: i });
      } else if (cands.length > 0 && optional.length === 0) {
        opts.push({ name: `--${name}`, long: true, value: argv[i + 1], index: i });
        i++;
      } else {
        opts.push({ name: `--${name}`, long: true, index: i });
      }
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      for (let j = 1; j < w.length; j++) {
        const letter = w[j]!;
        if (table.shortWithValue.includes(letter)) {
          const rest = w.slice(j + 1);
          if (rest !== '') {
            opts.push({ name: `-${letter}`, long: false, value: rest, index: i });
          } else {
            opts.push({ name: `-${letter}`, long: false, value: argv[i + 1], index: i });
            i++;
          }
          break;
        }
        opts.push({ name: `-${letter}`, long: false, index: i });
      }
      continue;
    }
    operands.push(w);
  }
  return { opts, operands };
}

/** True when an (abbreviated) long option as typed may mean `full`. */
export function longMeans(typed: string, full: string): boolean {
  const t = typed.replace(/^--/, '');
  return t.length > 0 && full.startsWith(t);
}

export function describe(o: Opt): string {
  return o.value === undefined ? `"${o.name}"` : `"${o.name} ${o.value}"`;
}

export function refusedByLongTable(tool: string, o: Opt, refused: Record<string, string>): void {
  for (const [full, why] of Object.entries(refused)) {
    if (full.startsWith('-')) continue;
    if (longMeans(o.name, full)) refuseArg(tool, describe(o), why);
  }
}

/** What checking an argv found out that the caller needs. */
export interface Checked {
  writesPcapToStdout: boolean;
}

/** One tool's rule: throws ToolPolicyError on a refused argv. */
export type ToolRule = (argv: readonly string[], policy: ToolPolicy) => Checked;

export const NONE: Checked = { writesPcapToStdout: false };
