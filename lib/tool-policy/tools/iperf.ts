import { refuseArg } from '../errors.js';
import { NONE, describe, refusedByLongTable, scanOptions, type OptionTable, type ToolRule } from '../options.js';

// iperf (2): -o writes an output file, -F/-I read input from a file or stdin, -D daemonises.
const IPERF2_TABLE: OptionTable = {
  shortWithValue: 'bcfilnoptwxyBFHLMPSTZ',
  longWithValue: ['bandwidth', 'format', 'interval', 'len', 'output', 'port', 'window', 'bind', 'mss', 'time', 'num',
    'parallel', 'listenport', 'ttl', 'fileinput', 'tos', 'linux-congestion', 'client', 'reportexclude', 'reportstyle'],
};
const IPERF2_REFUSED: Record<string, string> = {
  '-o': 'writes an output file', '-F': 'reads a file', '-I': 'reads standard input', '-D': 'detaches into a daemon',
  output: 'writes an output file', fileinput: 'reads a file', stdin: 'reads standard input', daemon: 'detaches into a daemon',
};
export const iperfRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, IPERF2_TABLE);
  for (const o of opts) {
    if (o.long) refusedByLongTable('iperf', o, IPERF2_REFUSED);
    else if (IPERF2_REFUSED[o.name]) refuseArg('iperf', describe(o), IPERF2_REFUSED[o.name]!);
  }
  return NONE;
};
