// The policy's reading of ip, tc and dig command lines checked against the installed tools: each
// sample runs under strace in a network namespace this test creates (with a veth pair and a tbf
// qdisc), and what the tool really did is compared with what the policy decided:
//   - a line the policy allows without SNOOPY_ALLOW_MUTATING_TOOLS sends no netlink write;
//   - a line it refuses only for being a write really sends one (so `tc qdisc l …` is a replace);
//   - a line it always refuses really opens the named file, joins another namespace or runs a program.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_TOOL_POLICY, checkToolInvocation, ToolPolicyError, type ToolPolicy } from '../tool-policy.js';
import { resolveCommand, type Level } from '../tool-policy/tools/iproute.js';
import { IP_COMMANDS } from '../tool-policy/tools/ip.js';
import { TC_COMMANDS } from '../tool-policy/tools/tc.js';

const run = promisify(execFile);
const MUTATING: ToolPolicy = { ...DEFAULT_TOOL_POLICY, allowMutating: true };

function allowed(tool: string, argv: readonly string[], policy: ToolPolicy = DEFAULT_TOOL_POLICY): boolean {
  try {
    checkToolInvocation(tool, argv, policy);
    return true;
  } catch (err) {
    if (err instanceof ToolPolicyError) return false;
    throw err;
  }
}

/** Netlink messages that change something (rtnetlink and xfrm). */
const WRITE_TYPE = /^(RTM_(NEW|DEL|SET)|XFRM_MSG_(NEW|DEL|UPD|FLUSH|ALLOC|SET))/;

/**
 * `ip link <command>` first asks whether the kernel knows RTM_NEWLINK (iplink_have_newlink) with
 * an empty request (no device, no attributes), which the kernel refuses; it changes nothing.
 */
const NEWLINK_PROBE = /nlmsg_len=32, nlmsg_type=RTM_NEWLINK, nlmsg_flags=NLM_F_REQUEST\|NLM_F_ACK, nlmsg_seq=0,.*ifi_index=0,/;

interface Observed {
  netlinkTypes: string[];
  opened: string[];
  setns: boolean;
  /** programs started after the tool itself */
  execs: number;
}

let ns = '';
let dir = '';
let traceSeq = 0;

/**
 * Runs argv inside the test's namespace with standard input on /dev/null (as in a capture pod);
 * resolves with its output whatever the exit status. A run is killed after 15 s (a bound, not a
 * check: no sample is expected to take more than a fraction of a second).
 */
function runInNs(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 15000);
    p.on('error', reject);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

