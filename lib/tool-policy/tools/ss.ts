// ss (iproute2 6.x): getopt_long with GNU permutation; the filter follows the options. Option
// table checked against the installed ss. -F reads a filter file, -D writes a dump file, -N
// switches namespace (reading /var/run/netns), -K kills sockets (a write). -p/-T/-Z/-z read the
// /proc entries of every process to name a socket's owner (in the capture sandbox they would see
// none of the target's processes anyway), and -r resolves names through rpcbind's Unix socket.

import type { ToolPolicy } from '../config.js';
import { checkWithModel, mutating, opt, refuse, type OptionModel } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';

const flags: Array<[string | undefined, string]> = [
  ['h', 'help'], ['V', 'version'], ['n', 'numeric'], ['a', 'all'], ['l', 'listening'],
  ['o', 'options'], ['e', 'extended'], ['m', 'memory'], ['i', 'info'],
  [undefined, 'tipcinfo'], ['s', 'summary'], [undefined, 'tos'], [undefined, 'cgroup'], ['b', 'bpf'],
  ['E', 'events'], ['4', 'ipv4'], ['6', 'ipv6'], ['0', 'packet'],
  ['t', 'tcp'], ['M', 'mptcp'], ['S', 'sctp'], ['u', 'udp'], ['d', 'dccp'], ['w', 'raw'], ['x', 'unix'],
  [undefined, 'tipc'], [undefined, 'vsock'], [undefined, 'xdp'], ['H', 'no-header'], ['O', 'oneline'],
  [undefined, 'inet-sockopt'],
];

export const SS_MODEL: OptionModel = {
  tool: 'ss',
  permute: true,
  abbreviate: true,
  options: [
    ...flags.map(([s, l]) => opt(s, [l], 'none')),
    opt('v', [], 'none'),
    opt('f', ['family'], 'required'),
    opt('A', ['query', 'socket'], 'required'),
    opt('K', ['kill'], 'none', mutating('kills sockets')),
    opt('D', ['diag'], 'required', refuse('writes a dump file')),
    opt('F', ['filter'], 'required', refuse('reads a filter file')),
    opt('N', ['net'], 'required', refuse('switches to another network namespace')),
    opt('p', ['processes'], 'none', refuse("reads every process's /proc entries")),
    opt('T', ['threads'], 'none', refuse("reads every process's /proc entries (implies -p)")),
    opt('Z', ['context'], 'none', refuse("reads every process's /proc entries and security context")),
    opt('z', ['contexts'], 'none', refuse("reads every process's /proc entries and security context")),
    opt('r', ['resolve'], 'none', refuse("resolves names through rpcbind's Unix socket")),
  ],
};

export const ssRule: ToolRule = (argv, policy: ToolPolicy) => {
  checkWithModel(argv, SS_MODEL, policy);
  return NONE;
};
