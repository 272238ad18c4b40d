import { refuseArg } from '../errors.js';
import { NONE, type ToolRule } from '../options.js';

// ethtool: the first option names the action; only queries are allowed unless writes are.
const ETHTOOL_QUERIES = new Set([
  '-a', '--show-pause', '-c', '--show-coalesce', '-g', '--show-ring', '-i', '--driver', '-d', '--register-dump',
  '-e', '--eeprom-dump', '-k', '--show-features', '--show-offload', '-P', '--show-permaddr', '-S', '--statistics',
  '--phy-statistics', '-T', '--show-time-stamping', '-l', '--show-channels', '-m', '--dump-module-eeprom',
  '--module-info', '-x', '--show-rxfh-indir', '--show-rxfh', '-n', '-u', '--show-nfc', '--show-ntuple',
  '--show-priv-flags', '--show-eee', '--show-fec', '--show-tunnels', '--show-module', '--show-mm', '--show-pse',
  '--show-plca', '--cable-test-tdr-show', '-w', '--get-dump', '-h', '--help', '--version', '--monitor',
  '--json', '-I', '--include-statistics', '--debug', '--all-groups', '--groups', '--src',
]);
export const ethtoolRule: ToolRule = (argv, policy) => {
  const fileWord = argv.find((w) => w === 'file' || w === 'data');
  if (fileWord) refuseArg('ethtool', `"${fileWord}"`, 'reads or writes a file');
  for (const w of argv) {
    if (w === '-f' || w === '--flash') refuseArg('ethtool', `"${w}"`, 'flashes firmware from a file');
  }
  if (policy.allowMutating) return NONE;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (!w.startsWith('-')) continue;
    if (!ETHTOOL_QUERIES.has(w)) {
      refuseArg('ethtool', `option "${w}"`, 'is not a read-only query; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
    }
    if (w === '--debug') i++;
  }
  return NONE;
};
