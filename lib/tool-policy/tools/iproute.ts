import { refuseArg } from '../errors.js';

// ip and tc: iproute2 matches options, objects and commands by prefix (`ip l s` is `ip link set`),
// so a word is read-only only if it cannot be read as any mutating command.
export const IPROUTE_MUTATING = [
  'add', 'del', 'delete', 'deleteall', 'set', 'change', 'replace', 'flush', 'append', 'prepend', 'exec',
  'restore', 'attach', 'detach', 'update', 'allocate', 'test', 'create', 'destroy', 'save',
  'restoreif',
];
const IPROUTE_READONLY = ['show', 'list', 'lst', 'ls', 'get', 'help', 'monitor', 'identify', 'pids', 'list-id', 'count'];

export function isReadOnlyVerb(word: string): boolean {
  if (IPROUTE_READONLY.includes(word)) return true;
  if (word === '' || IPROUTE_MUTATING.some((m) => m.startsWith(word))) return false;
  return IPROUTE_READONLY.some((r) => r.startsWith(word));
}

/**
 * `ip`/`tc` global options: iproute2 tries its option names in a fixed order and takes the first
 * one the typed word is a prefix of (`-f` is -family for ip, -force for tc), so do the same.
 */
export interface IprouteGlobals {
  /** option names in the order the tool tries them */
  order: readonly string[];
  withValue: readonly string[];
  refused: Record<string, string>;
}

export function scanIprouteGlobals(tool: string, argv: readonly string[], g: IprouteGlobals): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const w = argv[i]!;
    if (w === '--') return i + 1;
    const typed = w.split('=')[0]!;
    const full = /^-\d$/.test(typed) ? typed : g.order.find((name) => name.startsWith(typed));
    if (full === undefined) refuseArg(tool, `option "${w}"`, `is not a known ${tool} option`);
    const why = g.refused[full];
    if (why) refuseArg(tool, `option "${w}" (${full})`, why);
    if (!w.includes('=') && g.withValue.includes(full)) i++;
    i++;
  }
  return i;
}

/**
 * `ip monitor` and `tc monitor` take `file FILE` (a saved netlink dump to read), matched by
 * prefix like every iproute2 keyword, so `f`, `fi` and `fil` open a file as well.
 */
export function refuseMonitorFile(tool: string, rest: readonly string[]): void {
  const w = rest.slice(1).find((word) => word !== '' && 'file'.startsWith(word));
  if (w !== undefined) refuseArg(tool, `"${rest[0]} ${w}"`, 'reads a file ("file" may be abbreviated)');
}

/**
 * iproute2 builds file names from some arguments even in write commands that are otherwise fine
 * to allow: `ip link add … type KIND` loads `<libdir>/link_KIND.so`, `tc qdisc add … KIND` loads
 * `q_KIND.so`, netem's `distribution NAME` reads `NAME.dist`. Kept inside the library directory
 * they name only what is installed; a "/" would leave it. Address prefixes (10.0.0.0/8, fe80::/64)
 * are the only arguments with a slash either tool needs.
 */
export function refusePathLike(tool: string, rest: readonly string[]): void {
  const w = rest.find((word) => word.includes('/') && !/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(word));
  if (w !== undefined) refuseArg(tool, `"${w}"`, 'looks like a file path');
}

