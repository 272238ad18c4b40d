// ip and tc: every option, object and command the installed tools document (their help output
// and man pages, captured under tool-options/) is classified here, and the policy must read each
// one as the tool does. A newly documented one that this table lacks fails the test.

import { describe, expect, test } from '@jest/globals';
import { DEFAULT_TOOL_POLICY, type ToolPolicy } from '../tool-policy.js';
import { allowed, errorOf } from './policy-verdict.js';
import { findGlobal, resolveCommand, type Globals, type Level } from '../tool-policy/tools/iproute.js';
import { IP_COMMANDS, IP_GLOBALS } from '../tool-policy/tools/ip.js';
import { TC_COMMANDS, TC_GLOBALS } from '../tool-policy/tools/tc.js';
import { documentedCommands, documentedList, documentedOptions, sections, toolOptionsText } from './tool-options/iproute-docs.js';

type Kind = 'read' | 'write' | 'refused' | 'unknown';

const MUTATING: ToolPolicy = { ...DEFAULT_TOOL_POLICY, allowMutating: true };

/** What the policy lets through for each kind: [without, with] SNOOPY_ALLOW_MUTATING_TOOLS. */
const ALLOWED_BY_KIND: Record<Kind, [boolean, boolean]> = {
  read: [true, true],
  write: [false, true],
  refused: [false, false],
  unknown: [false, false],
};

function optionKind(g: Globals, typed: string): [string, Kind] {
  const o = findGlobal(g, typed);
  return o === undefined ? ['', 'unknown'] : [o.name, o.effect.kind];
}

/** Documented command word sequences, keyed by the words the tool reads as names (the rest are arguments). */
function commandKinds(top: Level, documented: Iterable<string>): Map<string, [string, Kind]> {
  const out = new Map<string, [string, Kind]>();
  for (const c of documented) {
    const words = c.split(' ');
    const r = resolveCommand(top, words);
    const key = words.slice(0, r.consumed + (r.unknown === undefined ? 0 : 1)).join(' ');
    out.set(key, [r.path.join(' '), r.effect?.kind ?? 'unknown']);
  }
  return out;
}

/** Fails listing what the data documents and the table does not classify, then compares. */
function expectClassified(documented: Map<string, [string, Kind]>, table: Record<string, [string, Kind]>): void {
  const unclassified = [...documented.keys()].filter((k) => !(k in table)).sort();
  expect(unclassified).toEqual([]);
  for (const [k, got] of documented) expect([k, ...got]).toEqual([k, ...table[k]!]);
}

// ---------------------------------------------------------------------------------------------
// ip

const IP_HELP = sections(toolOptionsText('ip.help.txt'));
const IP_TOP_HELP = IP_HELP.get('ip help')!;

/** ip's global options: [the option ip reads it as, kind]. */
const IP_OPTIONS: Record<string, [string, Kind]> = {
  '-0': ['-0', 'read'], '-4': ['-4', 'read'], '-6': ['-6', 'read'], '-B': ['-B', 'read'], '-M': ['-M', 'read'],
  '-N': ['-Numeric', 'read'], '-Numeric': ['-Numeric', 'read'], '-V': ['-Version', 'read'], '-Version': ['-Version', 'read'],
  '-a': ['-all', 'read'], '-all': ['-all', 'read'], '-b': ['-batch', 'refused'], '-batch': ['-batch', 'refused'],
  '-br': ['-brief', 'read'], '-brief': ['-brief', 'read'], '-c': ['-color', 'read'], '-color': ['-color', 'read'],
  '-d': ['-details', 'read'], '-details': ['-details', 'read'], '-echo': ['-echo', 'read'], '-f': ['-family', 'read'],
  '-family': ['-family', 'read'], '-force': ['-force', 'refused'], '-h': ['-human', 'read'], '-human': ['-human', 'read'],
  '-human-readable': ['-human-readable', 'read'], '-iec': ['-iec', 'read'], '-j': ['-json', 'read'], '-json': ['-json', 'read'],
  '-l': ['-loops', 'read'], '-loops': ['-loops', 'read'], '-n': ['-netns', 'refused'], '-netns': ['-netns', 'refused'],
  '-o': ['-oneline', 'read'], '-oneline': ['-oneline', 'read'], '-p': ['-pretty', 'read'], '-pretty': ['-pretty', 'read'],
  '-r': ['-resolve', 'read'], '-rc': ['-rcvbuf', 'read'], '-rcvbuf': ['-rcvbuf', 'read'], '-resolve': ['-resolve', 'read'],
  '-s': ['-stats', 'read'], '-statistics': ['-statistics', 'read'], '-stats': ['-stats', 'read'], '-t': ['-timestamp', 'read'],
  '-timestamp': ['-timestamp', 'read'], '-ts': ['-tshort', 'read'], '-tshort': ['-tshort', 'read'],
};

