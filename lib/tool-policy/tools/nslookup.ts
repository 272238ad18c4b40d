// nslookup (BIND 9.18): every "-word" is a `set` keyword (nslookup.c setoption()), either a flag
// given as a prefix of at least a few letters (-deb, -nosearch) or "name=value" (-type=MX); -ver…
// prints the version. None of them reads or writes a file, so the policy only makes sure each is
// one nslookup knows. Without a host to look up nslookup reads commands from standard input
// (interactive mode); those commands can only look names up and change the same settings, and
// podtracer connects standard input to /dev/null, so interactive mode ends at once: it is allowed.

import { NONE, type ToolRule } from '../rule.js';
import { refuseArg } from '../errors.js';

/** setoption()'s flags: the keyword and how many letters it needs at least (CHECKOPT). */
export const NSLOOKUP_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['all', 3], ['recurse', 3], ['norecurse', 5], ['defname', 3], ['nodefname', 5], ['vc', 2], ['novc', 4],
  ['debug', 3], ['nodebug', 5], ['d2', 2], ['nod2', 4], ['search', 3], ['nosearch', 5], ['sil', 3], ['fail', 3],
  ['nofail', 5],
];

/** setoption()'s "name=" forms (compared without case, the value follows the "="). */
export const NSLOOKUP_VALUES: readonly string[] = [
  'class=', 'cl=', 'type=', 'ty=', 'querytype=', 'query=', 'qu=', 'q=', 'domain=', 'do=', 'port=', 'po=', 'timeout=',
  't=', 'retry=', 'ret=', 'ndots=',
];

/** What nslookup reads a "-word" as: "version", a flag or value keyword, or undefined (invalid). */
export function nslookupOption(word: string): string | undefined {
  if (word.slice(0, 4).toLowerCase() === '-ver') return 'version';
  const opt = word.slice(1).toLowerCase();
  const flag = NSLOOKUP_FLAGS.find(([name, min]) => opt.length >= min && opt.length <= name.length && name.startsWith(opt));
  if (flag) return flag[0];
  return NSLOOKUP_VALUES.find((v) => opt.startsWith(v));
}

export const nslookupRule: ToolRule = (argv) => {
  for (const w of argv) {
    // "-" alone means: interactive mode, with the next word as the server
    if (!w.startsWith('-') || w === '-') continue;
    if (nslookupOption(w) === undefined) refuseArg('nslookup', `option "${w}"`, 'is not an nslookup option (nslookup would ignore it)');
  }
  return NONE;
};
