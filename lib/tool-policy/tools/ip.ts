import { refuseArg } from '../errors.js';
import { NONE, type ToolRule } from '../options.js';
import { IPROUTE_MUTATING, isReadOnlyVerb, refuseMonitorFile, refusePathLike, scanIprouteGlobals, type IprouteGlobals } from './iproute.js';

const IP_GLOBALS: IprouteGlobals = {
  order: [
    '-loops', '-family', '-4', '-6', '-0', '-M', '-B', '-human', '-human-readable', '-iec', '-stats', '-statistics',
    '-details', '-resolve', '-oneline', '-timestamp', '-tshort', '-Version', '-force', '-batch', '-brief', '-json',
    '-pretty', '-rcvbuf', '-color', '-colour', '-help', '-netns', '-Numeric', '-all', '-echo',
  ],
  withValue: ['-family', '-loops', '-rcvbuf'],
  refused: {
    '-batch': 'reads commands from a file',
    '-force': 'goes with -batch, which reads commands from a file',
    '-netns': 'switches to another network namespace',
  },
};

/** Objects whose command follows a sub-object (`ip xfrm state list`, `ip mptcp endpoint show`). */
const IP_SUBOBJECT = ['xfrm', 'mptcp', 'ioam', 'sr'];

function ipObjectIs(obj: string, name: string, minLength: number): boolean {
  return obj.length >= minLength && name.startsWith(obj);
}

/** `ip link set … xdp|xdpgeneric|xdpdrv|xdpoffload obj|object|pinned FILE` loads a BPF program. */
const IP_XDP_WORDS = new Set(['xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload']);

export const ipRule: ToolRule = (argv, policy) => {
  const start = scanIprouteGlobals('ip', argv, IP_GLOBALS);
  const rest = argv.slice(start);
  if (rest.includes('file')) refuseArg('ip', '"file"', 'reads a file');
  refusePathLike('ip', rest);
  const xdp = rest.find((w) => IP_XDP_WORDS.has(w) || (w.length >= 2 && ('object'.startsWith(w) || 'pinned'.startsWith(w))));
  if (xdp !== undefined) refuseArg('ip', `"${xdp}"`, 'loads a BPF program from a file');
  const obj = rest[0];
  if (obj === undefined) return NONE;
  if (ipObjectIs(obj, 'monitor', 2)) refuseMonitorFile('ip', rest);
  // `ip netns exec` and `ip vrf exec` run a command: refused even when writes are allowed.
  const second = rest[1];
  if ((ipObjectIs(obj, 'netns', 3) || ipObjectIs(obj, 'vrf', 1)) && second !== undefined && second !== '' && 'exec'.startsWith(second)) {
    refuseArg('ip', `"${obj} ${second}"`, 'runs a command');
  }
  if (policy.allowMutating) return NONE;
  if (ipObjectIs(obj, 'monitor', 2)) return NONE;
  let verbIdx = 1;
  if (IP_SUBOBJECT.some((s) => ipObjectIs(obj, s, s.length === 2 ? 2 : 1))) {
    verbIdx = 2;
    if (second !== undefined && !isReadOnlyVerb(second) && IPROUTE_MUTATING.some((m) => m.startsWith(second))) {
      refuseArg('ip', `"${obj} ${second}"`, 'is not a read-only command; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
    }
  }
  const verb = rest[verbIdx];
  if (verb !== undefined && !isReadOnlyVerb(verb)) {
    refuseArg('ip', `"${rest.slice(0, verbIdx + 1).join(' ')}"`, 'is not a read-only command (allowed: show, list, get, monitor, help); writes need SNOOPY_ALLOW_MUTATING_TOOLS');
  }
  return NONE;
};

