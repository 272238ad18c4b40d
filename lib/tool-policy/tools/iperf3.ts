// iperf3 (3.x): getopt_long with GNU permutation. Every option is modelled with the argument mode
// of iperf3's own option table (checked against the installed iperf3: `--server` is a plain flag,
// `--server-bitrate-limit` takes a value, `--debug[=n]` an optional one while `-d` takes none).
// Options that read or write files or detach a daemon are refused whatever the policy says.

import type { ToolPolicy } from '../config.js';
import { check, checkWithModel, opt, refuse, type OptionModel } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';
import { checkTrafficTarget } from '../traffic.js';

const FILE = 'reads or writes a file';
const target = check((v, ctx) => checkTrafficTarget(ctx.tool, ctx.spelled, v!, ctx.policy));

export const IPERF3_MODEL: OptionModel = {
  tool: 'iperf3',
  permute: true,
  abbreviate: true,
  options: [
    opt('p', ['port'], 'required'),
    opt('f', ['format'], 'required'),
    opt('i', ['interval'], 'required'),
    opt('I', ['pidfile'], 'required', refuse('writes a pid file (and deletes it on exit)')),
    opt('F', ['file'], 'required', refuse(FILE)),
    opt('A', ['affinity'], 'required'),
    opt('B', ['bind'], 'required'),
    opt(undefined, ['bind-dev'], 'required'),
    opt('V', ['verbose'], 'none'),
    opt('J', ['json'], 'none'),
    opt(undefined, ['logfile'], 'required', refuse('appends to a log file')),
    opt(undefined, ['forceflush'], 'none'),
    opt(undefined, ['timestamps'], 'optional'),
    opt(undefined, ['rcv-timeout'], 'required'),
    opt(undefined, ['snd-timeout'], 'required'),
    opt('d', [], 'none'),
    opt(undefined, ['debug'], 'optional'),
    opt('v', ['version'], 'none'),
    opt('h', ['help'], 'none'),
    opt('s', ['server'], 'none'),
    opt('D', ['daemon'], 'none', refuse('detaches into a daemon that outlives the capture')),
    opt('1', ['one-off'], 'none'),
    opt(undefined, ['server-bitrate-limit'], 'required'),
    opt(undefined, ['idle-timeout'], 'required'),
    opt(undefined, ['rsa-private-key-path'], 'required', refuse('reads a key file')),
    opt(undefined, ['authorized-users-path'], 'required', refuse('reads a credentials file')),
    opt(undefined, ['time-skew-threshold'], 'required'),
    opt('c', ['client'], 'required', target),
    opt(undefined, ['sctp'], 'none'),
    opt('X', ['xbind'], 'required'),
    opt(undefined, ['nstreams'], 'required'),
    opt('u', ['udp'], 'none'),
    opt(undefined, ['connect-timeout'], 'required'),
    opt('b', ['bitrate', 'bandwidth'], 'required'),
    opt(undefined, ['pacing-timer'], 'required'),
    opt(undefined, ['fq-rate'], 'required'),
    opt(undefined, ['no-fq-socket-pacing'], 'none'),
    opt('t', ['time'], 'required'),
    opt('n', ['bytes'], 'required'),
    opt('k', ['blockcount'], 'required'),
    opt('l', ['length'], 'required'),
    opt(undefined, ['cport'], 'required'),
    opt('P', ['parallel'], 'required'),
    opt('R', ['reverse'], 'none'),
    opt(undefined, ['bidir'], 'none'),
    opt('w', ['window'], 'required'),
    opt('C', ['congestion', 'linux-congestion'], 'required'),
    opt('M', ['set-mss'], 'required'),
    opt('N', ['no-delay'], 'none'),
    opt('4', ['version4'], 'none'),
    opt('6', ['version6'], 'none'),
    opt('S', ['tos'], 'required'),
    opt(undefined, ['dscp'], 'required'),
    opt('L', ['flowlabel'], 'required'),
    opt('Z', ['zerocopy'], 'none'),
    opt('O', ['omit'], 'required'),
    opt('T', ['title'], 'required'),
    opt(undefined, ['extra-data'], 'required'),
    opt(undefined, ['get-server-output'], 'none'),
    opt(undefined, ['udp-counters-64bit'], 'none'),
    opt(undefined, ['repeating-payload'], 'none'),
    opt(undefined, ['dont-fragment'], 'none'),
    opt(undefined, ['username'], 'required', refuse('goes with --rsa-public-key-path, which reads a key file')),
    opt(undefined, ['rsa-public-key-path'], 'required', refuse('reads a key file')),
  ],
};

export const iperf3Rule: ToolRule = (argv, policy: ToolPolicy) => {
  checkWithModel(argv, IPERF3_MODEL, policy);
  return NONE;
};
