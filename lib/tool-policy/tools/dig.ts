import { refuseArg } from '../errors.js';
import { NONE, describe, scanOptions, type ToolRule } from '../options.js';

// dig: -f reads a batch file, -k a key file.
export const digRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, { shortWithValue: 'bcfkpqtxy', longWithValue: [] });
  for (const o of opts) {
    if (o.name === '-f') refuseArg('dig', describe(o), 'reads a batch file');
    if (o.name === '-k') refuseArg('dig', describe(o), 'reads a key file');
  }
  return NONE;
};
