// Names for addresses, from a target's evidence: its own IPs are the pod, the cluster IPs of the
// Services whose endpoints include it are those Services. Used by the analyzer to name flows. Pure.
import type { Evidence } from './schema.js';

export function addressNames(e: Pick<Evidence, 'pod' | 'namespace' | 'podIPs' | 'services'>): Map<string, string> {
  const names = new Map<string, string>();
  for (const ip of e.podIPs) names.set(ip, `pod ${e.namespace}/${e.pod}`);
  for (const s of e.services ?? []) for (const ip of s.clusterIPs) names.set(ip, `service ${s.namespace}/${s.name}`);
  return names;
}

/** The address of an endpoint as flows write it: "IP:PORT", "[v6]:PORT" or "IP". */
export function endpointAddress(endpoint: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(endpoint);
  if (v6) return v6[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::\d+)?$/.exec(endpoint);
  return v4 ? v4[1]! : endpoint;
}
