import { refuseArg } from '../errors.js';
import { NONE, describe, longMeans, scanOptions, type ToolRule } from '../options.js';

// ss: -F reads a filter file, -D writes a dump file, -N switches namespace, -K kills sockets.
export const ssRule: ToolRule = (argv, policy) => {
  const { opts } = scanOptions(argv, {
    shortWithValue: 'fAFDN',
    longWithValue: ['family', 'query', 'socket', 'filter', 'diag', 'net'],
  });
  for (const o of opts) {
    if (o.name === '-F' || (o.long && longMeans(o.name, 'filter'))) refuseArg('ss', describe(o), 'reads a filter file');
    if (o.name === '-D' || (o.long && longMeans(o.name, 'diag'))) refuseArg('ss', describe(o), 'writes a dump file');
    if (o.name === '-N' || (o.long && longMeans(o.name, 'net'))) refuseArg('ss', describe(o), 'switches to another network namespace');
    if (!policy.allowMutating && (o.name === '-K' || (o.long && longMeans(o.name, 'kill')))) {
      refuseArg('ss', describe(o), 'kills sockets; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
    }
  }
  return NONE;
};
