// The policy's configuration: which tools may run and whether write rules are lifted, read from
// the environment the same way by the operator (validating specs) and podtracer (enforcing).

export const DEFAULT_ALLOWED_TOOLS: readonly string[] = Object.freeze([
  'tcpdump', 'iperf3', 'iperf', 'ip', 'ss', 'ping', 'tracepath', 'traceroute', 'nstat', 'tc',
  'ethtool', 'conntrack', 'dig', 'nslookup', 'curl',
]);

export interface ToolPolicy {
  allowedTools: readonly string[];
  /** Lifts the write rules of ip, tc, ethtool and conntrack (never the file/command rules). */
  allowMutating: boolean;
}

export const DEFAULT_TOOL_POLICY: ToolPolicy = Object.freeze({ allowedTools: DEFAULT_ALLOWED_TOOLS, allowMutating: false });

/** SNOOPY_ALLOWED_TOOLS (comma or space separated) and SNOOPY_ALLOW_MUTATING_TOOLS=true. */
export function toolPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ToolPolicy {
  const raw = env.SNOOPY_ALLOWED_TOOLS?.trim();
  const allowedTools = raw ? Object.freeze(raw.split(/[\s,]+/).filter((t) => t !== '')) : DEFAULT_ALLOWED_TOOLS;
  const allowMutating = /^(true|1|yes)$/i.test(env.SNOOPY_ALLOW_MUTATING_TOOLS?.trim() ?? '');
  return { allowedTools, allowMutating };
}
