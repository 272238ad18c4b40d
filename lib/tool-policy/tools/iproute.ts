// ip and tc (iproute2) read their options, objects and commands the same way: each level tries
// a fixed list of names in order and takes the first one the typed word is a prefix of
// (lib/utils.c matches(); a few names only as the whole word). `tc qdisc l` is therefore
// `tc qdisc link` (a replace), because do_qdisc tries "link" before "list", and `ip x s l` is
// `ip xfrm state list`. The tables in ip.ts and tc.ts copy each level's names in the installed
// tool's order; this file walks them the way the tool does.

import type { ToolPolicy } from '../config.js';
import { refuseArg } from '../errors.js';

/** What a command does, as far as the policy is concerned. */
export type Effect =
  | { kind: 'read' }
  | { kind: 'write' }
  /** refused whatever SNOOPY_ALLOW_MUTATING_TOOLS says: reads or writes files, runs programs, leaves the netns */
  | { kind: 'refused'; why: string };

export const READ: Effect = Object.freeze({ kind: 'read' });
export const WRITE: Effect = Object.freeze({ kind: 'write' });
export function refused(why: string): Effect {
  return { kind: 'refused', why };
}

/** One name a level tries. */
export interface Word {
  name: string;
  /** compared with strcmp (the whole word), not matches() */
  exact?: boolean;
  /** an effect, or the next level of names (`ip xfrm state …`) */
  then: Effect | Level;
  /**
   * Reads the words after this one the way the tool does and returns why they are refused, if
   * they are (`ip monitor file FILE`); such a refusal holds whatever the effect is.
   */
  args?: (rest: readonly string[]) => string | undefined;
  /** Reads the words after this one and returns why they make the line a write, if they do. */
  writeIf?: (rest: readonly string[]) => string | undefined;
}

export interface Level {
  /** what the command does when no word follows (`ip route` lists) */
  bare: Effect;
  /** in the order the tool tries them; the first match wins */
  words: readonly Word[];
}

/** iproute2's matches(): a non-empty prefix of the name (case-sensitive). */
export function iprouteMatches(typed: string, name: string): boolean {
  return typed.length > 0 && name.startsWith(typed);
}

function wordMatches(typed: string, w: Word): boolean {
  return w.exact ? typed === w.name : iprouteMatches(typed, w.name);
}

export interface Resolution {
  /** the full names the words were read as, in order */
  path: string[];
  /** how many words were read as names */
  consumed: number;
  /** undefined when a word matches no name at its level: the tool refuses it as unknown */
  effect?: Effect;
  /** the word that matched nothing */
  unknown?: string;
  /** why the words after the command are refused (Word.args) */
  argsRefused?: string;
  /** why the words after a reading command make the line a write (Word.writeIf) */
  writeBecause?: string;
}

/** Reads objects, sub-objects and commands as the tool does. */
export function resolveCommand(top: Level, words: readonly string[]): Resolution {
  const path: string[] = [];
  let level = top;
  for (let i = 0; ; i++) {
    const typed = words[i];
    if (typed === undefined) return { path, consumed: i, effect: level.bare };
    const w = level.words.find((c) => wordMatches(typed, c));
    if (w === undefined) return { path, consumed: i, unknown: typed };
    path.push(w.name);
    if ('kind' in w.then) {
      const rest = words.slice(i + 1);
      const argsRefused = w.args?.(rest);
      const writeBecause = w.then.kind === 'read' ? w.writeIf?.(rest) : undefined;
      return {
        path,
        consumed: i + 1,
        effect: writeBecause ? WRITE : w.then,
        ...(argsRefused ? { argsRefused } : {}),
        ...(writeBecause ? { writeBecause } : {}),
      };
    }
    level = w.then;
  }
}

/** A global option (`ip -s`, `tc -j`), tried in the tool's order. */
export interface GlobalOption {
  name: string;
  /** prefix: matches(); exact: strcmp; color: lib/color.c matches_color (`-c[olor][=always|auto|never]`) */
  match: 'prefix' | 'exact' | 'color';
  takesValue?: boolean;
  effect: Effect;
}

export interface Globals {
  options: readonly GlobalOption[];
  /** ip: "--" ends the options and "--name" is read as "-name"; tc knows neither */
  gnuDashes: boolean;
}

