// tracepath (iputils): plain getopt "46bhl:m:np:V" with GNU permutation (checked against the
// installed tracepath). No option touches a file; the destination is held to SNOOPY_TRAFFIC_CIDRS.

import type { ToolPolicy } from '../config.js';
import { checkWithModel, opt, type OptionModel } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';
import { checkTrafficTarget } from '../traffic.js';

export const TRACEPATH_MODEL: OptionModel = {
  tool: 'tracepath',
  permute: true,
  abbreviate: false,
  options: [
    ...'46bhnV'.split('').map((c) => opt(c, [], 'none')),
    ...'lmp'.split('').map((c) => opt(c, [], 'required')),
  ],
};

export const tracepathRule: ToolRule = (argv, policy: ToolPolicy) => {
  const { operands } = checkWithModel(argv, TRACEPATH_MODEL, policy);
  // tracepath takes one destination (optionally "host/port"); the first operand is it.
  const host = operands[0];
  if (host !== undefined) checkTrafficTarget('tracepath', `destination "${host}"`, host.split('/')[0]!, policy);
  return NONE;
};
