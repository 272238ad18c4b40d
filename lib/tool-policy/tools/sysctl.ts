// sysctl (procps): reading net.* keys only. An argument holding "=" is a write even without -w,
// -p/-f/--system load files of settings, -a walks every key: only -e (ignore unknown keys), -n
// and -N (value or name only) and plain dotted net.* names are allowed, never a path ("/" or
// ".." would reach /proc/sys's parent). Never mutating, whatever the policy says: only the
// evidence snapshots run it, to read their namespace's settings.

import { refuseArg } from '../errors.js';
import { NONE, type ToolRule } from '../rule.js';

const FLAGS = new Set(['-e', '--ignore', '-n', '--values', '-N', '--names']);
const KEY = /^net(\.[A-Za-z0-9_-]+)+$/;

export const sysctlRule: ToolRule = (argv) => {
  for (const a of argv) {
    if (a.startsWith('-')) {
      if (!FLAGS.has(a)) refuseArg('sysctl', `option "${a}"`, 'is not allowed (only -e, -n, -N: sysctl may only read net.* keys)');
      continue;
    }
    if (!KEY.test(a)) refuseArg('sysctl', `"${a}"`, 'is not a dotted net.* key (sysctl may only read them; "=" would write)');
  }
  return NONE;
};
