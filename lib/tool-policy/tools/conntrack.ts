// conntrack (conntrack-tools 1.4.x): getopt_long with the optstring and option table of
// conntrack.c. Commands (-L, -D, …) and the NAT filters (-n/-g/-j) take their value the way
// conntrack's get_optional_arg does: the NEXT word unless it starts with "-" or "!", while an
// attached value ("--dst-nat=X") is ignored — so `--dst-nat -D` is a filter and a delete command.
// Protocol options (--sport, --state, …) exist only after -p; they are modelled always, which
// only makes more abbreviations ambiguous (refused) than the tool would.

import type { ToolPolicy } from '../config.js';
import { checkWithModel, mutating, opt, refuse, type OptionModel, type OptionSpec } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';

/** A command: optional value in getopt terms, plus the next-word table name. */
function command(short: string, long: string, verdict?: ReturnType<typeof mutating>): OptionSpec {
  return { ...opt(short, [long], 'optional', verdict), nextWordUnlessDash: true };
}
/** -V, -h, -S: no getopt value, but conntrack still reads a table name from the next word. */
function flagCommand(short: string, long: string): OptionSpec {
  return { ...opt(short, [long], 'none'), nextWordUnlessDash: true };
}
const proto = (...names: string[]): OptionSpec => opt(undefined, names, 'required');

export const CONNTRACK_MODEL: OptionModel = {
  tool: 'conntrack',
  permute: true,
  abbreviate: true,
  options: [
    command('L', 'dump'),
    command('I', 'create', mutating('creates entries')),
    command('A', 'add', mutating('adds entries')),
    command('D', 'delete', mutating('deletes entries')),
    command('U', 'update', mutating('updates entries')),
    command('G', 'get'),
    command('F', 'flush', mutating('flushes the table')),
    command('E', 'event'),
    command('C', 'counter'),
    flagCommand('S', 'stats'),
    flagCommand('V', 'version'),
    flagCommand('h', 'help'),
    opt('R', ['load-file'], 'required', refuse('reads commands from a file')),
    opt('s', ['orig-src', 'src'], 'required'),
    opt('d', ['orig-dst', 'dst'], 'required'),
    opt('r', ['reply-src'], 'required'),
    opt('q', ['reply-dst'], 'required'),
    opt('p', ['protonum'], 'required'),
    opt('t', ['timeout'], 'required'),
    opt('u', ['status'], 'required'),
    opt('z', ['zero'], 'none', mutating('zeroes counters')),
    opt('e', ['event-mask'], 'required'),
    opt('[', ['tuple-src'], 'required'),
    opt(']', ['tuple-dst'], 'required'),
    opt('{', ['mask-src'], 'required'),
    opt('}', ['mask-dst'], 'required'),
    opt('a', ['nat-range'], 'required'),
    opt('m', ['mark'], 'required'),
    opt('c', ['secmark'], 'required'),
    opt('i', ['id'], 'optional'),
    opt('f', ['family'], 'required'),
    { ...opt('n', ['src-nat'], 'optional'), nextWordUnlessDash: true },
    { ...opt('g', ['dst-nat'], 'optional'), nextWordUnlessDash: true },
    { ...opt('j', ['any-nat'], 'optional'), nextWordUnlessDash: true },
    opt('o', ['output'], 'required'),
    opt('b', ['buffer-size'], 'required'),
    opt('w', ['zone'], 'required'),
    opt('l', ['label'], 'required'),
    opt('<', ['label-add'], 'required'),
    { ...opt('>', ['label-del'], 'optional'), nextWordUnlessDash: true },
    opt('(', ['orig-zone'], 'required'),
    opt(')', ['reply-zone'], 'required'),
    // protocol extensions (tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre)
    proto('orig-port-src', 'sport'),
    proto('orig-port-dst', 'dport'),
    proto('reply-port-src'),
    proto('reply-port-dst'),
    proto('mask-port-src'),
    proto('mask-port-dst'),
    proto('tuple-port-src'),
    proto('tuple-port-dst'),
    proto('state'),
    proto('orig-vtag'),
    proto('reply-vtag'),
    proto('role'),
    proto('icmp-type'),
    proto('icmp-code'),
    proto('icmp-id'),
    proto('orig-key-src', 'srckey'),
    proto('orig-key-dst', 'dstkey'),
    proto('reply-key-src'),
    proto('reply-key-dst'),
  ],
};

export const conntrackRule: ToolRule = (argv, policy: ToolPolicy) => {
  checkWithModel(argv, CONNTRACK_MODEL, policy);
  return NONE;
};
