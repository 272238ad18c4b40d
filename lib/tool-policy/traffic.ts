// The flood limits shared by the traffic generators (SNOOPY_TRAFFIC_CIDRS): a target must be an
// IP address inside the configured CIDRs, because a host name could resolve anywhere.

import { inCidrs, type ToolPolicy } from './config.js';
import { refuseArg } from './errors.js';

/** Refuses `host` (an iperf/ping/curl/traceroute target) outside SNOOPY_TRAFFIC_CIDRS, when set. */
export function checkTrafficTarget(tool: string, what: string, host: string, policy: ToolPolicy): void {
  const cidrs = policy.trafficCidrs;
  if (cidrs === undefined) return;
  // "[fd00::1]" (URLs), "10.0.0.1%eth0" (iperf's host%dev) and "fe80::1%eth0" (scoped) name the address before the %.
  const address = host.replace(/^\[(.*)\]$/, '$1').split('%')[0]!;
  if (!inCidrs(address, cidrs)) {
    refuseArg(tool, what, `targets "${host}", which is not an IP address inside SNOOPY_TRAFFIC_CIDRS (${cidrs.join(', ')})`);
  }
}
