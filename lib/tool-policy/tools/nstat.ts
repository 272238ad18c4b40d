// nstat (iproute2): getopt_long with GNU permutation (table checked against the installed nstat).
// nstat keeps a history file between runs: only `-s` (--noupdate) runs, which never write it,
// are allowed; -d runs a daemon, -r and -n write the history.

import type { ToolPolicy } from '../config.js';
import { refuseArg } from '../errors.js';
import { checkWithModel, opt, refuse, type OptionModel } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';

export const NSTAT_MODEL: OptionModel = {
  tool: 'nstat',
  permute: true,
  abbreviate: true,
  options: [
    opt('h', ['help'], 'none'),
    opt('V', ['version'], 'none'),
    opt('a', ['ignore'], 'none'),
    opt('j', ['json'], 'none'),
    opt('p', ['pretty'], 'none'),
    opt('s', ['noupdate'], 'none'),
    opt('t', ['interval'], 'required'),
    opt('z', ['zeros'], 'none'),
    opt('d', ['scan'], 'required', refuse('starts a daemon')),
    opt('r', ['reset'], 'none', refuse('resets the history file')),
    opt('n', ['nooutput'], 'none', refuse('only updates the history file')),
  ],
};

export const nstatRule: ToolRule = (argv, policy: ToolPolicy) => {
  const { options } = checkWithModel(argv, NSTAT_MODEL, policy);
  const noUpdate = options.some((o) => o.name === '--noupdate' || o.name === '--help' || o.name === '--version');
  if (!noUpdate) refuseArg('nstat', 'without "-s"', 'would write its history file; add -s (--noupdate)');
  return NONE;
};
