import { refuseArg } from '../errors.js';
import { NONE, describe, refusedByLongTable, scanOptions, type OptionTable, type ToolRule } from '../options.js';

// iperf3: options that read or write files, or detach from podtracer, are refused.
const IPERF3_TABLE: OptionTable = {
  shortWithValue: 'pfiIFABcbtnklPwMSLOTC',
  longWithValue: [
    'port', 'format', 'interval', 'pidfile', 'file', 'affinity', 'bind', 'bind-dev', 'logfile', 'rcv-timeout',
    'snd-timeout', 'server-bitrate-limit', 'idle-timeout', 'rsa-private-key-path', 'authorized-users-path',
    'time-skew-threshold', 'client', 'connect-timeout', 'bitrate', 'bandwidth', 'pacing-timer', 'fq-rate', 'time',
    'bytes', 'blockcount', 'length', 'cport', 'parallel', 'window', 'set-mss', 'tos', 'dscp', 'flowlabel', 'omit',
    'title', 'extra-data', 'username', 'rsa-public-key-path', 'congestion', 'linux-congestion', 'cntl-ka',
  ],
  longOptionalValue: ['timestamps', 'debug', 'cntl-ka'],
};
const IPERF3_REFUSED: Record<string, string> = {
  '-I': 'writes a pid file',
  '-F': 'reads or writes a file',
  '-D': 'detaches into a daemon that outlives the capture',
  logfile: 'writes a log file',
  pidfile: 'writes a pid file',
  file: 'reads or writes a file',
  daemon: 'detaches into a daemon that outlives the capture',
  'rsa-private-key-path': 'reads a key file',
  'rsa-public-key-path': 'reads a key file',
  'authorized-users-path': 'reads a credentials file',
};

export const iperf3Rule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, IPERF3_TABLE);
  for (const o of opts) {
    if (o.long) refusedByLongTable('iperf3', o, IPERF3_REFUSED);
    else if (IPERF3_REFUSED[o.name]) refuseArg('iperf3', describe(o), IPERF3_REFUSED[o.name]!);
  }
  return NONE;
};
