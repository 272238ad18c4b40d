// Argument lists for the tools that do not parse with getopt: ip and tc (objects and commands
// matched by any prefix, iproute2-style single-dash options), dig (+options, @server), nslookup
// (-option=value) and ethtool (one action option, then the device and its keywords).
import type { Rng } from './prng.js';
import { abbreviate, arrange, pickValue, someOf } from './getopt-gen.js';
import { DECOY_NS, IFACES, TMP_FILES as F } from './values.js';

/** An iproute2 word written as an attacker would: whole, or any prefix of it (ambiguous ones included). */
function iprouteWord(rng: Rng, w: string): string {
  if (rng.chance(0.5)) return w;
  return w.slice(0, rng.int(1, w.length));
}

const IP_OBJECTS = [
  'address', 'addrlabel', 'maddress', 'route', 'rule', 'neighbour', 'neighbor', 'ntable', 'link', 'l2tp', 'fou', 'ila',
  'macsec', 'tunnel', 'tuntap', 'token', 'tcpmetrics', 'monitor', 'xfrm', 'mroute', 'mrule', 'netns', 'netconf', 'vrf',
  'sr', 'nexthop', 'mptcp', 'ioam', 'stats', 'help',
];
const VERBS = [
  'show', 'list', 'lst', 'ls', 'get', 'add', 'del', 'delete', 'set', 'change', 'replace', 'flush', 'append', 'prepend',
  'save', 'restore', 'exec', 'help', 'monitor', 'identify', 'pids', 'attach', 'test', 'update', 'deleteall', 'count',
  'create', 'link', 'showdump', 'state', 'policy', 'endpoint', 'limits',
];
const IP_ARGS: Record<string, readonly (readonly string[])[]> = {
  link: [
    ['dev', 'sd0'], ['dev', 'lo'], ['name', 'snpx0'], ['type', 'veth', 'peer', 'name', 'snpx1'], ['up'], ['down'],
    ['mtu', '1400'], ['address', '02:00:00:00:00:01'], ['netns', DECOY_NS], ['xdp', 'obj', F.input], ['xdpgeneric', 'off'],
    ['group', '0'], ['alias', 'x'], ['type', 'dummy'], ['master', 'sd1'], ['nomaster'], ['txqueuelen', '10'],
    ['promisc', 'on'], ['type', 'bridge'], ['file', F.input], ['xdp', 'pinned', F.input], ['xdp', 'object', F.input, 'section', 'x'],
    ['type', 'snpdiff'], ['type', 'vxlan', 'id', '1'],
  ],
  address: [['dev', 'sd0'], ['10.253.7.9/24'], ['10.253.7.9'], ['local', '10.253.7.9'], ['label', 'sd0:1'], ['scope', 'host'], ['to', '10.253.7.0/24'], ['primary'], ['file', F.input]],
  route: [['10.253.8.0/24', 'via', '10.253.7.2'], ['default', 'via', '10.253.7.2'], ['table', 'main'], ['table', 'all'], ['dev', 'sd0'], ['127.0.0.1'], ['to', '10.253.7.0/24'], ['proto', 'kernel'], ['cache'], ['file', F.input]],
  rule: [['from', 'all'], ['lookup', 'main'], ['pref', '100'], ['to', '10.253.7.0/24'], ['table', '10']],
  neighbour: [['10.253.7.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'sd0'], ['dev', 'sd0'], ['nud', 'permanent'], ['proxy', '10.253.7.3']],
  netns: [[DECOY_NS], ['exec', DECOY_NS, F.program], [DECOY_NS, '0']],
  monitor: [['all'], ['link'], ['address'], ['route'], ['file', F.input], ['fi', F.input], ['label'], ['dev', 'sd0']],
  xfrm: [['state'], ['policy'], ['monitor'], ['state', 'flush'], ['policy', 'list']],
  tunnel: [['mode', 'ipip'], ['remote', '10.253.7.2'], ['local', '10.253.7.1'], ['name', 'snpt0']],
  tuntap: [['mode', 'tap'], ['name', 'snpt1'], ['mode', 'tun']],
  vrf: [['exec', 'snpv', F.program], ['show']],
  mptcp: [['endpoint'], ['limits'], ['monitor']],
  nexthop: [['id', '1', 'dev', 'sd0'], ['id', '1', 'via', '10.253.7.2', 'dev', 'sd0']],
};
const IP_GLOBALS: readonly (readonly string[])[] = [
  ['-s'], ['-stats'], ['-d'], ['-details'], ['-j'], ['-json'], ['-p'], ['-pretty'], ['-4'], ['-6'], ['-0'], ['-o'], ['-r'],
  ['-t'], ['-ts'], ['-br'], ['-brief'], ['-c'], ['-color'], ['-h'], ['-human'], ['-iec'], ['-N'], ['-Numeric'], ['-V'],
  ['-l', '1'], ['-loops', '1'], ['-f', 'inet'], ['-family', 'link'], ['-rc', '1024'], ['-b', F.input], ['-batch', F.input],
  ['-force'], ['-n', DECOY_NS], ['-netns', DECOY_NS], ['-e'], ['-echo'], ['--json'], ['--stats'], ['-M'], ['-B'],
];

export function genIp(rng: Rng): string[] {
  const globals = someOf(rng, IP_GLOBALS, 0, 2).map((g) => [iprouteOption(rng, g[0]!), ...g.slice(1)]);
  const obj = rng.pick(IP_OBJECTS);
  const words: string[][] = [];
  if (rng.chance(0.95)) words.push([iprouteWord(rng, obj)]);
  if (rng.chance(0.85)) words.push([iprouteWord(rng, rng.pick(VERBS))]);
  const pool = IP_ARGS[obj] ?? [['dev', 'sd0'], ['help']];
  for (const a of someOf(rng, pool, 0, 3)) words.push(a.map((w, i) => (i === 0 && /^[a-z]+$/.test(w) ? iprouteWord(rng, w) : w)));
  return [...globals.flat(), ...words.flat()];
}

/** iproute2 options: "-s", any prefix of "-stats", sometimes with a second dash. */
function iprouteOption(rng: Rng, opt: string): string {
  const name = opt.slice(1);
  const typed = rng.chance(0.4) ? name.slice(0, rng.int(1, name.length)) : name;
  return (rng.chance(0.1) ? '--' : '-') + typed;
}

const TC_OBJECTS = ['qdisc', 'class', 'filter', 'action', 'actions', 'monitor', 'exec', 'chain', 'help'];
const TC_VERBS = ['add', 'del', 'delete', 'change', 'replace', 'link', 'show', 'list', 'ls', 'get', 'help', 'flush', 'lst'];
const TC_ARGS: readonly (readonly string[])[] = [
  ['dev', 'sd0'], ['dev', 'lo'], ['root'], ['parent', '1:'], ['handle', '1:'], ['ingress'], ['clsact'],
  ['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms'], ['netem', 'delay', '10ms'],
  ['netem', 'delay', '10ms', '2ms', 'distribution', 'normal'], ['netem', 'delay', '10ms', '2ms', 'distribution', F.input],
  ['htb', 'default', '10'], ['pfifo', 'limit', '10'], ['bpf', 'obj', F.input], ['bpf', 'object-file', F.input],
  ['bpf', 'object-pinned', F.input], ['bpf', 'bytecode-file', F.input], ['protocol', 'ip'],
  ['u32', 'match', 'ip', 'dst', '127.0.0.1/32', 'action', 'drop'], ['matchall', 'action', 'drop'], ['flower'],
  ['estimator', '1s', '8s'], ['file', F.input], ['fi', F.input], ['graft', F.input], ['import', F.input], ['snpdiff'],
  ['ematch', 'x'], ['action', 'xt', '-j', 'LOG'], ['act', 'ipt', '-j', 'LOG'],
];
const TC_GLOBALS: readonly (readonly string[])[] = [
  ['-s'], ['-stats'], ['-d'], ['-details'], ['-r'], ['-raw'], ['-p'], ['-pretty'], ['-g'], ['-graph'], ['-V'], ['-iec'],
  ['-h'], ['-force'], ['-b', F.input], ['-batch', F.input], ['-n', DECOY_NS], ['-netns', DECOY_NS], ['-cf', F.input],
  ['-conf', F.input], ['-nm'], ['-names'], ['-j'], ['-json'], ['-c'], ['-t'], ['-ts'], ['-OK'], ['-br'],
];

export function genTc(rng: Rng): string[] {
  const globals = someOf(rng, TC_GLOBALS, 0, 2).map((g) => [iprouteOption(rng, g[0]!), ...g.slice(1)]);
  const words: string[][] = [];
  if (rng.chance(0.95)) words.push([iprouteWord(rng, rng.pick(TC_OBJECTS))]);
  if (rng.chance(0.85)) words.push([iprouteWord(rng, rng.pick(TC_VERBS))]);
  for (const a of someOf(rng, TC_ARGS, 0, 3)) words.push([...a]);
  if (rng.chance(0.15)) words.splice(0, words.length, ['qdisc'], [rng.pick(['l', 'li', 'lin', 'link'])], ['dev', 'sd0'], ['root'], ['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms']);
  return [...globals.flat(), ...words.flat()];
}

const DIG_PLUS: Record<string, string | null> = {
  aaflag: null, aaonly: null, additional: null, adflag: null, all: null, answer: null, authority: null, badcookie: null,
  besteffort: null, cdflag: null, class: null, cmd: null, comments: null, cookie: null, crypto: null, defname: null,
  dns64prefix: null, dnssec: null, domain: 'x', edns: '0', ednsflags: '0', ednsnegotiation: null, ednsopt: '3',
  expandaaaa: null, expire: null, fail: null, 'header-only': null, https: null, 'https-get': null, 'http-plain': null,
  'http-plain-get': null, identify: null, idnin: null, idnout: null, ignore: null, keepalive: null, keepopen: null,
  multiline: null, ndots: '1', nsid: null, nssearch: null, onesoa: null, opcode: '0', padding: '0', qid: '1', qr: null,
  question: null, raflag: null, rdflag: null, recurse: null, retry: '0', rrcomments: null, search: null, short: null,
  showbadcookie: null, showsearch: null, split: '4', stats: null, subnet: '127.0.0.0/8', tcflag: null, tcp: null,
  time: '1', timeout: '1', tls: null, 'tls-ca': 'path', 'tls-hostname': 'localhost', 'tls-certfile': 'path',
  'tls-keyfile': 'path', 'tls-cert': 'path', 'tls-key': 'path', trace: null, tries: '1', ttlid: null, ttlunits: null,
  unknownformat: null, vc: null, yaml: null, zflag: null, sigchase: null, 'trusted-key': 'path', topdown: null,
};
const DIG_DASH: Record<string, string | null> = {
  '4': null, '6': null, m: null, r: null, u: null, h: null, v: null, i: null, b: 'addr', c: 'IN', f: 'path', k: 'path',
  p: 'port', q: 'name', t: 'type', x: 'addr', y: 'hmac-sha256:snpdiff:c2VjcmV0',
};

export function genDig(rng: Rng): string[] {
  const names = Object.keys(DIG_PLUS);
  const groups: string[][] = [];
  for (let i = rng.int(0, 4); i > 0; i--) {
    const full = rng.pick(names);
    const typed = rng.chance(0.35) ? abbreviate(rng, full, names) : full;
    const v = DIG_PLUS[full];
    const no = rng.chance(0.2) ? 'no' : '';
    const value = v === 'path' ? pickValue(rng, 'path') : v;
    groups.push([value === null || value === undefined || rng.chance(0.1) ? `+${no}${typed}` : `+${no}${typed}=${value}`]);
  }
  for (let i = rng.int(0, 2); i > 0; i--) {
    const letter = rng.pick(Object.keys(DIG_DASH));
    const kind = DIG_DASH[letter];
    if (kind === null || kind === undefined) {
      groups.push([`-${letter}`]);
      continue;
    }
    const v =
      kind === 'path' ? pickValue(rng, 'path') : kind === 'addr' ? pickValue(rng, 'addr') : kind === 'port' ? rng.pick(['53', '853']) :
      kind === 'type' ? rng.pick(['A', 'AAAA', 'TXT', 'AXFR']) : kind === 'name' ? 'localhost' : kind;
    groups.push(rng.chance(0.4) ? [`-${letter}${v}`] : [`-${letter}`, v]);
  }
  if (rng.chance(0.25)) groups.push([rng.pick([`+tls-ca=${F.input}`, `+tls-certfile=${F.hostFile}`, `+tls-keyfile=${F.input}`, `+tls-cert=${F.input}`, `+tls-key=${F.hostKeys}`, `+tls-c=${F.input}`, '+tls', `-f${F.input}`, `-k${F.input}`])]);
  const operands: string[][] = [];
  if (rng.chance(0.85)) operands.push([`@${rng.pick(['127.0.0.1', '::1', 'localhost', '10.253.7.1'])}`]);
  operands.push([rng.pick(['localhost', 'example.com', '.', 'snpdiff.test'])]);
  if (rng.chance(0.4)) operands.push([rng.pick(['A', 'AAAA', 'MX', 'ANY', 'TXT', 'IN'])]);
  return arrange(rng, groups, operands);
}

const NSLOOKUP_OPTS: Record<string, string | null> = {
  type: 'A', querytype: 'AAAA', q: 'MX', port: '53', timeout: '1', retry: '1', debug: null, d2: null, vc: null,
  norecurse: null, recurse: null, class: 'IN', domain: 'snpdiff', ndots: '1', search: null, nosearch: null, fail: null,
  nofail: null, silent: null, version: null, all: null, nodebug: null, nod2: null, novc: null, srchlist: 'snpdiff',
};

export function genNslookup(rng: Rng): string[] {
  const names = Object.keys(NSLOOKUP_OPTS);
  const opts: string[][] = [];
  for (let i = rng.int(0, 3); i > 0; i--) {
    const full = rng.pick(names);
    const typed = rng.chance(0.35) ? abbreviate(rng, full, names) : full;
    const v = NSLOOKUP_OPTS[full];
    opts.push([v === null || v === undefined ? `-${typed}` : `-${typed}=${rng.chance(0.1) ? pickValue(rng, 'path') : v}`]);
  }
  const operands: string[][] = [];
  if (rng.chance(0.9)) operands.push([rng.pick(['localhost', 'example.com', '127.0.0.1', '-'])]);
  if (rng.chance(0.6)) operands.push([rng.pick(['127.0.0.1', '::1', 'localhost'])]);
  return arrange(rng, opts, operands);
}

/** ethtool: [global options] ACTION DEVICE [keywords]. */
const ETHTOOL_ACTIONS: Record<string, readonly (readonly string[])[]> = {
  '': [[]], '-a': [[]], '--show-pause': [[]], '-A': [['autoneg', 'off'], ['rx', 'on']], '-c': [[]], '-C': [['rx-usecs', '1']],
  '-g': [[]], '-G': [['rx', '64']], '-i': [[]], '--driver': [[]], '-d': [[], ['raw', 'on'], ['file', F.input], ['hex', 'on']],
  '-e': [[], ['raw', 'on'], ['offset', '0', 'length', '4']], '-E': [['magic', '0', 'offset', '0', 'value', '1']], '-k': [[]],
  '-K': [['tso', 'off'], ['rx', 'on']], '-p': [['1']], '-P': [[]], '-r': [[]], '-S': [[], ['--all-groups']], '-t': [['offline']],
  '-T': [[]], '-s': [['speed', '10', 'duplex', 'full'], ['msglvl', '1'], ['wol', 'd']], '-l': [[]], '-L': [['combined', '1']],
  '-m': [[], ['raw', 'on'], ['hex', 'on']], '-x': [[]], '-X': [['equal', '1'], ['hfunc', 'toeplitz']], '-f': [[F.input], [F.input, '0']],
  '--flash': [[F.input]], '-n': [['rx-flow-hash', 'tcp4']], '-N': [['rx-flow-hash', 'tcp4', 'sd']], '-u': [[]], '-U': [['delete', '1']],
  '-w': [[], ['data', F.output]], '-W': [['1']], '--show-eee': [[]], '--set-eee': [['eee', 'off']], '--show-fec': [[]],
  '--set-fec': [['encoding', 'off']], '--show-priv-flags': [[]], '--set-priv-flags': [['x', 'on']], '--reset': [['all']],
  '--module-info': [[]], '--show-tunnels': [[]], '--cable-test': [[]], '--show-module': [[]], '--set-module': [['power-mode-policy', 'auto']],
  '--get-dump': [[], ['data', F.output]], '--set-dump': [['1']], '--statistics': [[]], '--phy-statistics': [[]],
  '--register-dump': [['file', F.hostFile]], '--eeprom-dump': [[]], '--change': [['speed', '10']], '--monitor': [[]],
  '--show-rxfh': [[]], '--show-ring': [[]], '--show-coalesce': [[]], '--show-features': [[]], '--show-channels': [[]],
  '--dump-module-eeprom': [['page', '0']], '--show-time-stamping': [[]], '--show-permaddr': [[]], '--identify': [['1']],
  '--test': [[]], '--show-mm': [[]], '--show-pse': [[]], '--show-plca': [[]], '--version': [[]], '-h': [[]],
};
const ETHTOOL_GLOBALS: readonly (readonly string[])[] = [['--json'], ['-I'], ['--include-statistics'], ['--debug', '1'], ['--all-groups'], ['-Q', '--queue-mask', '1']];

export function genEthtool(rng: Rng): string[] {
  const globals = someOf(rng, ETHTOOL_GLOBALS, 0, 1).flat();
  const action = rng.pick(Object.keys(ETHTOOL_ACTIONS));
  const rest = rng.pick(ETHTOOL_ACTIONS[action]!);
  const words = [...globals];
  if (action !== '') words.push(action);
  if (action !== '--version' && action !== '-h' && (action !== '--monitor' || rng.chance(0.3))) words.push(rng.pick(IFACES));
  words.push(...rest);
  if (rng.chance(0.1)) words.push(rng.pick(['file', 'data']), pickValue(rng, 'path'));
  return words;
}
