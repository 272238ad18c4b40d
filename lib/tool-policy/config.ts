// The policy's configuration: which tools may run, whether write rules are lifted, and the
// cluster-level flood limits. Read from the environment the same way by the operator (validating
// specs) and podtracer (enforcing); the operator hands it to capture Jobs with toolPolicyEnv, so
// the two always agree.

import { BlockList, isIP } from 'node:net';

export const DEFAULT_ALLOWED_TOOLS: readonly string[] = Object.freeze([
  'tcpdump', 'iperf3', 'iperf', 'ip', 'ss', 'ping', 'tracepath', 'traceroute', 'nstat', 'tc',
  'ethtool', 'conntrack', 'dig', 'nslookup', 'curl',
]);

/** How many URLs one curl URL glob ("[1-100]", "{a,b}") may expand to, unless configured. */
export const DEFAULT_MAX_CURL_URLS = 100;

export interface ToolPolicy {
  allowedTools: readonly string[];
  /** Lifts the write rules of ip, tc, ethtool, conntrack and ss -K (never the file/command rules). */
  allowMutating: boolean;
  /** SNOOPY_MIN_PING_INTERVAL: ping -i below this many seconds, and ping -f, are refused. */
  minPingIntervalSeconds?: number;
  /**
   * SNOOPY_TRAFFIC_CIDRS: targets of traffic generators (iperf3, iperf, ping, curl, traceroute,
   * tracepath) must be IP addresses inside these CIDRs; unset: any target.
   */
  trafficCidrs?: readonly string[];
  /** SNOOPY_MAX_CURL_URLS: the most URLs curl's URL globbing may expand to (default 100). */
  maxCurlUrls?: number;
}

/** The environment variables that carry a ToolPolicy, from the operator to capture containers. */
export const ToolPolicyEnv = {
  allowedTools: 'SNOOPY_ALLOWED_TOOLS',
  allowMutating: 'SNOOPY_ALLOW_MUTATING_TOOLS',
  minPingInterval: 'SNOOPY_MIN_PING_INTERVAL',
  trafficCidrs: 'SNOOPY_TRAFFIC_CIDRS',
  maxCurlUrls: 'SNOOPY_MAX_CURL_URLS',
} as const;

export const DEFAULT_TOOL_POLICY: ToolPolicy = Object.freeze({ allowedTools: DEFAULT_ALLOWED_TOOLS, allowMutating: false });

/** A bad policy setting: the process refuses to start rather than enforce something else. */
export class ToolPolicyConfigError extends Error {
  override name = 'ToolPolicyConfigError';
}

function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address, prefixText, extra] = text.split('/');
  const v = isIP(address ?? '');
  const max = v === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (v === 0 || extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new ToolPolicyConfigError(`SNOOPY_TRAFFIC_CIDRS: "${text}" is not a CIDR (like 10.0.0.0/8 or fd00::/8)`);
  }
  return { address: address!, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * SNOOPY_ALLOWED_TOOLS (comma or space separated), SNOOPY_ALLOW_MUTATING_TOOLS=true,
 * SNOOPY_MIN_PING_INTERVAL (seconds), SNOOPY_TRAFFIC_CIDRS (comma or space separated CIDRs),
 * SNOOPY_MAX_CURL_URLS (a whole number). Throws ToolPolicyConfigError on a malformed value.
 */
export function toolPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ToolPolicy {
  const raw = env[ToolPolicyEnv.allowedTools]?.trim();
  const allowedTools = raw ? Object.freeze(raw.split(/[\s,]+/).filter((t) => t !== '')) : DEFAULT_ALLOWED_TOOLS;
  const allowMutating = /^(true|1|yes)$/i.test(env[ToolPolicyEnv.allowMutating]?.trim() ?? '');
  const policy: ToolPolicy = { allowedTools, allowMutating };
  const ping = env[ToolPolicyEnv.minPingInterval]?.trim();
  if (ping) {
    if (!/^\d+(\.\d+)?$/.test(ping)) throw new ToolPolicyConfigError(`SNOOPY_MIN_PING_INTERVAL: "${ping}" is not a number of seconds (like 0.2)`);
    policy.minPingIntervalSeconds = Number(ping);
  }
  const cidrs = env[ToolPolicyEnv.trafficCidrs]?.trim();
  if (cidrs) {
    const list = cidrs.split(/[\s,]+/).filter((c) => c !== '');
    list.forEach(parseCidr);
    policy.trafficCidrs = Object.freeze(list);
  }
  const urls = env[ToolPolicyEnv.maxCurlUrls]?.trim();
  if (urls) {
    if (!/^\d+$/.test(urls) || Number(urls) < 1) throw new ToolPolicyConfigError(`SNOOPY_MAX_CURL_URLS: "${urls}" is not a whole number of at least 1`);
    policy.maxCurlUrls = Number(urls);
  }
  return Object.freeze(policy);
}

/** The environment that makes toolPolicyFromEnv return `policy` again (for capture Jobs). */
export function toolPolicyEnv(policy: ToolPolicy): Array<{ name: string; value: string }> {
  const env: Array<{ name: string; value: string }> = [
    { name: ToolPolicyEnv.allowedTools, value: policy.allowedTools.join(',') },
    { name: ToolPolicyEnv.allowMutating, value: String(policy.allowMutating) },
  ];
  if (policy.minPingIntervalSeconds !== undefined) env.push({ name: ToolPolicyEnv.minPingInterval, value: String(policy.minPingIntervalSeconds) });
  if (policy.trafficCidrs !== undefined) env.push({ name: ToolPolicyEnv.trafficCidrs, value: policy.trafficCidrs.join(',') });
  if (policy.maxCurlUrls !== undefined) env.push({ name: ToolPolicyEnv.maxCurlUrls, value: String(policy.maxCurlUrls) });
  return env;
}

/** True when `address` (an IP literal) lies in one of `cidrs`. */
export function inCidrs(address: string, cidrs: readonly string[]): boolean {
  const v = isIP(address);
  if (v === 0) return false;
  const list = new BlockList();
  for (const c of cidrs) {
    const { address: a, prefix, family } = parseCidr(c);
    list.addSubnet(a, prefix, family);
  }
  return list.check(address, v === 4 ? 'ipv4' : 'ipv6');
}
