import { refuseArg } from '../errors.js';
import { describe, longCandidates, scanOptions, type OptionTable, type ToolRule } from '../options.js';

// tcpdump: an allowlist of options (getopt string of tcpdump 4.99 plus its long options).
const TCPDUMP_TABLE: OptionTable = {
  shortWithValue: 'BcCEFGijmMQrsTVwWyzZ',
  longWithValue: [
    'buffer-size', 'direction', 'interface', 'linktype', 'relinquish-privileges', 'snapshot-length',
    'time-stamp-type', 'time-stamp-precision', 'print-sampling', 'skip',
  ],
  longFlags: ['print', 'count', 'number', 'micro', 'nano', 'version', 'help', 'lengths'],
};
const TCPDUMP_SHORT_OK = new Set('AbBcdDefhHiIjJKlLMnNOpqQsStTuUvxXyY#w'.split('').map((c) => `-${c}`));
const TCPDUMP_LONG_OK = [
  'buffer-size', 'count', 'direction', 'interface', 'linktype', 'snapshot-length', 'time-stamp-type',
  'time-stamp-precision', 'print-sampling', 'skip', 'immediate-mode', 'monitor-mode', 'list-interfaces',
  'list-data-link-types', 'list-time-stamp-types', 'no-optimize', 'no-promiscuous-mode', 'number',
  'packet-buffered', 'version', 'help', 'print', 'lengths', 'micro', 'nano', 'fp-type',
];
const TCPDUMP_REFUSED: Record<string, string> = {
  '-z': 'runs a command on every rotated file',
  '-Z': 'changes the user (and with it which files are written)',
  '-r': 'reads a capture file',
  '-V': 'reads a list of capture files',
  '-F': 'reads the filter from a file',
  '-C': 'rotates into files',
  '-G': 'rotates into files',
  '-W': 'limits rotated files',
  '-E': 'may read the ESP secrets from a file',
  '-m': 'loads a MIB file',
  '--relinquish-privileges': 'changes the user (and with it which files are written)',
};

export const tcpdumpRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, TCPDUMP_TABLE);
  let toStdout = false;
  let prints = false;
  for (const o of opts) {
    if (o.long) {
      const cands = longCandidates(o.name.slice(2), [...TCPDUMP_LONG_OK, 'relinquish-privileges', 'write']);
      if (cands.length === 0) refuseArg('tcpdump', `option "${o.name}"`, 'is not a known read-only tcpdump option');
      if (cands.some((c) => c === 'relinquish-privileges')) refuseArg('tcpdump', describe(o), TCPDUMP_REFUSED['--relinquish-privileges']!);
      if (cands.includes('write')) refuseArg('tcpdump', describe(o), 'writes a file');
      if (cands.length > 1) refuseArg('tcpdump', `option "${o.name}"`, `is ambiguous (${cands.join(', ')})`);
      if (cands[0] === 'print') prints = true;
      continue;
    }
    const why = TCPDUMP_REFUSED[o.name];
    if (why) refuseArg('tcpdump', describe(o), why);
    if (o.name === '-w') {
      if (o.value !== '-') refuseArg('tcpdump', describe(o), 'writes a file; only "-w -" (standard output) is allowed');
      toStdout = true;
      continue;
    }
    if (!TCPDUMP_SHORT_OK.has(o.name)) refuseArg('tcpdump', `option "${o.name}"`, 'is not a known read-only tcpdump option');
    if (o.value === undefined && TCPDUMP_TABLE.shortWithValue.includes(o.name[1]!)) {
      refuseArg('tcpdump', `option "${o.name}"`, 'needs a value');
    }
  }
  if (toStdout && prints) refuseArg('tcpdump', '"--print"', 'together with "-w -" would mix text into the pcap stream');
  return { writesPcapToStdout: toStdout };
};
