// traceroute (the "modern" traceroute 2.x): its own option parser ("clif"), checked against the
// installed traceroute: short options cluster and take attached or next-word values, long
// options must be typed in full and take a value only as "--name=value", options and operands
// mix, "--" ends options, and "-UL" is a word of its own (UDPLITE). Operands are the host and
// an optional packet length. Modules (-M) are built in, not loaded from files. No option touches
// a file (-f is the first TTL).

import type { ToolPolicy } from '../config.js';
import { checkWithModel, opt, type OptionModel } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';
import { checkTrafficTarget } from '../traffic.js';

export const TRACEROUTE_MODEL: OptionModel = {
  tool: 'traceroute',
  permute: true,
  abbreviate: false,
  longValueInNextWord: false,
  options: [
    opt('4', [], 'none'),
    opt('6', [], 'none'),
    opt('I', ['icmp'], 'none'),
    opt('T', ['tcp'], 'none'),
    opt('d', ['debug'], 'none'),
    opt('F', ['dont-fragment'], 'none'),
    opt('f', ['first'], 'required'),
    opt('g', ['gateway'], 'required'),
    opt('i', ['interface'], 'required'),
    opt('m', ['max-hops'], 'required'),
    opt('N', ['sim-queries'], 'required'),
    opt('n', [], 'none'),
    opt('p', ['port'], 'required'),
    opt('t', ['tos'], 'required'),
    opt('l', ['flowlabel'], 'required'),
    opt('w', ['wait'], 'required'),
    opt('q', ['queries'], 'required'),
    opt('r', [], 'none'),
    opt('s', ['source'], 'required'),
    opt('z', ['sendwait'], 'required'),
    opt('e', ['extensions'], 'none'),
    opt('A', ['as-path-lookups'], 'none'),
    opt('V', ['version'], 'none'),
    opt(undefined, ['sport'], 'required'),
    opt(undefined, ['fwmark'], 'required'),
    opt('M', ['module'], 'required'),
    opt('O', ['options'], 'required'),
    opt('U', ['udp'], 'none'),
    opt('D', ['dccp'], 'none'),
    opt('P', ['protocol'], 'required'),
    opt(undefined, ['mtu'], 'none'),
    opt(undefined, ['back'], 'none'),
    opt(undefined, ['help'], 'none'),
  ],
};

export const tracerouteRule: ToolRule = (argv, policy: ToolPolicy) => {
  // "-UL" is one option of its own (UDPLITE); it reads nothing, like -U.
  const { operands } = checkWithModel(argv.map((w) => (w === '-UL' ? '-U' : w)), TRACEROUTE_MODEL, policy);
  const host = operands[0];
  if (host !== undefined) checkTrafficTarget('traceroute', `host "${host}"`, host, policy);
  return NONE;
};