/** ip's objects and commands as documented: [what ip reads the words as, kind]. */
const IP_DOCUMENTED_COMMANDS: Record<string, [string, Kind]> = {
  address: ['address', 'read'], 'address add': ['address add', 'write'], 'address change': ['address change', 'write'],
  'address del': ['address delete', 'write'], 'address flush': ['address flush', 'write'],
  'address replace': ['address replace', 'write'], 'address restore': ['address restore', 'write'],
  'address save': ['address save', 'read'], 'address show': ['address show', 'read'],
  'address showdump': ['address showdump', 'read'],
  addrlabel: ['addrlabel', 'read'], 'addrlabel add': ['addrlabel add', 'write'], 'addrlabel del': ['addrlabel delete', 'write'],
  'addrlabel flush': ['addrlabel flush', 'write'], 'addrlabel help': ['addrlabel help', 'read'],
  'addrlabel list': ['addrlabel list', 'read'],
  // listed by `ip help` but not in ip's object table (it is a link type): ip refuses it
  amt: ['', 'unknown'],
  fou: ['fou', 'read'], 'fou add': ['fou add', 'write'], 'fou del': ['fou delete', 'write'], 'fou show': ['fou show', 'read'],
  help: ['help', 'read'],
  ila: ['ila', 'read'], 'ila add': ['ila add', 'write'], 'ila del': ['ila delete', 'write'], 'ila list': ['ila list', 'read'],
  ioam: ['ioam', 'read'], 'ioam namespace add': ['ioam namespace add', 'write'],
  'ioam namespace del': ['ioam namespace del', 'write'], 'ioam namespace set': ['ioam namespace set', 'write'],
  'ioam namespace show': ['ioam namespace show', 'read'], 'ioam schema add': ['ioam schema add', 'write'],
  'ioam schema del': ['ioam schema del', 'write'], 'ioam schema show': ['ioam schema show', 'read'],
  l2tp: ['l2tp', 'read'], 'l2tp add': ['l2tp add', 'write'], 'l2tp del': ['l2tp delete', 'write'], 'l2tp show': ['l2tp show', 'read'],
  link: ['link', 'read'], 'link add': ['link add', 'write'], 'link afstats': ['link afstats', 'read'],
  'link delete': ['link delete', 'write'], 'link help': ['link help', 'read'],
  'link property add': ['link property add', 'write'], 'link property del': ['link property del', 'write'],
  'link set': ['link set', 'write'], 'link show': ['link show', 'read'], 'link xstats': ['link xstats', 'read'],
  macsec: ['macsec', 'read'], 'macsec add': ['macsec add', 'write'], 'macsec del': ['macsec delete', 'write'],
  'macsec offload': ['macsec offload', 'write'], 'macsec set': ['macsec set', 'write'], 'macsec show': ['macsec show', 'read'],
  maddr: ['maddress', 'read'], 'maddr add': ['maddress add', 'write'], 'maddr del': ['maddress delete', 'write'],
  'maddr show': ['maddress show', 'read'], maddress: ['maddress', 'read'],
  monitor: ['monitor', 'read'],
  mptcp: ['mptcp', 'read'], 'mptcp endpoint add': ['mptcp endpoint add', 'write'],
  'mptcp endpoint change': ['mptcp endpoint change', 'write'], 'mptcp endpoint delete': ['mptcp endpoint delete', 'write'],
  'mptcp endpoint flush': ['mptcp endpoint flush', 'write'], 'mptcp endpoint show': ['mptcp endpoint show', 'read'],
  'mptcp limits set': ['mptcp limits set', 'write'], 'mptcp limits show': ['mptcp limits show', 'read'],
  'mptcp monitor': ['mptcp monitor', 'read'],
  mroute: ['mroute', 'read'], 'mroute show': ['mroute show', 'read'], mrule: ['mrule', 'read'],
  'neigh add': ['neighbor add', 'write'], 'neigh change': ['neighbor change', 'write'], 'neigh del': ['neighbor delete', 'write'],
  'neigh flush': ['neighbor flush', 'write'], 'neigh get': ['neighbor get', 'read'], 'neigh replace': ['neighbor replace', 'write'],
  'neigh show': ['neighbor show', 'read'], neighbor: ['neighbor', 'read'], neighbour: ['neighbour', 'read'],
  netconf: ['netconf', 'read'], 'netconf show': ['netconf show', 'read'],
  netns: ['netns', 'read'], 'netns add': ['netns add', 'refused'], 'netns attach': ['netns attach', 'refused'],
  'netns delete': ['netns delete', 'refused'], 'netns exec': ['netns exec', 'refused'],
  'netns identify': ['netns identify', 'read'], 'netns list': ['netns list', 'read'], 'netns list-id': ['netns list-id', 'read'],
  'netns monitor': ['netns monitor', 'refused'], 'netns pids': ['netns pids', 'read'], 'netns set': ['netns set', 'refused'],
  nexthop: ['nexthop', 'read'], 'nexthop add': ['nexthop add', 'write'], 'nexthop bucket get': ['nexthop bucket get', 'read'],
  'nexthop bucket list': ['nexthop bucket list', 'read'], 'nexthop del': ['nexthop delete', 'write'],
  'nexthop flush': ['nexthop flush', 'write'], 'nexthop get': ['nexthop get', 'read'], 'nexthop list': ['nexthop list', 'read'],
  'nexthop replace': ['nexthop replace', 'write'],
  ntable: ['ntable', 'read'], 'ntable change': ['ntable change', 'write'], 'ntable show': ['ntable show', 'read'], ntbl: ['ntbl', 'read'],
  route: ['route', 'read'], 'route add': ['route add', 'write'], 'route append': ['route append', 'write'],
  'route change': ['route change', 'write'], 'route del': ['route delete', 'write'], 'route flush': ['route flush', 'write'],
  'route get': ['route get', 'read'], 'route list': ['route list', 'read'], 'route replace': ['route replace', 'write'],
  'route restore': ['route restore', 'write'], 'route save': ['route save', 'read'], 'route showdump': ['route showdump', 'read'],
  rule: ['rule', 'read'], 'rule add': ['rule add', 'write'], 'rule del': ['rule delete', 'write'], 'rule flush': ['rule flush', 'write'],
  'rule list': ['rule list', 'read'], 'rule restore': ['rule restore', 'write'], 'rule save': ['rule save', 'read'],
  sr: ['sr', 'read'], 'sr hmac set': ['sr hmac set', 'write'], 'sr hmac show': ['sr hmac show', 'read'],
  'sr tunsrc set': ['sr tunsrc set', 'write'], 'sr tunsrc show': ['sr tunsrc show', 'read'],
  'stats help': ['stats help', 'read'], 'stats set': ['stats set', 'write'], 'stats show': ['stats show', 'read'],
  tap: ['tap', 'read'],
  tcp_metrics: ['tcp_metrics', 'read'], 'tcp_metrics delete': ['tcp_metrics delete', 'write'],
  'tcp_metrics flush': ['tcp_metrics flush', 'write'], 'tcp_metrics show': ['tcp_metrics show', 'read'],
  tcpmetrics: ['tcpmetrics', 'read'],
  token: ['token', 'read'], 'token del': ['token delete', 'write'], 'token get': ['token get', 'read'],
  'token list': ['token list', 'read'], 'token set': ['token set', 'write'],
  tunnel: ['tunnel', 'read'], 'tunnel 6rd': ['tunnel 6rd', 'write'], 'tunnel add': ['tunnel add', 'write'],
  'tunnel change': ['tunnel change', 'write'], 'tunnel del': ['tunnel delete', 'write'], 'tunnel prl': ['tunnel prl', 'write'],
  'tunnel show': ['tunnel show', 'read'],
  tuntap: ['tuntap', 'read'], 'tuntap add': ['tuntap add', 'write'], 'tuntap del': ['tuntap delete', 'write'],
  'tuntap help': ['tuntap help', 'read'], 'tuntap list': ['tuntap list', 'read'], 'tuntap lst': ['tuntap lst', 'read'],
  'tuntap show': ['tuntap show', 'read'],
  vrf: ['vrf', 'read'], 'vrf exec': ['vrf exec', 'refused'], 'vrf identify': ['vrf identify', 'read'],
  'vrf pids': ['vrf pids', 'read'], 'vrf show': ['vrf show', 'read'],
  xfrm: ['xfrm', 'read'], 'xfrm monitor': ['xfrm monitor', 'read'], 'xfrm policy': ['xfrm policy', 'read'],
  'xfrm policy add': ['xfrm policy add', 'write'], 'xfrm policy count': ['xfrm policy count', 'read'],
  'xfrm policy delete': ['xfrm policy delete', 'write'], 'xfrm policy deleteall': ['xfrm policy deleteall', 'write'],
  'xfrm policy flush': ['xfrm policy flush', 'write'], 'xfrm policy get': ['xfrm policy get', 'read'],
  'xfrm policy getdefault': ['xfrm policy getdefault', 'read'], 'xfrm policy list': ['xfrm policy list', 'read'],
  'xfrm policy set': ['xfrm policy set', 'write'], 'xfrm policy setdefault': ['xfrm policy setdefault', 'write'],
  'xfrm policy update': ['xfrm policy update', 'write'],
  'xfrm state': ['xfrm state', 'read'], 'xfrm state add': ['xfrm state add', 'write'],
  'xfrm state allocspi': ['xfrm state allocspi', 'write'], 'xfrm state count': ['xfrm state count', 'read'],
  'xfrm state delete': ['xfrm state delete', 'write'], 'xfrm state deleteall': ['xfrm state deleteall', 'write'],
  'xfrm state flush': ['xfrm state flush', 'write'], 'xfrm state get': ['xfrm state get', 'read'],
  'xfrm state list': ['xfrm state list', 'read'], 'xfrm state update': ['xfrm state update', 'write'],
};

