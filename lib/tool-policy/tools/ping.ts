// ping (iputils): plain getopt (short options only) with GNU permutation; optstring checked
// against the installed ping. No option reads or writes a file (-F is a flow label). Flood
// limits: with SNOOPY_MIN_PING_INTERVAL set, -f, -A and a faster -i are refused, and so is a
// -l preload above 3 (what ping allows unprivileged users); with SNOOPY_TRAFFIC_CIDRS set the
// destination must be an address inside them.

import type { ToolPolicy } from '../config.js';
import { checkMinInterval, refuseWhenPaced } from '../flood.js';
import { refuseArg } from '../errors.js';
import { check, checkWithModel, opt, type OptionModel } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';
import { checkTrafficTarget } from '../traffic.js';

const flags = 'aAbBCdDfhLnOqrRUvV46';
const valued = 'ceFiIlmMNpQsStTwW';

export const PING_MODEL: OptionModel = {
  tool: 'ping',
  permute: true,
  abbreviate: false,
  options: [
    ...flags.split('').map((c) => {
      if (c === 'f') return opt(c, [], 'none', check((_v, ctx) => refuseWhenPaced(ctx.tool, ctx.spelled, 'floods (sends as fast as replies come back)', ctx.policy)));
      if (c === 'A') return opt(c, [], 'none', check((_v, ctx) => refuseWhenPaced(ctx.tool, ctx.spelled, 'adapts the interval to the round-trip time', ctx.policy)));
      return opt(c, [], 'none');
    }),
    ...valued.split('').map((c) => {
      if (c === 'i') return opt(c, [], 'required', check((v, ctx) => checkMinInterval(ctx.tool, ctx.spelled, v!, ctx.policy)));
      if (c === 'l') {
        return opt(c, [], 'required', check((v, ctx) => {
          if (ctx.policy.minPingIntervalSeconds !== undefined && !(Number(v) <= 3)) {
            refuseArg(ctx.tool, ctx.spelled, 'sends more than 3 packets without waiting, against SNOOPY_MIN_PING_INTERVAL');
          }
        }));
      }
      return opt(c, [], 'required');
    }),
  ],
};

export const pingRule: ToolRule = (argv, policy: ToolPolicy) => {
  const { operands } = checkWithModel(argv, PING_MODEL, policy);
  for (const host of operands) checkTrafficTarget('ping', `destination "${host}"`, host, policy);
  return NONE;
};
