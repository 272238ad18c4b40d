// ethtool (6.x) has no getopt: after its flags (--debug MASK, --json, -I/--include-statistics)
// the first word names the mode, matched exactly against the names in its help ("-s|--change"),
// then come the device and the mode's keyword parameters. A first word that names no mode is
// the device (show settings). Queries are allowed; modes that change the device need
// SNOOPY_ALLOW_MUTATING_TOOLS; flashing firmware and the "file"/"data" parameters (read a dump
// from a file, write one to a file) are refused whatever the policy.

import type { ToolPolicy } from '../config.js';
import { refuseArg } from '../errors.js';
import { mutating, opt, refuse, specFor, type OptionModel, type OptionSpec } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';

const CHANGES = 'changes the device';
const q = (...names: string[]): OptionSpec => mode(names);
const w = (...names: string[]): OptionSpec => mode(names, mutating(CHANGES));

function mode(names: string[], verdict?: OptionSpec['verdict']): OptionSpec {
  const short = names.find((n) => /^-[^-]$/.test(n))?.slice(1);
  const long = names.filter((n) => n.startsWith('--')).map((n) => n.slice(2));
  const spec = opt(short, long, 'none', verdict);
  // -N and -U, -n and -u are two short names of one mode: keep the second as its own spec.
  return spec;
}

/** The flags before the mode. */
export const ETHTOOL_FLAGS: OptionModel = {
  tool: 'ethtool',
  permute: false,
  abbreviate: false,
  options: [opt(undefined, ['debug'], 'required'), opt(undefined, ['json'], 'none'), opt('I', ['include-statistics'], 'none')],
};

/** The modes, as an option model so that every documented name has a verdict. */
export const ETHTOOL_MODES: OptionModel = {
  tool: 'ethtool',
  permute: false,
  abbreviate: false,
  options: [
    w('-s', '--change'),
    q('-a', '--show-pause'), w('-A', '--pause'),
    q('-c', '--show-coalesce'), w('-C', '--coalesce'),
    q('-g', '--show-ring'), w('-G', '--set-ring'),
    q('-k', '--show-features', '--show-offload'), w('-K', '--features', '--offload'),
    q('-i', '--driver'),
    q('-d', '--register-dump'),
    q('-e', '--eeprom-dump'), w('-E', '--change-eeprom'),
    w('-r', '--negotiate'),
    w('-p', '--identify'),
    q('-P', '--show-permaddr'),
    mode(['-t', '--test'], mutating('runs a self test that takes the link down')),
    q('-S', '--statistics'), q('--phy-statistics'),
    q('-n', '--show-nfc', '--show-ntuple'), q('-u'),
    w('-N', '--config-nfc', '--config-ntuple'), w('-U'),
    q('-T', '--show-time-stamping'),
    q('-x', '--show-rxfh-indir', '--show-rxfh'), w('-X', '--set-rxfh-indir', '--rxfh'),
    mode(['-f', '--flash'], refuse('flashes firmware from a file')),
    q('-w', '--get-dump'), w('-W', '--set-dump'),
    q('-l', '--show-channels'), w('-L', '--set-channels'),
    q('--show-priv-flags'), w('--set-priv-flags'),
    q('-m', '--dump-module-eeprom', '--module-info'),
    q('--show-eee'), w('--set-eee'),
    q('--get-tunable'), w('--set-tunable'),
    q('--get-phy-tunable'), w('--set-phy-tunable'),
    w('--reset'),
    q('--show-fec'), w('--set-fec'),
    mode(['-Q', '--per-queue']),
    mode(['--cable-test'], mutating('runs a cable test that takes the link down')),
    mode(['--cable-test-tdr'], mutating('runs a cable test that takes the link down')),
    q('--show-tunnels'),
    q('--show-module'), w('--set-module'),
    q('--monitor'),
    q('-h', '--help'), q('--version'),
  ],
};

function apply(spec: OptionSpec, word: string, policy: ToolPolicy): void {
  const v = spec.verdict;
  if (v.kind === 'refuse') refuseArg('ethtool', `"${word}"`, v.why);
  if (v.kind === 'mutating' && !policy.allowMutating) refuseArg('ethtool', `"${word}"`, `${v.why}; writes need SNOOPY_ALLOW_MUTATING_TOOLS`);
}

export const ethtoolRule: ToolRule = (argv, policy: ToolPolicy) => {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const flag = specFor(ETHTOOL_FLAGS, argv[i]!);
    if (!flag) break;
    i += flag.arg === 'required' ? 2 : 1;
  }
  const first = argv[i];
  if (first === undefined) return NONE;
  if (first.startsWith('-')) {
    const spec = specFor(ETHTOOL_MODES, first);
    if (!spec) refuseArg('ethtool', `option "${first}"`, 'is not an ethtool mode');
    apply(spec, first, policy);
  }
  for (const w of argv.slice(i + 1)) {
    if (w === 'file' || w === 'data') refuseArg('ethtool', `"${w}"`, 'reads or writes a file');
    // -Q/--per-queue and --monitor name a second mode after the device; it counts as well.
    const sub = w.startsWith('-') ? specFor(ETHTOOL_MODES, w) : undefined;
    if (sub) apply(sub, w, policy);
  }
  return NONE;
};
