// What a snapshot runs in the target's network namespace: fixed argv, each checked by the tool
// policy before it runs (never a shell). The job's allowlist applies, plus the read-only listing
// tools only the evidence uses (nft and iptables-save, whose rules in lib/tool-policy allow
// nothing but listing), so a policy that forbids ss, say, leaves ss out of the evidence too.
import type { ToolPolicy } from '../tool-policy.js';

export interface SnapshotCommand {
  /** the name of the source in the snapshot */
  name: string;
  command: string;
  argv: readonly string[];
  /** the output is JSON (parsed into the source's `json`) */
  json?: boolean;
}

export const SNAPSHOT_COMMANDS: readonly SnapshotCommand[] = Object.freeze([
  { name: 'addresses', command: 'ip', argv: ['-j', '-s', 'addr', 'show'], json: true },
  { name: 'links', command: 'ip', argv: ['-j', '-s', 'link', 'show'], json: true },
  { name: 'routes', command: 'ip', argv: ['-j', 'route', 'show', 'table', 'all'], json: true },
  { name: 'routes6', command: 'ip', argv: ['-j', '-6', 'route', 'show', 'table', 'all'], json: true },
  { name: 'rules', command: 'ip', argv: ['-j', 'rule', 'show'], json: true },
  { name: 'neighbours', command: 'ip', argv: ['-j', 'neigh', 'show'], json: true },
  /** forwarding and rp_filter per interface (the netns's net.ipv4.conf.* sysctls) */
  { name: 'netconf', command: 'ip', argv: ['-j', 'netconf', 'show'], json: true },
  { name: 'qdiscs', command: 'tc', argv: ['-j', '-s', 'qdisc', 'show'], json: true },
  // without -p: the policy refuses it (it reads every process's /proc entry), and the sandbox's
  // /proc shows no process of the target anyway
  { name: 'sockets', command: 'ss', argv: ['-tuanie'] },
  { name: 'nft', command: 'nft', argv: ['-j', 'list', 'ruleset'], json: true },
  { name: 'iptables', command: 'iptables-save', argv: ['-c'] },
  { name: 'conntrackStats', command: 'conntrack', argv: ['-S'] },
  { name: 'conntrackCount', command: 'conntrack', argv: ['-C'] },
  { name: 'conntrack', command: 'conntrack', argv: ['-L'] },
]);

/** Tools only the evidence runs, read-only by their policy rules. */
export const EVIDENCE_READ_ONLY_TOOLS: readonly string[] = Object.freeze(['nft', 'iptables-save']);

/** The policy snapshot commands are checked against: the job's, plus the read-only listing tools. */
export function evidencePolicy(policy: ToolPolicy): ToolPolicy {
  return { ...policy, allowMutating: false, allowedTools: [...new Set([...policy.allowedTools, ...EVIDENCE_READ_ONLY_TOOLS])] };
}

/** Files read from the target's /proc entry (they show its network namespace), and its resolv.conf. */
export const SNAPSHOT_FILES: ReadonlyArray<{ name: string; path: string }> = Object.freeze([
  { name: 'snmp', path: 'net/snmp' },
  { name: 'netstat', path: 'net/netstat' },
  { name: 'dev', path: 'net/dev' },
  { name: 'snmp6', path: 'net/snmp6' },
  { name: 'resolvConf', path: 'root/etc/resolv.conf' },
]);