/** lib/color.c matches_color(): the part before "=" a prefix of -color, the value one of three. */
function matchesColor(arg: string): boolean {
  const eq = arg.indexOf('=');
  const name = eq < 0 ? arg : arg.slice(0, eq);
  const value = eq < 0 ? '' : arg.slice(eq + 1);
  return iprouteMatches(name, '-color') && ['', 'always', 'auto', 'never'].includes(value);
}

export function findGlobal(g: Globals, typed: string): GlobalOption | undefined {
  return g.options.find((o) =>
    o.match === 'exact' ? typed === o.name : o.match === 'color' ? matchesColor(typed) : iprouteMatches(typed, o.name),
  );
}

/** Reads the leading options as the tool's main() does; returns where the object starts. */
export function scanGlobals(tool: string, argv: readonly string[], g: Globals): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const w = argv[i]!;
    if (g.gnuDashes && w === '--') return i + 1;
    const typed = g.gnuDashes && w[1] === '-' ? w.slice(1) : w;
    const o = findGlobal(g, typed);
    if (o === undefined) refuseArg(tool, `option "${w}"`, `is not an option ${tool} knows (${tool} would refuse it too)`);
    if (o.effect.kind === 'refused') refuseArg(tool, `option "${w}" (${o.name})`, o.effect.why);
    i += o.takesValue ? 2 : 1;
  }
  return i;
}

/**
 * iproute2 builds file names from some arguments even in write commands that are otherwise fine
 * to allow: `ip link add … type KIND` loads `<libdir>/link_KIND.so`, `tc qdisc add … KIND` loads
 * `q_KIND.so`, netem's `distribution NAME` reads `NAME.dist`, `ip link set … netns NAME` opens
 * /run/netns/NAME. Kept inside their directories they name only what is installed; a "/" would
 * leave them. Address prefixes (10.0.0.0/8, fe80::/64) are the only arguments with a slash either
 * tool needs.
 */
export function refusePathLike(tool: string, rest: readonly string[]): void {
  const w = rest.find((word) => word.includes('/') && !/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(word));
  if (w !== undefined) refuseArg(tool, `"${w}"`, 'looks like a file path');
}

/** `monitor` of ip, ip xfrm and tc: `file FILE` (matched by prefix, so `f` too) replays a saved dump from a file. */
export function monitorFileArgs(rest: readonly string[], valueWords: readonly string[] = []): string | undefined {
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (iprouteMatches(w, 'file')) return `"${w}" reads a file ("file" may be abbreviated)`;
    // `ip monitor dev NAME`: NAME is a device, not a keyword
    if (valueWords.includes(w)) i++;
  }
  return undefined;
}

/**
 * Checks one ip/tc command line: options, then the command as the tool reads it, then the
 * arguments that name files, programs or other namespaces.
 */
export function checkIproute(
  tool: string,
  argv: readonly string[],
  policy: ToolPolicy,
  g: Globals,
  top: Level,
  /** why an argument word is refused whatever the command (a BPF object, another namespace), if it is */
  refusedWord: (word: string) => string | undefined,
): void {
  const start = scanGlobals(tool, argv, g);
  const rest = argv.slice(start);
  const r = resolveCommand(top, rest);
  const typed = `"${rest.slice(0, r.consumed).join(' ')}"`;
  const full = r.path.join(' ');
  const meaning = full !== '' && full !== rest.slice(0, r.consumed).join(' ') ? ` (${tool} reads it as "${full}")` : '';
  if (r.effect === undefined) {
    const after = r.path.length > 0 ? ` after ${typed}${meaning}` : '';
    refuseArg(tool, `"${r.unknown}"${after}`, `is not a command ${tool} knows (${tool} would refuse it too)`);
  }
  if (r.effect.kind === 'refused') refuseArg(tool, typed + meaning, r.effect.why);
  if (r.argsRefused) refuseArg(tool, typed + meaning, `with ${r.argsRefused}`);
  for (const w of rest.slice(r.consumed)) {
    const why = refusedWord(w);
    if (why) refuseArg(tool, `"${w}"`, why);
  }
  refusePathLike(tool, rest);
  if (r.effect.kind === 'write' && !policy.allowMutating) {
    const because = r.writeBecause ? ` with ${r.writeBecause}` : '';
    refuseArg(tool, typed + meaning + because, 'changes the network configuration; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
  }
}
