// tc (iproute2 6.1): the options of tc/tc.c main(), its objects (do_cmd) and each object's
// commands, every list in the order the tool tries it (see iproute.ts). do_qdisc tries "link"
// before "list", so `tc qdisc l`, `li` and `lin` replace a qdisc; only `lis`, `ls`, `s`… list.

import { NONE, type ToolRule } from '../rule.js';
import { READ, WRITE, checkIproute, iprouteMatches, monitorFileArgs, refused, type Globals, type Level, type Word } from './iproute.js';

/** tc/tc.c main(), in order. tc knows no "--". */
export const TC_GLOBALS: Globals = {
  gnuDashes: false,
  options: [
    { name: '-stats', match: 'prefix', effect: READ },
    { name: '-statistics', match: 'prefix', effect: READ },
    { name: '-details', match: 'prefix', effect: READ },
    { name: '-raw', match: 'prefix', effect: READ },
    { name: '-pretty', match: 'prefix', effect: READ },
    { name: '-graph', match: 'prefix', effect: READ },
    { name: '-Version', match: 'prefix', effect: READ },
    { name: '-iec', match: 'prefix', effect: READ },
    { name: '-help', match: 'prefix', effect: READ },
    { name: '-force', match: 'prefix', effect: refused('goes with -batch, which reads commands from a file') },
    { name: '-batch', match: 'prefix', takesValue: true, effect: refused('reads commands from a file') },
    { name: '-netns', match: 'prefix', takesValue: true, effect: refused('joins another network namespace') },
    { name: '-Numeric', match: 'prefix', effect: READ },
    // reads /etc/iproute2/tc_cls (a fixed file) unless -cf names another
    { name: '-names', match: 'prefix', effect: READ },
    { name: '-nm', match: 'prefix', effect: READ },
    { name: '-cf', match: 'prefix', takesValue: true, effect: refused('reads a class names file') },
    { name: '-conf', match: 'prefix', takesValue: true, effect: refused('reads a class names file') },
    { name: '-color', match: 'color', effect: READ },
    { name: '-timestamp', match: 'prefix', effect: READ },
    { name: '-tshort', match: 'prefix', effect: READ },
    { name: '-json', match: 'prefix', effect: READ },
    { name: '-oneline', match: 'prefix', effect: READ },
    { name: '-brief', match: 'prefix', effect: READ },
  ],
};

const help: Word = { name: 'help', then: READ };
const list = (...names: string[]): Word[] => names.map((name) => ({ name, then: READ }));
const writes = (...names: string[]): Word[] => names.map((name) => ({ name, then: WRITE }));
const SHOW = list('list', 'show', 'lst');

const ACTION_WRITES = ['add', 'change', 'replace', 'delete', 'flush'];

/**
 * tc/m_action.c do_action runs one command after another (`tc actions get … delete …`): after
 * `get`, a later word that do_action would read as a writing command makes the line a write.
 */
function actionsGetWrites(rest: readonly string[]): string | undefined {
  const w = rest.find((word) => ACTION_WRITES.some((name) => iprouteMatches(word, name)));
  return w === undefined ? undefined : `"${w}", which tc may read as a further, writing actions command`;
}

/** tc/tc.c do_cmd, in order, with each object's do_* function. */
export const TC_COMMANDS: Level = {
  bare: READ,
  words: [
    { name: 'qdisc', then: { bare: READ, words: [...writes('add', 'change', 'replace', 'link', 'delete'), ...SHOW, help] } },
    { name: 'class', then: { bare: READ, words: [...writes('add', 'change', 'replace', 'delete'), ...SHOW, help] } },
    { name: 'filter', then: { bare: READ, words: [...writes('add', 'change', 'replace', 'delete'), { name: 'get', then: READ }, ...SHOW, help] } },
    { name: 'chain', then: { bare: READ, words: [...writes('add', 'delete'), { name: 'get', then: READ }, ...SHOW, help] } },
    { name: 'actions', then: { bare: READ, words: [
      ...writes('add', 'change', 'replace', 'delete'),
      { name: 'get', then: READ, writeIf: (rest) => actionsGetWrites(rest) },
      ...SHOW, { name: 'flush', then: WRITE }, help,
    ] } },
    { name: 'monitor', then: READ, args: (rest) => monitorFileArgs(rest) },
    { name: 'exec', then: refused('runs a program or loads a BPF object') },
    help,
  ],
};

/** `bpf` (the filter and action kind, compared whole) loads a BPF object file or a pinned program. */
function tcRefusedWord(w: string): string | undefined {
  return w === 'bpf' ? 'loads a BPF program from a file' : undefined;
}

export const tcRule: ToolRule = (argv, policy) => {
  checkIproute('tc', argv, policy, TC_GLOBALS, TC_COMMANDS, tcRefusedWord);
  return NONE;
};
