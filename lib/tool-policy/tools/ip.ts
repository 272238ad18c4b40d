// ip (iproute2 6.1, as Debian builds it): the options of ip/ip.c main(), the objects of its cmds[] table and each
// object's commands, every list in the order the tool tries it (see iproute.ts). Reads are
// allowed; writes need SNOOPY_ALLOW_MUTATING_TOOLS; commands that read command files, run
// programs, load BPF objects, join or create other network namespaces are always refused.

import { NONE, type ToolRule } from '../rule.js';
import { READ, WRITE, checkIproute, monitorFileArgs, refused, type Globals, type Level, type Word } from './iproute.js';

const NETNS = refused('joins another network namespace');

/** ip/ip.c main(), in order. `-color` is lib/color.c matches_color(). */
export const IP_GLOBALS: Globals = {
  gnuDashes: true,
  options: [
    { name: '-loops', match: 'prefix', takesValue: true, effect: READ },
    { name: '-family', match: 'prefix', takesValue: true, effect: READ },
    { name: '-4', match: 'exact', effect: READ },
    { name: '-6', match: 'exact', effect: READ },
    { name: '-0', match: 'exact', effect: READ },
    { name: '-M', match: 'exact', effect: READ },
    { name: '-B', match: 'exact', effect: READ },
    { name: '-human', match: 'prefix', effect: READ },
    { name: '-human-readable', match: 'prefix', effect: READ },
    { name: '-iec', match: 'prefix', effect: READ },
    { name: '-stats', match: 'prefix', effect: READ },
    { name: '-statistics', match: 'prefix', effect: READ },
    { name: '-details', match: 'prefix', effect: READ },
    { name: '-resolve', match: 'prefix', effect: READ },
    { name: '-oneline', match: 'prefix', effect: READ },
    { name: '-timestamp', match: 'prefix', effect: READ },
    { name: '-tshort', match: 'prefix', effect: READ },
    { name: '-Version', match: 'prefix', effect: READ },
    { name: '-force', match: 'prefix', effect: refused('goes with -batch, which reads commands from a file') },
    { name: '-batch', match: 'prefix', takesValue: true, effect: refused('reads commands from a file') },
    { name: '-brief', match: 'prefix', effect: READ },
    { name: '-json', match: 'prefix', effect: READ },
    { name: '-pretty', match: 'prefix', effect: READ },
    { name: '-rcvbuf', match: 'prefix', takesValue: true, effect: READ },
    { name: '-color', match: 'color', effect: READ },
    { name: '-help', match: 'prefix', effect: READ },
    { name: '-netns', match: 'prefix', takesValue: true, effect: NETNS },
    { name: '-Numeric', match: 'prefix', effect: READ },
    { name: '-all', match: 'prefix', effect: READ },
    { name: '-echo', match: 'exact', effect: READ },
  ],
};

const help: Word = { name: 'help', then: READ };
const list = (...names: string[]): Word[] => names.map((name) => ({ name, then: READ }));
const writes = (...names: string[]): Word[] => names.map((name) => ({ name, then: WRITE }));
const SHOW = list('list', 'show', 'lst');
/** these objects print their usage and exit when given nothing */
const USAGE = READ;

/** ip/iprule.c do_iprule (also `ip mrule`). */
const RULE: Level = {
  bare: READ,
  words: [...list('list', 'lst', 'show', 'save'), ...writes('restore', 'add', 'delete', 'flush'), help],
};

/** ip/ipxfrm.c do_xfrm_state */
const XFRM_STATE: Level = {
  bare: READ,
  words: [
    ...writes('add', 'update', 'allocspi', 'delete', 'deleteall', 'delall'),
    ...SHOW, { name: 'get', then: READ }, { name: 'flush', then: WRITE }, { name: 'count', then: READ }, help,
  ],
};

/** ip/xfrm_policy.c do_xfrm_policy */
const XFRM_POLICY: Level = {
  bare: READ,
  words: [
    ...writes('add', 'update', 'delete', 'deleteall', 'delall'), ...SHOW, { name: 'get', then: READ },
    { name: 'flush', then: WRITE }, { name: 'count', then: READ }, ...writes('set', 'setdefault'),
    { name: 'getdefault', then: READ }, help,
  ],
};

