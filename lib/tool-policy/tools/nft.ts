// nft (nftables): read-only listing only. nft reads files (-f, include, -I), runs interactive
// sessions and changes the ruleset with most of its commands, so only a closed set of words is
// allowed: output flags, then `list` and what to list (ruleset, tables, a named table or chain).
// Never mutating, whatever the policy says: the evidence bundle and a person only ever read it.

import { refuseArg } from '../errors.js';
import { NONE, type ToolRule } from '../rule.js';

const FLAGS = new Set(['-j', '--json', '-n', '--numeric', '-s', '--stateless', '-a', '--handle', '-t', '--terse', '-y', '--numeric-priority', '-p', '--numeric-protocol', '-T', '--numeric-time']);
const LISTABLE = new Set(['ruleset', 'tables', 'table', 'chains', 'chain', 'sets', 'set', 'maps', 'map', 'counters', 'counter', 'flowtables', 'flowtable']);
const FAMILIES = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);

export const nftRule: ToolRule = (argv) => {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    if (!FLAGS.has(argv[i]!)) refuseArg('nft', `option "${argv[i]}"`, 'is not a read-only listing option');
    i++;
  }
  const words = argv.slice(i);
  if (words[0] !== 'list') refuseArg('nft', `"${words.join(' ')}"`, 'is not "list …": only listing is allowed');
  if (words.length < 2 || !LISTABLE.has(words[1]!)) refuseArg('nft', `"list ${words[1] ?? ''}"`, 'lists nothing nft knows');
  // nft reads options after its command words too (getopt permutes): no word may look like one
  for (const w of words.slice(2)) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(w)) refuseArg('nft', `"${w}"`, 'is not a plain family, table or chain name');
  }
  // list KIND [FAMILY] [TABLE [CHAIN]]
  const rest = words.length > 2 && FAMILIES.has(words[2]!) ? words.length - 3 : words.length - 2;
  if (rest > 2) refuseArg('nft', `"${words.join(' ')}"`, 'has too many words');
  return NONE;
};
