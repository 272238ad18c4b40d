// Names for addresses, from a target's evidence: its own IPs are the pod, the cluster IPs of the
// Services whose endpoints include it are those Services, and the peers the API named (the remote
// ends of its sockets and conntrack entries) are theirs. Used by the analyzer to name flows. Pure.
import { conntrackAddresses } from './counters.js';
import type { Evidence, Snapshot } from './schema.js';

export function addressNames(e: Pick<Evidence, 'pod' | 'namespace' | 'podIPs' | 'services' | 'peers'>): Map<string, string> {
  const names = new Map<string, string>();
  for (const p of e.peers ?? []) names.set(p.ip, `${p.kind} ${p.namespace}/${p.name}`);
  for (const s of e.services ?? []) for (const ip of s.clusterIPs) names.set(ip, `service ${s.namespace}/${s.name}`);
  for (const ip of e.podIPs) names.set(ip, `pod ${e.namespace}/${e.pod}`);
  return names;
}

/** The address of an endpoint as flows write it: "IP:PORT", "[v6]:PORT" or "IP". */
export function endpointAddress(endpoint: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(endpoint);
  if (v6) return v6[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::\d+)?$/.exec(endpoint);
  return v4 ? v4[1]! : endpoint;
}

/** How many peers are looked up in the API at most, per target and run. */
export const MAX_PEERS = 256;

/** "10.0.0.1:80", "[fd00::1]:80", "[::ffff:10.0.0.1]:80", "fe80::1%eth0:80", "*:*" → the address, or undefined. */
function ssAddress(field: string): string | undefined {
  const m = /^\[?(.*?)\]?:(?:\d+|\*)$/.exec(field);
  if (!m) return undefined;
  const address = m[1]!.replace(/%.*$/, '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1').toLowerCase();
  return address === '*' || address === '' ? undefined : address;
}

/** An address that names no other host: unspecified or loopback. */
function local(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '::1' || address.startsWith('127.');
}

/**
 * The remote addresses the pod talked to, first seen first: the peer column of `ss` and the
 * addresses of its conntrack entries (the cluster IP a client dialled, the pod its connection was
 * translated to), less the pod's own IPs and local addresses; at most `limit`.
 */
export function peerAddresses(podIPs: readonly string[], snapshots: ReadonlyArray<Snapshot | undefined>, limit = MAX_PEERS): string[] {
  const own = new Set(podIPs.map((ip) => ip.toLowerCase()));
  const out = new Set<string>();
  const add = (a: string | undefined) => {
    if (a !== undefined && out.size < limit && !own.has(a) && !local(a)) out.add(a);
  };
  for (const snap of snapshots) {
    const sockets = snap?.sources.sockets;
    if (sockets?.status === 'ok' && sockets.text) {
      for (const line of sockets.text.split('\n')) {
        // Netid State Recv-Q Send-Q Local:Port Peer:Port …
        const f = /^(?:tcp|udp)\s+\S+\s+\d+\s+\d+\s+(\S+)\s+(\S+)/.exec(line);
        if (f) add(ssAddress(f[2]!));
      }
    }
    const conntrack = snap?.sources.conntrack;
    if (conntrack?.status === 'ok' && conntrack.text) for (const line of conntrack.text.split('\n')) for (const a of conntrackAddresses(line)) add(a);
  }
  return [...out];
}
