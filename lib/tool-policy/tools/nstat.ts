import { refuseArg } from '../errors.js';
import { NONE, describe, longMeans, scanOptions, type ToolRule } from '../options.js';

// nstat keeps a history file between runs: only `-s` (--noupdate) runs, which never write it,
// are allowed; -d runs a daemon.
export const nstatRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, { shortWithValue: 'dt', longWithValue: ['scan', 'interval'] });
  let noUpdate = false;
  for (const o of opts) {
    if (o.name === '-d' || (o.long && longMeans(o.name, 'scan'))) refuseArg('nstat', describe(o), 'starts a daemon');
    if (o.name === '-r' || (o.long && longMeans(o.name, 'reset'))) refuseArg('nstat', describe(o), 'resets the history file');
    if (o.name === '-n' || (o.long && longMeans(o.name, 'nooutput'))) refuseArg('nstat', describe(o), 'only updates the history file');
    if (o.name === '-s' || (o.long && longMeans(o.name, 'noupdate'))) noUpdate = true;
    if (o.name === '-h' || o.name === '-V' || (o.long && (longMeans(o.name, 'help') || longMeans(o.name, 'version')))) noUpdate = true;
  }
  if (!noUpdate) refuseArg('nstat', 'without "-s"', 'would write its history file; add -s (--noupdate)');
  return NONE;
};
