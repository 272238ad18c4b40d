import { refuseArg } from '../errors.js';
import { NONE, type ToolRule } from '../options.js';
import { isReadOnlyVerb, refuseMonitorFile, refusePathLike, scanIprouteGlobals, type IprouteGlobals } from './iproute.js';

const TC_GLOBALS: IprouteGlobals = {
  order: [
    '-stats', '-statistics', '-details', '-raw', '-pretty', '-graph', '-Version', '-iec', '-help', '-force',
    '-batch', '-netns', '-names', '-nm', '-cf', '-conf', '-color', '-colour', '-timestamp', '-tshort', '-json',
    '-OK', '-brief',
  ],
  withValue: ['-batch', '-netns', '-conf', '-cf'],
  refused: {
    '-batch': 'reads commands from a file',
    '-force': 'goes with -batch, which reads commands from a file',
    '-netns': 'switches to another network namespace',
    '-conf': 'reads a configuration file',
    '-cf': 'reads a configuration file',
    '-OK': 'goes with -batch, which reads commands from a file',
  },
};

const TC_FILE_WORDS = ['bpf', 'obj', 'object-file', 'object-pinned', 'file', 'exec'];

export const tcRule: ToolRule = (argv, policy) => {
  const start = scanIprouteGlobals('tc', argv, TC_GLOBALS);
  const rest = argv.slice(start);
  const obj = rest[0];
  if (obj !== undefined && obj.length > 0 && 'exec'.startsWith(obj)) refuseArg('tc', `"${obj}"`, 'runs a program');
  const fileWord = rest.find((w) => TC_FILE_WORDS.includes(w));
  if (fileWord) refuseArg('tc', `"${fileWord}"`, 'loads a program or reads a file');
  refusePathLike('tc', rest);
  if (obj !== undefined && obj.length >= 1 && 'monitor'.startsWith(obj)) refuseMonitorFile('tc', rest);
  if (policy.allowMutating || obj === undefined) return NONE;
  if (obj.length >= 1 && 'monitor'.startsWith(obj)) return NONE;
  const verb = rest[1];
  if (verb !== undefined && !isReadOnlyVerb(verb)) {
    refuseArg('tc', `"${rest.slice(0, 2).join(' ')}"`, 'is not a read-only command (allowed: show, list, get, monitor, help); writes need SNOOPY_ALLOW_MUTATING_TOOLS');
  }
  return NONE;
};
