// The dispatcher: checks the command against the allowlist, then hands argv to that tool's rule.

import { DEFAULT_TOOL_POLICY, type ToolPolicy } from './config.js';
import { ToolPolicyError } from './errors.js';
import { NONE, type Checked, type ToolRule } from './rule.js';
import { isControl, tokenizeArgs } from './tokenize.js';
import { conntrackRule } from './tools/conntrack.js';
import { curlRule } from './tools/curl.js';
import { digRule } from './tools/dig.js';
import { ethtoolRule } from './tools/ethtool.js';
import { ipRule } from './tools/ip.js';
import { iperfRule } from './tools/iperf.js';
import { iperf3Rule } from './tools/iperf3.js';
import { nslookupRule } from './tools/nslookup.js';
import { iptablesSaveRule } from './tools/iptables-save.js';
import { nftRule } from './tools/nft.js';
import { nstatRule } from './tools/nstat.js';
import { pingRule } from './tools/ping.js';
import { ssRule } from './tools/ss.js';
import { sysctlRule } from './tools/sysctl.js';
import { tcRule } from './tools/tc.js';
import { tcpdumpRule } from './tools/tcpdump.js';
import { tracepathRule } from './tools/tracepath.js';
import { tracerouteRule } from './tools/traceroute.js';

/**
 * Programs that would turn an allowlist into a way to run anything; refused even when configured.
 */
const NEVER_ALLOWED = new Set([
  'sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'csh', 'tcsh', 'fish', 'busybox', 'env', 'nsenter', 'sudo', 'su',
  'xargs', 'python', 'python3', 'perl', 'ruby', 'node', 'lua', 'awk', 'gawk', 'sed', 'find', 'socat', 'nc',
  'ncat', 'chroot', 'unshare', 'setsid', 'nohup', 'timeout', 'watch', 'script', 'ssh', 'scp',
]);


const RULES: Record<string, ToolRule> = {
  tcpdump: tcpdumpRule,
  curl: curlRule,
  iperf3: iperf3Rule,
  iperf: iperfRule,
  ip: ipRule,
  tc: tcRule,
  ethtool: ethtoolRule,
  conntrack: conntrackRule,
  dig: digRule,
  ss: ssRule,
  nstat: nstatRule,
  ping: pingRule,
  tracepath: tracepathRule,
  traceroute: tracerouteRule,
  nslookup: nslookupRule,
  nft: nftRule,
  'iptables-save': iptablesSaveRule('iptables-save'),
  'ip6tables-save': iptablesSaveRule('ip6tables-save'),
  sysctl: sysctlRule,
};

function checkCommand(command: string, policy: ToolPolicy): void {
  if (command === '') throw new ToolPolicyError('command', 'command is empty');
  if (command.includes('/')) {
    throw new ToolPolicyError('command', `command "${command}" is a path; give the bare name of an allowed tool (${policy.allowedTools.join(', ')})`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(command)) {
    throw new ToolPolicyError('command', `command "${command}" is not a plain program name`);
  }
  if (NEVER_ALLOWED.has(command)) {
    throw new ToolPolicyError('command', `command "${command}" can run arbitrary programs and is never allowed`);
  }
  if (!policy.allowedTools.includes(command)) {
    throw new ToolPolicyError('command', `command "${command}" is not on the tool allowlist (${policy.allowedTools.join(', ')})`);
  }
}

function checkArgv(command: string, argv: readonly string[], policy: ToolPolicy): Checked {
  for (const [i, a] of argv.entries()) {
    if (typeof a !== 'string') throw new ToolPolicyError('args', `argument ${i + 1} is not a string`);
    for (let j = 0; j < a.length; j++) {
      if (isControl(a[j]!) && a[j] !== '\t') {
        throw new ToolPolicyError('args', `argument ${i + 1} contains a control character (code ${a.charCodeAt(j)})`);
      }
    }
  }
  const rule = RULES[command];
  // A tool added to the allowlist by configuration has no argument rules: whoever allowed it owns that choice.
  return rule ? rule(argv, policy) : NONE;
}

/** Throws ToolPolicyError when the command or any argument breaks the policy. */
export function checkToolInvocation(command: string, argv: readonly string[], policy: ToolPolicy = DEFAULT_TOOL_POLICY): void {
  checkCommand(command, policy);
  checkArgv(command, argv, policy);
}

/** Tokenises (when given a string) and checks a SnoopyJob's command and args. */
export function parseToolInvocation(
  command: string,
  args: string | readonly string[],
  policy: ToolPolicy = DEFAULT_TOOL_POLICY,
): { command: string; argv: string[]; writesPcapToStdout: boolean } {
  checkCommand(command, policy);
  const argv = typeof args === 'string' ? tokenizeArgs(args) : [...args];
  const { writesPcapToStdout } = checkArgv(command, argv, policy);
  return { command, argv, writesPcapToStdout };
}
