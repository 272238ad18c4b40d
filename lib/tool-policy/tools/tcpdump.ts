// tcpdump (4.99): getopt_long with GNU permutation, optstring
// "aAbB:c:C:dDeE:fF:G:hHi:Ij:JKlLm:M:nNOpqQ:r:s:StT:uUvV:w:W:xXy:Yz:Z:#" and its long options
// (checked against the installed tcpdump). Packets go to standard output only ("-w -"); every
// option that reads or writes a file, runs a command or changes the user is refused.

import type { ToolPolicy } from '../config.js';
import { refuseArg } from '../errors.js';
import { check, checkWithModel, opt, refuse, type OptionModel } from '../getopt.js';
import type { ToolRule } from '../rule.js';

const ROTATES = 'rotates into files (only "-w -" is allowed)';

export const TCPDUMP_MODEL: OptionModel = {
  tool: 'tcpdump',
  permute: true,
  abbreviate: true,
  options: [
    opt('a', [], 'none'),
    opt('A', [], 'none'),
    opt('b', [], 'none'),
    opt('B', ['buffer-size'], 'required'),
    opt('c', [], 'required'),
    opt(undefined, ['count'], 'none'),
    opt('C', [], 'required', refuse(ROTATES)),
    opt('d', [], 'none'),
    opt('D', ['list-interfaces'], 'none'),
    opt('e', [], 'none'),
    opt('E', [], 'required', refuse('may read the ESP secrets from a file')),
    opt('f', [], 'none'),
    opt('F', [], 'required', refuse('reads the filter from a file')),
    opt('G', [], 'required', refuse(ROTATES)),
    opt('h', ['help'], 'none'),
    opt(undefined, ['version'], 'none'),
    opt('H', [], 'none'),
    opt('i', ['interface'], 'required'),
    opt('I', ['monitor-mode'], 'none'),
    opt(undefined, ['immediate-mode'], 'none'),
    opt('j', ['time-stamp-type'], 'required'),
    opt('J', ['list-time-stamp-types'], 'none'),
    opt(undefined, ['time-stamp-precision'], 'required'),
    opt(undefined, ['micro'], 'none'),
    opt(undefined, ['nano'], 'none'),
    opt('K', ['dont-verify-checksums'], 'none'),
    opt('l', [], 'none'),
    opt('L', ['list-data-link-types'], 'none'),
    opt('m', [], 'required', refuse('loads a MIB file')),
    opt('M', [], 'required'),
    opt('n', [], 'none'),
    opt('N', [], 'none'),
    opt('#', ['number'], 'none'),
    opt('O', ['no-optimize'], 'none'),
    opt('p', ['no-promiscuous-mode'], 'none'),
    opt(undefined, ['print'], 'none'),
    opt('Q', ['direction'], 'required'),
    opt('q', [], 'none'),
    opt('r', [], 'required', refuse('reads a capture file')),
    opt('S', ['absolute-tcp-sequence-numbers'], 'none'),
    opt('s', ['snapshot-length'], 'required'),
    opt('T', [], 'required'),
    opt('t', [], 'none'),
    opt('u', [], 'none'),
    opt('U', ['packet-buffered'], 'none'),
    opt('v', [], 'none'),
    opt('V', [], 'required', refuse('reads a list of capture files')),
    opt('w', [], 'required', check((v, ctx) => {
      if (v !== '-') refuseArg(ctx.tool, ctx.spelled, 'writes a file; only "-w -" (standard output) is allowed');
    })),
    opt('W', [], 'required', refuse(ROTATES)),
    opt('x', [], 'none'),
    opt('X', [], 'none'),
    opt('y', ['linktype'], 'required'),
    opt('Y', [], 'none'),
    opt('z', [], 'required', refuse('runs a command on every rotated file')),
    opt('Z', ['relinquish-privileges'], 'required', refuse('changes the user (and with it which files are written)')),
    opt(undefined, ['fp-type'], 'none'),
  ],
};

export const tcpdumpRule: ToolRule = (argv, policy: ToolPolicy) => {
  const { options } = checkWithModel(argv, TCPDUMP_MODEL, policy);
  const toStdout = options.some((o) => o.name === '-w');
  const print = options.find((o) => o.name === '--print');
  if (toStdout && print) refuseArg('tcpdump', `"${print.spelled}"`, 'together with "-w -" would mix text into the pcap stream');
  return { writesPcapToStdout: toStdout };
};