const NETNS_WRITE = refused('creates, deletes or names network namespaces (mounts under /run/netns)');
const EXEC = refused('runs a command');

/** ip/ip.c cmds[], in order, with each object's do_* function. */
export const IP_COMMANDS: Level = {
  bare: USAGE,
  words: [
    { name: 'address', then: { bare: READ, words: [
      ...writes('add', 'change'), { name: 'chg', exact: true, then: WRITE }, ...writes('replace', 'delete'), ...SHOW,
      { name: 'flush', then: WRITE }, ...list('save', 'showdump'), { name: 'restore', then: WRITE }, help,
    ] } },
    { name: 'addrlabel', then: { bare: READ, words: [...list('list', 'lst', 'show'), ...writes('add', 'delete', 'flush'), help] } },
    { name: 'maddress', then: { bare: READ, words: [...writes('add', 'delete'), ...SHOW, help] } },
    { name: 'route', then: { bare: READ, words: [
      ...writes('add', 'change'), { name: 'chg', exact: true, then: WRITE },
      ...writes('replace', 'prepend', 'append', 'test', 'delete'), ...SHOW, { name: 'get', then: READ },
      { name: 'flush', then: WRITE }, { name: 'save', then: READ }, { name: 'restore', then: WRITE },
      { name: 'showdump', then: READ }, help,
    ] } },
    { name: 'rule', then: RULE },
    ...['neighbor', 'neighbour'].map((name): Word => ({ name, then: { bare: READ, words: [
      ...writes('add', 'change'), { name: 'chg', exact: true, then: WRITE }, ...writes('replace', 'delete'),
      { name: 'get', then: READ }, ...list('show', 'lst', 'list'), { name: 'flush', then: WRITE }, help,
    ] } })),
    ...['ntable', 'ntbl'].map((name): Word => ({ name, then: { bare: READ, words: [
      ...writes('change', 'chg'), ...list('show', 'lst', 'list'), help,
    ] } })),
    { name: 'link', then: { bare: READ, words: [
      ...writes('add', 'set', 'change', 'replace', 'delete'), ...list('show', 'lst', 'list', 'xstats', 'afstats'),
      { name: 'property', then: { bare: USAGE, words: [...writes('add', 'del'), help] } }, help,
    ] } },
    { name: 'l2tp', then: { bare: USAGE, words: [help, ...writes('add', 'delete'), ...list('show', 'lst', 'list')] } },
    { name: 'fou', then: { bare: USAGE, words: [help, ...writes('add', 'delete'), { name: 'show', then: READ }] } },
    { name: 'ila', then: { bare: USAGE, words: [help, ...writes('add', 'delete'), { name: 'list', then: READ }] } },
    { name: 'macsec', then: { bare: USAGE, words: [help, { name: 'show', then: READ }, ...writes('add', 'set', 'delete', 'offload')] } },
    // ip/iptunnel.c; with -6 or an IPv6 mode ip6tunnel.c reads the same names without prl and 6rd
    ...['tunnel', 'tunl'].map((name): Word => ({ name, then: { bare: READ, words: [
      ...writes('add', 'change', 'delete'), ...list('show', 'lst', 'list'), ...writes('prl', '6rd'), help,
    ] } })),
    ...['tuntap', 'tap'].map((name): Word => ({ name, then: { bare: READ, words: [
      ...writes('add', 'delete'), ...list('show', 'lst', 'list'), help,
    ] } })),
    { name: 'token', then: { bare: READ, words: [
      ...list('list', 'lst', 'show'), ...writes('set', 'add', 'delete'), { name: 'get', then: READ }, help,
    ] } },
    ...['tcpmetrics', 'tcp_metrics'].map((name): Word => ({ name, then: { bare: READ, words: [
      ...list('list', 'lst', 'show'), ...writes('delete', 'remove', 'flush'), help,
    ] } })),
    { name: 'monitor', then: READ, args: (rest) => monitorFileArgs(rest, ['dev']) },
    { name: 'xfrm', then: { bare: USAGE, words: [
      { name: 'state', then: XFRM_STATE }, { name: 'sa', then: XFRM_STATE }, { name: 'policy', then: XFRM_POLICY },
      { name: 'monitor', then: READ, args: (rest) => monitorFileArgs(rest) }, help,
    ] } },
    { name: 'mroute', then: { bare: READ, words: [...SHOW, help] } },
    { name: 'mrule', then: RULE },
    { name: 'netns', then: { bare: READ, words: [
      ...SHOW, { name: 'list-id', then: READ }, help, { name: 'add', then: NETNS_WRITE }, { name: 'set', then: NETNS_WRITE },
      { name: 'delete', then: NETNS_WRITE }, ...list('identify', 'pids'), { name: 'exec', then: EXEC },
      { name: 'monitor', then: refused('creates /run/netns and watches the node\'s named network namespaces') }, { name: 'attach', then: NETNS_WRITE },
    ] } },
    { name: 'netconf', then: { bare: READ, words: [...list('show', 'lst', 'list'), help] } },
    { name: 'vrf', then: { bare: READ, words: [
      ...list('identify', 'pids'), { name: 'exec', then: refused('runs a command (and loads a BPF program)') },
      ...list('show', 'lst', 'list'), help,
    ] } },
    { name: 'sr', then: { bare: USAGE, words: [
      help,
      { name: 'hmac', then: { bare: USAGE, words: [{ name: 'show', then: READ }, { name: 'set', then: WRITE }] } },
      { name: 'tunsrc', then: { bare: USAGE, words: [{ name: 'show', then: READ }, { name: 'set', then: WRITE }] } },
    ] } },
    { name: 'nexthop', then: { bare: READ, words: [
      ...writes('add', 'replace', 'delete'), ...SHOW, { name: 'get', then: READ }, { name: 'flush', then: WRITE },
      { name: 'bucket', then: { bare: READ, words: [...SHOW, { name: 'get', then: READ }, help] } }, help,
    ] } },
    { name: 'mptcp', then: { bare: USAGE, words: [
      help,
      { name: 'endpoint', then: { bare: READ, words: [
        ...writes('add', 'change', 'delete'), { name: 'show', then: READ }, { name: 'flush', then: WRITE },
      ] } },
      // an unknown word after "limits" falls through to do_mptcp's "monitor" test
      { name: 'limits', then: { bare: READ, words: [{ name: 'set', then: WRITE }, ...list('show', 'monitor')] } },
      { name: 'monitor', then: READ },
    ] } },
    // ip/ipioam6.c compares whole words
    { name: 'ioam', then: { bare: USAGE, words: [
      { name: 'help', exact: true, then: READ },
      { name: 'namespace', exact: true, then: { bare: USAGE, words: [
        { name: 'show', exact: true, then: READ }, ...['add', 'del', 'set'].map((name): Word => ({ name, exact: true, then: WRITE })),
      ] } },
      { name: 'schema', exact: true, then: { bare: USAGE, words: [
        { name: 'show', exact: true, then: READ }, ...['add', 'del'].map((name): Word => ({ name, exact: true, then: WRITE })),
      ] } },
    ] } },
    help,
    // ip/ipstats.c compares whole words
    { name: 'stats', then: { bare: READ, words: [
      { name: 'help', exact: true, then: READ }, { name: 'show', exact: true, then: READ }, { name: 'set', exact: true, then: WRITE },
    ] } },
    // Debian's patch to ip.c adds an object that prints a cow
    { name: 'moo', then: READ },
  ],
};

/**
 * Arguments refused whatever the command: the XDP modes of `ip link set` and `encap bpf` of
 * `ip route` load a BPF object (all compared with strcmp); `netns NAME|PID` of `ip link add|set`
 * moves the device into another network namespace (PID 1's is the node's), and `link-netns` /
 * `link-netnsid` (matched by prefix after "link", which takes l, li, lin, link) put a tunnel's
 * underlay there.
 */
function ipRefusedWord(w: string): string | undefined {
  if (['xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload'].includes(w)) return 'loads a BPF program (from a file or a pinned path)';
  if (w === 'bpf') return 'loads a BPF program from a file (route encap bpf)';
  if (w === 'netns') return 'moves a device into another network namespace';
  if (w.startsWith('link-') && 'link-netnsid'.startsWith(w)) return 'refers to another network namespace';
  return undefined;
}

export const ipRule: ToolRule = (argv, policy) => {
  checkIproute('ip', argv, policy, IP_GLOBALS, IP_COMMANDS, ipRefusedWord);
  return NONE;
};