function ipDocumentedCommands(): Set<string> {
  const out = new Set<string>(documentedList(IP_TOP_HELP, 'OBJECT'));
  for (const [title, body] of IP_HELP) {
    if (title !== 'ip help' && title.startsWith('ip ')) for (const c of documentedCommands('ip', body)) out.add(c);
  }
  for (const sub of documentedList(IP_HELP.get('ip xfrm help')!, 'XFRM-OBJECT')) out.add(`xfrm ${sub}`);
  return out;
}

/** A value for options that take one, so the whole line is valid. */
const IP_OPTION_VALUES: Record<string, string> = { '-family': 'inet', '-loops': '1', '-rcvbuf': '65536', '-batch': 'cmds', '-netns': 'other' };

describe('ip: every documented option, object and command is classified', () => {
  test('the captured data is ip 6.1', () => {
    expect(toolOptionsText('ip.help.txt')).toContain('iproute2-6.1.0');
  });

  test('global options', () => {
    const documented = new Set([...documentedOptions(IP_TOP_HELP), ...documentedOptions(toolOptionsText('ip.man-options.txt'))]);
    expect(documented.size).toBeGreaterThan(40);
    const got = new Map([...documented].map((o): [string, [string, Kind]] => [o, optionKind(IP_GLOBALS, o)]));
    expectClassified(got, IP_OPTIONS);
    for (const [o, [full, kind]] of got) {
      const args = [o, IP_OPTION_VALUES[full], 'link', 'show'].filter((w) => w !== undefined).join(' ');
      expect([args, allowed('ip', args), allowed('ip', args, MUTATING)]).toEqual([args, ...ALLOWED_BY_KIND[kind]]);
    }
  });

  test('objects and commands', () => {
    const got = commandKinds(IP_COMMANDS, ipDocumentedCommands());
    expect(got.size).toBeGreaterThan(150);
    expectClassified(got, IP_DOCUMENTED_COMMANDS);
    for (const [words, [, kind]] of got) {
      expect([words, allowed('ip', words), allowed('ip', words, MUTATING)]).toEqual([words, ...ALLOWED_BY_KIND[kind]]);
    }
  });

  test('ip monitor: every documented object is read-only, FILE reads a file', () => {
    const section = IP_HELP.get('ip monitor help')!;
    const objects = documentedList(section, 'OBJECTS');
    expect(objects).toContain('route');
    for (const o of [...objects, 'all', 'label', 'all-nsid', 'dev lo']) expect([o, allowed('ip', `monitor ${o}`)]).toEqual([o, true]);
    const [fileWord] = documentedList(section, 'FILE');
    expect(fileWord).toBe('file');
    for (const abbrev of ['file', 'fil', 'fi', 'f']) {
      expect(errorOf('ip', `monitor ${abbrev} dump`, MUTATING)).toContain('reads a file');
      expect(errorOf('ip', `mo all ${abbrev} dump`, MUTATING)).toContain('reads a file');
      expect(errorOf('ip', `xfrm monitor ${abbrev} dump`, MUTATING)).toContain('reads a file');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// tc

const TC_HELP = sections(toolOptionsText('tc.help.txt'));
const TC_TOP_HELP = TC_HELP.get('tc help')!;
const TC_MAN = sections(toolOptionsText('tc.man-options.txt')).get('tc.8 command and option heads')!;

const TC_OPTIONS: Record<string, [string, Kind]> = {
  '-N': ['-Numeric', 'read'], '-Numeric': ['-Numeric', 'read'], '-V': ['-Version', 'read'], '-Version': ['-Version', 'read'],
  '-b': ['-batch', 'refused'], '-batch': ['-batch', 'refused'], '-br': ['-brief', 'read'], '-brief': ['-brief', 'read'],
  // `tc help` documents -c[olor], but tc tries -cf before -color: -c names a class names file
  '-c': ['-cf', 'refused'], '-cf': ['-cf', 'refused'], '-color': ['-color', 'read'], '-conf': ['-conf', 'refused'],
  '-d': ['-details', 'read'], '-details': ['-details', 'read'], '-force': ['-force', 'refused'], '-g': ['-graph', 'read'],
  '-graph': ['-graph', 'read'], '-iec': ['-iec', 'read'], '-j': ['-json', 'read'], '-json': ['-json', 'read'],
  '-n': ['-netns', 'refused'], '-nam': ['-names', 'read'], '-name': ['-names', 'read'], '-names': ['-names', 'read'],
  '-net': ['-netns', 'refused'], '-netns': ['-netns', 'refused'], '-nm': ['-nm', 'read'], '-o': ['-oneline', 'read'],
  '-oneline': ['-oneline', 'read'], '-p': ['-pretty', 'read'], '-pretty': ['-pretty', 'read'], '-r': ['-raw', 'read'],
  '-raw': ['-raw', 'read'], '-s': ['-stats', 'read'], '-statistics': ['-statistics', 'read'], '-stats': ['-stats', 'read'],
  '-t': ['-timestamp', 'read'], '-timestamp': ['-timestamp', 'read'], '-ts': ['-tshort', 'read'], '-tshort': ['-tshort', 'read'],
};

/** tc's objects and commands as documented (help output, and the man page's commands for every object). */
const TC_DOCUMENTED_COMMANDS: Record<string, [string, Kind]> = {
  action: ['actions', 'read'], actions: ['actions', 'read'], 'actions add': ['actions add', 'write'],
  'actions change': ['actions change', 'write'], 'actions delete': ['actions delete', 'write'],
  'actions get': ['actions get', 'read'], 'actions replace': ['actions replace', 'write'], 'actions show': ['actions show', 'read'],
  'actions link': ['actions', 'unknown'], 'actions file': ['actions', 'unknown'], 'actions ls': ['actions lst', 'read'],
  'actions list': ['actions list', 'read'], 'actions flush': ['actions flush', 'write'],
  chain: ['chain', 'read'], 'chain add': ['chain add', 'write'], 'chain del': ['chain delete', 'write'],
  'chain delete': ['chain delete', 'write'], 'chain get': ['chain get', 'read'], 'chain show': ['chain show', 'read'],
  'chain change': ['chain', 'unknown'], 'chain replace': ['chain', 'unknown'], 'chain link': ['chain', 'unknown'], 'chain file': ['chain', 'unknown'],
  class: ['class', 'read'], 'class add': ['class add', 'write'], 'class change': ['class change', 'write'],
  'class del': ['class delete', 'write'], 'class delete': ['class delete', 'write'], 'class replace': ['class replace', 'write'],
  'class show': ['class show', 'read'], 'class get': ['class', 'unknown'], 'class link': ['class', 'unknown'], 'class file': ['class', 'unknown'],
  exec: ['exec', 'refused'],
  filter: ['filter', 'read'], 'filter add': ['filter add', 'write'], 'filter change': ['filter change', 'write'],
  'filter del': ['filter delete', 'write'], 'filter delete': ['filter delete', 'write'], 'filter get': ['filter get', 'read'],
  'filter replace': ['filter replace', 'write'], 'filter show': ['filter show', 'read'], 'filter link': ['filter', 'unknown'],
  'filter file': ['filter', 'unknown'],
  monitor: ['monitor', 'read'],
  qdisc: ['qdisc', 'read'], 'qdisc add': ['qdisc add', 'write'], 'qdisc change': ['qdisc change', 'write'],
  'qdisc del': ['qdisc delete', 'write'], 'qdisc delete': ['qdisc delete', 'write'], 'qdisc list': ['qdisc list', 'read'],
  'qdisc replace': ['qdisc replace', 'write'], 'qdisc show': ['qdisc show', 'read'], 'qdisc link': ['qdisc link', 'write'],
  'qdisc get': ['qdisc', 'unknown'], 'qdisc file': ['qdisc', 'unknown'],
};

function tcDocumentedCommands(): Set<string> {
  const objects = documentedList(TC_TOP_HELP, 'OBJECT');
  const out = new Set<string>(objects);
  for (const [title, body] of TC_HELP) {
    if (title !== 'tc help' && title.startsWith('tc ')) for (const c of documentedCommands('tc', body)) out.add(c);
  }
  // `tc actions help` documents its commands as grammar: "ACR := add | change | replace <ACTSPEC>*"
  for (const m of TC_HELP.get('tc actions help')!.matchAll(/^\s*(?:ACR|GD|FL) :=(.*)$/gm)) {
    for (const w of m[1]!.split(/[\s|]+/)) if (/^[a-z]+$/.test(w)) out.add(`actions ${w}`);
  }
  // tc.8 "TC COMMANDS": the command words (and monitor's `file`), valid for some objects only
  const manWords = TC_MAN.split('\n').map((l) => l.replace(/\\f[BRI]/g, '').trim()).filter((l) => /^[a-z]+$/.test(l));
  expect(manWords).toEqual(expect.arrayContaining(['add', 'delete', 'change', 'replace', 'get', 'show', 'link', 'file']));
  for (const o of ['qdisc', 'class', 'filter', 'chain', 'actions', 'monitor']) for (const w of manWords) out.add(`${o} ${w}`);
  return out;
}

describe('tc: every documented option, object and command is classified', () => {
  test('the captured data is tc 6.1', () => {
    expect(toolOptionsText('tc.help.txt')).toContain('iproute2-6.1.0');
  });

  test('global options', () => {
    const documented = new Set([...documentedOptions(TC_TOP_HELP), ...documentedOptions(TC_MAN)]);
    expect(documented.size).toBeGreaterThan(30);
    const got = new Map([...documented].map((o): [string, [string, Kind]] => [o, optionKind(TC_GLOBALS, o)]));
    expectClassified(got, TC_OPTIONS);
    const values: Record<string, string> = { '-batch': 'cmds', '-netns': 'other', '-cf': 'names', '-conf': 'names' };
    for (const [o, [full, kind]] of got) {
      const args = [o, values[full], 'qdisc', 'show'].filter((w) => w !== undefined).join(' ');
      expect([args, allowed('tc', args), allowed('tc', args, MUTATING)]).toEqual([args, ...ALLOWED_BY_KIND[kind]]);
    }
  });

  test('objects and commands', () => {
    const got = commandKinds(TC_COMMANDS, tcDocumentedCommands());
    expectClassified(got, TC_DOCUMENTED_COMMANDS);
    for (const [words, [, kind]] of got) {
      expect([words, allowed('tc', words), allowed('tc', words, MUTATING)]).toEqual([words, ...ALLOWED_BY_KIND[kind]]);
    }
    for (const abbrev of ['file', 'fil', 'fi', 'f']) expect(errorOf('tc', `monitor ${abbrev} dump`, MUTATING)).toContain('reads a file');
  });
});

// ---------------------------------------------------------------------------------------------
// Abbreviations as the tools read them (each checked against the installed tools, see
// tool-policy-iproute-real.test.ts), and the holes of the security review.

describe('abbreviations are read in the tool\'s own order', () => {
  const cases: Array<[tool: string, args: string, meaning: string, kind: Kind]> = [
    // tc do_qdisc tries add, change, replace, link, delete, list: l, li, lin are link (a replace)
    ['tc', 'qdisc l dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms', 'qdisc link', 'write'],
    ['tc', 'qdisc li dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms', 'qdisc link', 'write'],
    ['tc', 'qdisc lin dev eth0 root fq', 'qdisc link', 'write'],
    ['tc', 'q l dev eth0 root fq', 'qdisc link', 'write'],
    ['tc', 'qd l dev eth0 root fq', 'qdisc link', 'write'],
    ['tc', 'qdisc lis dev eth0', 'qdisc list', 'read'],
    ['tc', 'qdisc ls dev eth0', 'qdisc lst', 'read'],
    ['tc', 'q s dev eth0', 'qdisc show', 'read'],
    ['tc', 'c l dev eth0', 'class list', 'read'],
    ['tc', 'ch', 'chain', 'read'],
    ['tc', 'f g dev eth0 parent 1: protocol ip handle 1 pref 1 u32', 'filter get', 'read'],
    ['tc', 'a l action gact', 'actions list', 'read'],
    ['tc', 'a g action gact index 1', 'actions get', 'read'],
    ['tc', 'a a action gact drop', 'actions add', 'write'],
    ['tc', 'a f action gact', 'actions flush', 'write'],
    ['tc', 'e bpf import /tmp/x', 'exec', 'refused'],
    // ip: objects in cmds[] order, then each object's own commands
    ['ip', 'x s l', 'xfrm state list', 'read'],
    ['ip', 'x s', 'xfrm state', 'read'],
    ['ip', 'x sa l', 'xfrm sa list', 'read'],
    ['ip', 'x s c', 'xfrm state count', 'read'],
    ['ip', 'x s d src 10.0.0.1 dst 10.0.0.2 proto esp spi 1', 'xfrm state delete', 'write'],
    ['ip', 'x s a src 10.0.0.1 dst 10.0.0.2 proto esp spi 1', 'xfrm state add', 'write'],
    ['ip', 'x s f', 'xfrm state flush', 'write'],
    ['ip', 'x p l', 'xfrm policy list', 'read'],
    ['ip', 'x p s', 'xfrm policy show', 'read'],
    ['ip', 'x p se spdhash 4 4', 'xfrm policy set', 'write'],
    ['ip', 'x p getd', 'xfrm policy getdefault', 'read'],
    ['ip', 'x m', 'xfrm monitor', 'read'],
    ['ip', 'l s eth0 down', 'link set', 'write'],
    ['ip', 'l sh', 'link show', 'read'],
    ['ip', 'l l', 'link lst', 'read'],
    ['ip', 'l', 'link', 'read'],
    ['ip', 'l p add dev eth0 altname x', 'link property add', 'write'],
    ['ip', 'a s', 'address show', 'read'],
    ['ip', 'a sa', 'address save', 'read'],
    ['ip', 'a r 10.0.0.1/24 dev eth0', 'address replace', 'write'],
    ['ip', 'a res', 'address restore', 'write'],
    ['ip', 'a chg 10.0.0.1/24 dev eth0', 'address chg', 'write'],
    ['ip', 'r', 'route', 'read'],
    ['ip', 'r g 10.0.0.1', 'route get', 'read'],
    ['ip', 'r t 10.0.0.0/8 dev eth0', 'route test', 'write'],
    ['ip', 'r s', 'route show', 'read'],
    ['ip', 'ru', 'rule', 'read'],
    ['ip', 'n', 'neighbor', 'read'],
    ['ip', 'ne s', 'neighbor show', 'read'],
    ['ip', 'n f all', 'neighbor flush', 'write'],
    ['ip', 'nt', 'ntable', 'read'],
    ['ip', 'net', 'netns', 'read'],
    ['ip', 'netns s', 'netns show', 'read'],
    ['ip', 'netns se x 1', 'netns set', 'refused'],
    ['ip', 'netns e x sh', 'netns exec', 'refused'],
    ['ip', 'net a x', 'netns add', 'refused'],
    ['ip', 'netns at x 1', 'netns attach', 'refused'],
    ['ip', 'netns d x', 'netns delete', 'refused'],
    ['ip', 'netns i', 'netns identify', 'read'],
    ['ip', 'netc', 'netconf', 'read'],
    ['ip', 'v e red sh', 'vrf exec', 'refused'],
    ['ip', 'm', 'maddress', 'read'],
    ['ip', 'mo', 'monitor', 'read'],
    ['ip', 'mr', 'mroute', 'read'],
    ['ip', 'mru', 'mrule', 'read'],
    ['ip', 'mac', 'macsec', 'read'],
    ['ip', 'mp l m', 'mptcp limits monitor', 'read'],
    ['ip', 'mp e', 'mptcp endpoint', 'read'],
    ['ip', 't', 'tunnel', 'read'],
    ['ip', 'tunt', 'tuntap', 'read'],
    ['ip', 'ta', 'tap', 'read'],
    ['ip', 'to', 'token', 'read'],
    ['ip', 'tc', 'tcpmetrics', 'read'],
    ['ip', 's', 'sr', 'read'],
    ['ip', 's h s', 'sr help', 'read'],
    ['ip', 's hm s', 'sr hmac show', 'read'],
    ['ip', 's hm se 1 sha1', 'sr hmac set', 'write'],
    ['ip', 'st', 'stats', 'read'],
    ['ip', 'i', 'ila', 'read'],
    ['ip', 'io namespace show', 'ioam namespace show', 'read'],
    ['ip', 'h', 'help', 'read'],
    ['ip', 'moo', 'moo', 'read'],
    ['ip', 'nex b', 'nexthop bucket', 'read'],
    // ioam and stats compare whole words
    ['ip', 'io names show', '', 'unknown'],
    ['ip', 'stats sh', '', 'unknown'],
    ['ip', 'amt', '', 'unknown'],
    ['ip', 'ne e', '', 'unknown'],
    ['ip', '""', '', 'unknown'],
  ];
  test.each(cases)('%s %s is %s (%s)', (tool, args, meaning, kind) => {
    const top = tool === 'ip' ? IP_COMMANDS : TC_COMMANDS;
    const g = tool === 'ip' ? IP_GLOBALS : TC_GLOBALS;
    const words = args === '""' ? [''] : args.split(' ');
    const r = resolveCommand(top, words.slice(words.findIndex((w) => findGlobal(g, w) === undefined)));
    if (kind === 'unknown') expect(r.effect).toBeUndefined();
    else expect([r.path.join(' '), r.effect?.kind]).toEqual([meaning, kind]);
    expect([allowed(tool, args), allowed(tool, args, MUTATING)]).toEqual(ALLOWED_BY_KIND[kind]);
  });

  test('options are read in the tool\'s order, "--name" as "-name" by ip only', () => {
    expect(allowed('ip', '-c link')).toBe(true);
    expect(allowed('ip', '-c=never link')).toBe(true);
    expect(allowed('ip', '-color=always -br link')).toBe(true);
    expect(allowed('ip', '--json --br a')).toBe(true);
    expect(allowed('ip', '-- link')).toBe(true);
    expect(allowed('ip', '- 5 link')).toBe(true); // "-" is a prefix of -loops, which takes a value
    expect(errorOf('ip', '-e link')).toContain('not an option ip knows');
    expect(errorOf('ip', '-color=blue link')).toContain('not an option ip knows');
    expect(errorOf('ip', '-json=1 link')).toContain('not an option ip knows');
    expect(errorOf('ip', '---json link')).toContain('not an option ip knows');
    expect(errorOf('ip', '-n other link', MUTATING)).toContain('joins another network namespace');
    expect(errorOf('ip', '--netns other link', MUTATING)).toContain('joins another network namespace');
    expect(errorOf('ip', '-ne other link', MUTATING)).toContain('joins another network namespace');
    expect(errorOf('ip', '-b cmds', MUTATING)).toContain('reads commands from a file');
    expect(errorOf('ip', '--ba cmds', MUTATING)).toContain('reads commands from a file');
    expect(errorOf('ip', '-fo link', MUTATING)).toContain('-batch');
    expect(allowed('ip', '-f inet6 route')).toBe(true);
    expect(allowed('tc', '-col qdisc')).toBe(true);
    expect(allowed('tc', '-nm qdisc')).toBe(true);
    expect(errorOf('tc', '-c names -nm qdisc', MUTATING)).toContain('class names file');
    expect(errorOf('tc', '-co names -nm qdisc', MUTATING)).toContain('class names file');
    expect(errorOf('tc', '-f qdisc', MUTATING)).toContain('-batch');
    expect(errorOf('tc', '-- qdisc')).toContain('not an option tc knows');
    expect(errorOf('tc', '--json qdisc')).toContain('not an option tc knows');
    expect(errorOf('tc', '-OK qdisc')).toContain('not an option tc knows');
  });
});

describe('holes of the security review stay closed', () => {
  test('tc qdisc l … is link, which replaced a live rate limit', () => {
    const msg = errorOf('tc', 'qdisc l dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms');
    expect(msg).toContain('tc reads it as "qdisc link"');
    expect(msg).toContain('SNOOPY_ALLOW_MUTATING_TOOLS');
    expect(allowed('tc', 'qdisc l dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms', MUTATING)).toBe(true);
  });

  test('ip x s l is xfrm state list, a read', () => {
    expect(allowed('ip', 'x s l')).toBe(true);
    expect(allowed('ip', '-s x s l')).toBe(true);
  });

  test('file, program and BPF words are refused even with writes allowed', () => {
    for (const [tool, args, why] of [
      ['ip', 'link set dev eth0 xdp obj prog.o', 'BPF'],
      ['ip', 'l s dev eth0 xdpgeneric object prog.o sec x', 'BPF'],
      ['ip', 'link set dev eth0 xdpdrv pinned p', 'BPF'],
      ['ip', 'link set dev eth0 xdpoffload fd 3', 'BPF'],
      ['ip', 'route add 10.0.0.0/8 encap bpf in obj prog.o dev eth0', 'BPF'],
      ['ip', 'link set dev eth0 xdp pinned /sys/fs/bpf/p', 'BPF'],
      ['ip', 'link add x0 type ../../tmp/evil', 'file path'],
      ['ip', 'link set eth0 netns /proc/1/ns/net', 'another network namespace'],
      ['ip', 'link set eth0 netns 1', 'another network namespace'],
      ['ip', 'link add v0 type veth peer name v1 netns 1', 'another network namespace'],
      ['ip', 'link add t0 type vxlan id 1 link-netns other', 'another network namespace'],
      ['ip', 'link add t0 type vxlan id 1 link-netnsi 3', 'another network namespace'],
      ['ip', 'link add t0 type vxlan id 1 link- other', 'another network namespace'],
      ['ip', 'link set eth0 netns other', 'another network namespace'],
      ['ip', 'netns exec other sh', 'runs a command'],
      ['ip', '-all netns exec sh', 'runs a command'],
      ['ip', 'vrf exec red sh', 'runs a command'],
      ['ip', 'netns add other', 'network namespaces'],
      ['ip', '-all netns del', 'network namespaces'],
      ['ip', '-force -batch cmds', '-batch'],
      ['ip', '-batch -', 'reads commands'],
      ['ip', 'monitor file dump', 'reads a file'],
      ['ip', 'monitor dev eth0 f dump', 'reads a file'],
      ['ip', 'x mo fi dump', 'reads a file'],
      ['tc', 'filter add dev eth0 ingress bpf da obj prog.o', 'BPF'],
      ['tc', 'filter add dev eth0 ingress bpf bytecode-file /x', 'BPF'],
      ['tc', 'actions add action bpf obj prog.o', 'BPF'],
      ['tc', 'exec bpf import sock', 'runs a program'],
      ['tc', 'ex bpf graft m key 0 obj x.o', 'runs a program'],
      ['tc', 'qdisc add dev eth0 root netem delay 10ms distribution ../../tmp/x', 'file path'],
      ['tc', '-batch cmds', 'reads commands'],
      ['tc', '-cf names -nm qdisc', 'class names file'],
      ['tc', 'monitor fil dump', 'reads a file'],
    ] as const) {
      expect([tool, args, errorOf(tool, args, MUTATING)]).toEqual([tool, args, expect.stringContaining(why)]);
    }
  });

  test('tc actions get followed by a writing command is a write', () => {
    expect(allowed('tc', 'actions get action gact index 1')).toBe(true);
    expect(errorOf('tc', 'actions get action gact index 1 delete action gact index 1')).toContain('"delete"');
    expect(errorOf('tc', 'actions get action gact index 1 f action gact')).toContain('"f"');
    expect(allowed('tc', 'actions get action gact index 1 delete action gact index 1', MUTATING)).toBe(true);
  });

  test('object and command words are names, not arguments', () => {
    expect(allowed('ip', 'netns list')).toBe(true);
    expect(allowed('ip', 'link add link eth0 name eth0.10 type vlan id 10', MUTATING)).toBe(true);
    expect(allowed('ip', 'l a l eth0 name eth0.10 type vlan id 10', MUTATING)).toBe(true);
  });

  test('ip monitor dev NAME: NAME is a device even when it looks like "file"', () => {
    expect(allowed('ip', 'monitor dev f')).toBe(true);
    expect(allowed('ip', 'monitor link dev file')).toBe(true);
  });
});
