import { refuseArg } from '../errors.js';
import { NONE, describe, longMeans, refusedByLongTable, scanOptions, type OptionTable, type ToolRule } from '../options.js';

// conntrack: listing, getting, counting, events and stats read; the rest writes.
const CONNTRACK_TABLE: OptionTable = {
  shortWithValue: 'sdrqptuemifowcbal',
  longWithValue: [
    'orig-src', 'orig-dst', 'reply-src', 'reply-dst', 'proto', 'timeout', 'status', 'event-mask', 'mark', 'id',
    'family', 'output', 'zone', 'orig-zone', 'reply-zone', 'buffer-size', 'label', 'label-add', 'label-del',
    'mask-src', 'mask-dst', 'tuple-src', 'tuple-dst', 'src-nat', 'dst-nat', 'any-nat', 'sport', 'dport',
    'orig-port-src', 'orig-port-dst', 'reply-port-src', 'reply-port-dst', 'load-file',
  ],
};
const CONNTRACK_WRITES: Record<string, string> = {
  '-D': 'deletes entries', '-F': 'flushes the table', '-I': 'creates entries', '-U': 'updates entries',
  '-z': 'zeroes counters', '-A': 'adds entries',
  delete: 'deletes entries', flush: 'flushes the table', create: 'creates entries', update: 'updates entries',
  zero: 'zeroes counters', add: 'adds entries',
};
export const conntrackRule: ToolRule = (argv, policy) => {
  const { opts } = scanOptions(argv, CONNTRACK_TABLE);
  for (const o of opts) {
    if (o.name === '-R' || (o.long && longMeans(o.name, 'load-file'))) refuseArg('conntrack', describe(o), 'reads a file');
    if (policy.allowMutating) continue;
    if (o.long) refusedByLongTable('conntrack', o, CONNTRACK_WRITES);
    else if (CONNTRACK_WRITES[o.name]) refuseArg('conntrack', describe(o), `${CONNTRACK_WRITES[o.name]}; writes need SNOOPY_ALLOW_MUTATING_TOOLS`);
  }
  return NONE;
};