async function observe(tool: string, argv: readonly string[]): Promise<Observed> {
  const trace = join(dir, `trace-${traceSeq++}`);
  // many samples fail on purpose (a missing device, a refused connection): only the trace counts
  await runInNs(['strace', '-f', '-qq', '-e', 'trace=sendto,sendmsg,openat,setns,execve', '-o', trace, tool, ...argv]);
  const text = await readFile(trace, 'utf8');
  return {
    // the first header of each send: strace decodes further iovecs of a sendmsg as headers too
    netlinkTypes: [...text.matchAll(/^\d+ +send(?:to|msg)\(.*?nlmsg_type=([A-Za-z0-9_]+).*$/gm)]
      .filter((m) => !NEWLINK_PROBE.test(m[0]))
      .map((m) => m[1]!),
    opened: [...text.matchAll(/openat\([^,]+, "([^"]*)"/g)].map((m) => m[1]!),
    setns: /\bsetns\(/.test(text),
    execs: Math.max(0, [...text.matchAll(/\bexecve\(/g)].length - 1),
  };
}

beforeAll(async () => {
  ns = `snp-pol-${randomBytes(3).toString('hex')}`;
  dir = await mkdtemp(join(tmpdir(), 'snp-pol-'));
  await run('ip', ['netns', 'add', ns]);
  const inNs = (...args: string[]): Promise<unknown> => run('ip', ['netns', 'exec', ns, ...args]);
  await inNs('ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  for (const dev of ['lo', 'v0', 'v1']) await inNs('ip', 'link', 'set', dev, 'up');
  await inNs('tc', 'qdisc', 'add', 'dev', 'v0', 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms');
  await writeFile(join(dir, 'ip-cmds'), 'link show\n');
  await writeFile(join(dir, 'tc-cmds'), 'qdisc show\n');
  await writeFile(join(dir, 'names'), '');
  await writeFile(join(dir, 'dig-batch'), '@127.0.0.1 +tries=1 +timeout=1 example.com\n');
  await writeFile(join(dir, 'pem'), 'not a certificate\n');
});

afterAll(async () => {
  if (ns !== '') await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const TBF = ['root', 'tbf', 'rate', '2mbit', 'burst', '32kbit', 'latency', '400ms'];

test('the installed tools are the versions whose tables the policy copies', async () => {
  // another version may order its names differently: rerun tool-options/capture-iproute-dns.sh and review the tables
  expect((await run('ip', ['-V'])).stdout).toContain('iproute2-6.1.0');
  expect((await run('tc', ['-V'])).stdout).toContain('iproute2-6.1.0');
  expect((await run('dig', ['-v'])).stderr).toContain('DiG 9.18.');
});

describe('ip and tc: the policy reads abbreviations as the installed tools do', () => {
  const reads: Array<[string, string[]]> = [
    ['ip', ['x', 's', 'l']], ['ip', ['x', 's']], ['ip', ['x', 's', 'c']], ['ip', ['x', 'p', 'l']], ['ip', ['x', 'p', 's']],
    ['ip', ['a', 's']], ['ip', ['a']], ['ip', ['addrl']], ['ip', ['l']], ['ip', ['l', 'sh']], ['ip', ['l', 'l']],
    ['ip', ['r']], ['ip', ['r', 's']], ['ip', ['r', 'g', '127.0.0.1']], ['ip', ['ru']], ['ip', ['ru', 's']],
    ['ip', ['n']], ['ip', ['ne', 's']], ['ip', ['n', 'l']], ['ip', ['nt']], ['ip', ['netc']], ['ip', ['mr']],
    ['ip', ['mru']], ['ip', ['t']], ['ip', ['nex']], ['ip', ['st']], ['ip', ['-s', '-d', 'l']], ['ip', ['-br', 'a']],
    ['ip', ['--br', 'a']], ['ip', ['-c=never', 'l']], ['ip', ['-j', 'r']], ['ip', ['-h', '-s', 'l']],
    ['tc', ['q']], ['tc', ['q', 's']], ['tc', ['q', 'ls', 'dev', 'v0']], ['tc', ['q', 'lis']], ['tc', ['qd', 'sh']],
    ['tc', ['c', 'l', 'dev', 'v0']], ['tc', ['f', 's', 'dev', 'v0']], ['tc', ['a', 'l', 'action', 'gact']],
    ['tc', ['-s', '-d', 'q']], ['tc', ['-col', 'q']],
  ];
  test.each(reads)('%s %j is read-only, and the policy allows it', async (tool, argv) => {
    expect(allowed(tool, argv)).toBe(true);
    const o = await observe(tool, argv);
    expect(o.netlinkTypes.length).toBeGreaterThan(0);
    expect(o.netlinkTypes.filter((t) => WRITE_TYPE.test(t))).toEqual([]);
  });

  const writes: Array<[string, string[]]> = [
    ['tc', ['qdisc', 'l', 'dev', 'v0', ...TBF]], ['tc', ['qdisc', 'li', 'dev', 'v0', ...TBF]],
    ['tc', ['qdisc', 'lin', 'dev', 'v0', ...TBF]], ['tc', ['q', 'l', 'dev', 'v0', ...TBF]], ['tc', ['qd', 'l', 'dev', 'v0', ...TBF]],
    ['tc', ['q', 'r', 'dev', 'v1', 'root', 'pfifo']], ['tc', ['q', 'd', 'dev', 'v1', 'root']],
    ['ip', ['l', 's', 'v1', 'mtu', '1400']], ['ip', ['l', 'p', 'add', 'dev', 'v1', 'altname', 'snpalt']],
    ['ip', ['a', 'a', '10.9.0.1/24', 'dev', 'v1']], ['ip', ['a', 'chg', '10.9.0.1/24', 'dev', 'v1']],
    ['ip', ['a', 'r', '10.9.0.1/24', 'dev', 'v1']], ['ip', ['r', 't', '10.7.0.0/16', 'dev', 'v1']],
    ['ip', ['ne', 'a', '10.9.0.2', 'lladdr', '00:11:22:33:44:55', 'dev', 'v1']],
    ['ip', ['x', 's', 'f']], ['ip', ['x', 'p', 'f']], ['ip', ['l', 'a', 'l', 'v1', 'name', 'snpvlan', 'type', 'vlan', 'id', '10']],
  ];
  test.each(writes)('%s %j writes, and the policy needs SNOOPY_ALLOW_MUTATING_TOOLS for it', async (tool, argv) => {
    expect([allowed(tool, argv), allowed(tool, argv, MUTATING)]).toEqual([false, true]);
    const o = await observe(tool, argv);
    expect(o.netlinkTypes.filter((t) => WRITE_TYPE.test(t)).length).toBeGreaterThan(0);
  });

  test('tc qdisc l replaced the live tbf rate (the security review\'s hole)', async () => {
    const show = async (): Promise<string> => (await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'show', 'dev', 'v0'])).stdout;
    await observe('tc', ['qdisc', 'l', 'dev', 'v0', 'root', 'tbf', 'rate', '3mbit', 'burst', '32kbit', 'latency', '400ms']);
    expect(await show()).toContain('rate 3Mbit');
  });

  test('lines the policy always refuses really open the file, join another namespace or run a program', async () => {
    const file = (name: string): string => join(dir, name);
    const samples: Array<[string, string[], (o: Observed) => boolean]> = [
      ['ip', ['-b', file('ip-cmds')], (o) => o.opened.includes(file('ip-cmds'))],
      ['ip', ['-ba', file('ip-cmds')], (o) => o.opened.includes(file('ip-cmds'))],
      ['ip', ['--batch', file('ip-cmds')], (o) => o.opened.includes(file('ip-cmds'))],
      ['ip', ['-force', '-batch', file('ip-cmds')], (o) => o.opened.includes(file('ip-cmds'))],
      ['ip', ['monitor', 'f', file('names')], (o) => o.opened.includes(file('names'))],
      ['ip', ['mo', 'all', 'fi', file('names')], (o) => o.opened.includes(file('names'))],
      ['ip', ['x', 'm', 'fil', file('names')], (o) => o.opened.includes(file('names'))],
      ['ip', ['-n', ns, 'l'], (o) => o.setns],
      ['ip', ['-ne', ns, 'l'], (o) => o.setns],
      ['ip', ['netns', 'e', ns, 'true'], (o) => o.setns && o.execs > 0],
      ['tc', ['-b', file('tc-cmds')], (o) => o.opened.includes(file('tc-cmds'))],
      ['tc', ['-c', file('names'), '-nm', 'q'], (o) => o.opened.includes(file('names'))],
      ['tc', ['-co', file('names'), '-nm', 'q'], (o) => o.opened.includes(file('names'))],
      ['tc', ['m', 'f', file('names')], (o) => o.opened.includes(file('names'))],
      ['tc', ['-n', ns, 'q'], (o) => o.setns],
    ];
    for (const [tool, argv, did] of samples) {
      expect([tool, argv, allowed(tool, argv, MUTATING)]).toEqual([tool, argv, false]);
      expect([tool, argv, did(await observe(tool, argv))]).toEqual([tool, argv, true]);
    }
  });
});

describe('dig: the policy refuses exactly the forms that make dig open a file', () => {
  const DIG = ['+tries=1', '+timeout=1', '@127.0.0.1', 'example.com'];
  test('file options as dig abbreviates them open the file; the allowed forms open nothing named', async () => {
    const pem = join(dir, 'pem');
    const batch = join(dir, 'dig-batch');
    const samples: Array<[string[], string, boolean]> = [
      // [extra words, file, does dig open it]
      [['+tls', `+tls-ca=${pem}`], pem, true],
      [['+tls', `+tls-certfile=${pem}`, `+tls-keyfile=${pem}`], pem, true],
      [['+tls', `+tls-cert=${pem}`, `+tls-key=${pem}`], pem, true],
      [['+tls', `+tls-ce=${pem}`, `+tls-k=${pem}`], pem, true],
      [['+tls', `+=tls-ca=${pem}`], pem, true],
      [['-f', batch], batch, true],
      [['-4f', batch], batch, true],
      [['-k', pem], pem, true],
      [['-dk', pem], pem, true],
      [['+tls', `+notls-ca=${pem}`], pem, false],
      [['+tls', `+tls-hostname=${pem}`], pem, false],
      [['-q', pem], pem, false],
      [['-t', '-k', pem], pem, false],
      [['-y', 'hmac-sha256:snp:c2VjcmV0'], pem, false],
    ];
    for (const [extra, file, opens] of samples) {
      const argv = [...DIG, ...extra];
      const o = await observe('dig', argv);
      expect([extra, o.opened.includes(file)]).toEqual([extra, opens]);
      expect([extra, allowed('dig', argv, MUTATING)]).toEqual([extra, !opens]);
    }
  });
});

/** Runs fn over items, three at a time (the samples are independent reads). */
async function threeAtATime<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all([worker(), worker(), worker()]);
}

/** Every prefix of every name the policy's table has at every level, typed after the full names above it. */
function everyPrefix(level: Level, above: readonly string[] = []): string[][] {
  const out: string[][] = [];
  for (const w of level.words) {
    const lengths = w.exact ? [w.name.length] : [...Array(w.name.length).keys()].map((i) => i + 1);
    for (const n of lengths) out.push([...above, w.name.slice(0, n)]);
    if (!('kind' in w.then)) out.push(...everyPrefix(w.then, [...above, w.name]));
  }
  return out;
}

describe('every abbreviation in the tables, against the installed tools', () => {
  test.each([
    ['ip', IP_COMMANDS, ['amt', 'foo', 'xf0', 'ipx']],
    ['tc', TC_COMMANDS, ['foo', 'qdiscs', 'x']],
  ] as const)('%s OBJECT help prints the help of the object the policy reads OBJECT as', async (tool, top, unknown) => {
    const objects = [...everyPrefix(top).filter((w) => w.length === 1).map((w) => w[0]!), ...unknown];
    const helpOf = new Map<string, string>();
    await threeAtATime(top.words.map((w) => w.name), async (full) => {
      helpOf.set(full, await runInNs([tool, full, 'help']));
    });
    await threeAtATime(objects, async (typed) => {
      const r = resolveCommand(top, [typed]);
      const text = await runInNs([tool, typed, 'help']);
      if (r.effect === undefined && r.path.length === 0) {
        expect([typed, text]).toEqual([typed, expect.stringContaining(`Object "${typed}" is unknown`)]);
      } else {
        expect([typed, r.path[0], text]).toEqual([typed, r.path[0], helpOf.get(r.path[0]!)]);
      }
    });
    expect(new Set(helpOf.values()).size).toBeGreaterThan(tool === 'ip' ? 25 : 6);
  }, 600000);

  test('ip xfrm SUB help prints the help of the sub-object the policy reads SUB as', async () => {
    for (const typed of ['s', 'st', 'sta', 'stat', 'state', 'sa', 'p', 'pol', 'policy', 'm', 'monitor']) {
      const r = resolveCommand(IP_COMMANDS, ['xfrm', typed]);
      const full = r.path[1]!;
      expect([typed, await runInNs(['ip', 'xfrm', typed, 'help'])]).toEqual([typed, await runInNs(['ip', 'xfrm', full, 'help'])]);
    }
  });

  test.each(['ip', 'tc'] as const)('%s: the shortest abbreviation of every reading command sends no netlink write', async (tool) => {
    const top = tool === 'ip' ? IP_COMMANDS : TC_COMMANDS;
    // prefixes come shortest first: keep the first that the policy reads as each reading command
    // (`tc qdisc lis` for list, since l and li are link), where a wrong table order would show
    const samples = new Map<string, string[]>();
    for (const words of everyPrefix(top)) {
      const r = resolveCommand(top, words);
      // monitors wait for events; writes and refused lines are not run
      if (r.effect?.kind !== 'read' || r.path.includes('monitor')) continue;
      if (!samples.has(r.path.join(' '))) samples.set(r.path.join(' '), words);
    }
    expect(samples.size).toBeGreaterThan(tool === 'ip' ? 150 : 25);
    await threeAtATime([...samples.values()], async (words) => {
      const o = await observe(tool, words);
      expect([words, o.netlinkTypes.filter((t) => WRITE_TYPE.test(t))]).toEqual([words, []]);
    });
  }, 600000);
});
