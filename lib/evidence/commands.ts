// What a snapshot runs in the target's network namespace: fixed argv, each checked by the tool
// policy before it runs (never a shell). The job's allowlist applies, plus the read-only listing
// tools only the evidence uses (nft, iptables-save and sysctl, whose rules in lib/tool-policy
// allow nothing but listing or reading net.* keys), so a policy that forbids ss, say, leaves ss
// out of the evidence too.
import type { ToolPolicy } from '../tool-policy.js';

export interface SnapshotCommand {
  /** the name of the source in the snapshot */
  name: string;
  command: string;
  argv: readonly string[];
  /** the output is JSON (parsed into the source's `json`) */
  json?: boolean;
}

/**
 * The network namespace's own sysctls that explain connection behaviour (each is per namespace in
 * Linux; -e skips one this kernel lacks, nf_conntrack's before the module is loaded). Forwarding
 * and rp_filter per interface are in `ip netconf` too.
 */
export const SNAPSHOT_SYSCTLS: readonly string[] = Object.freeze([
  'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter', 'net.ipv6.conf.all.forwarding',
  'net.ipv4.ip_local_port_range', 'net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_syn_retries', 'net.ipv4.tcp_synack_retries', 'net.ipv4.tcp_retries2', 'net.ipv4.tcp_orphan_retries',
  'net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_timestamps', 'net.ipv4.tcp_sack', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem',
  'net.netfilter.nf_conntrack_tcp_timeout_established', 'net.netfilter.nf_conntrack_tcp_timeout_time_wait', 'net.netfilter.nf_conntrack_udp_timeout',
]);

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
  // without -p: the sandbox's fresh /proc shows none of the target's processes (and its cut
  // capabilities could not read their fd tables); podtracer names each socket's processes itself
  // from the inodes -e prints (socketOwners, podtracer/evidence.ts)
  { name: 'sockets', command: 'ss', argv: ['-tuanie'] },
  { name: 'nft', command: 'nft', argv: ['-j', 'list', 'ruleset'], json: true },
  { name: 'iptables', command: 'iptables-save', argv: ['-c'] },
  // read by a process in the namespace: /proc/sys/net shows the reader's network namespace,
  // whoever's /proc it is reached through
  { name: 'sysctls', command: 'sysctl', argv: ['-e', ...SNAPSHOT_SYSCTLS] },
  { name: 'conntrackStats', command: 'conntrack', argv: ['-S'] },
  { name: 'conntrackCount', command: 'conntrack', argv: ['-C'] },
  // both families; kept in the evidence: the entries naming one of the pod's IPs
  { name: 'conntrack', command: 'conntrack', argv: ['-L'] },
]);

/** Tools only the evidence runs, read-only by their policy rules. */
export const EVIDENCE_READ_ONLY_TOOLS: readonly string[] = Object.freeze(['nft', 'iptables-save', 'sysctl']);

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
