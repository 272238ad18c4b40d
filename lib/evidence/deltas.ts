// Deltas between a target's two snapshots, and the unusual things the evidence shows. Pure.
import type { EvidenceDeltas, Snapshot, SnapshotCounters } from './schema.js';

function snmp(c: SnapshotCounters, group: string, name: string): number {
  return c.snmp[group]?.[name] ?? 0;
}

/** after − before, never negative (a counter that went back was reset: its new value counts). */
function diff(after: number, before: number): number {
  return after >= before ? after - before : after;
}

export function computeDeltas(before: SnapshotCounters, after: SnapshotCounters): EvidenceDeltas {
  const d = (group: string, name: string) => diff(snmp(after, group, name), snmp(before, group, name));
  const interfaceDrops: EvidenceDeltas['interfaceDrops'] = {};
  for (const [name, a] of Object.entries(after.interfaces)) {
    const b = before.interfaces[name];
    const rx = diff(a.rxDropped, b?.rxDropped ?? 0);
    const tx = diff(a.txDropped, b?.txDropped ?? 0);
    if (rx > 0 || tx > 0) interfaceDrops[name] = { rx, tx };
  }
  const qdiscDrops: Record<string, number> = {};
  for (const [q, n] of Object.entries(after.qdiscDrops)) {
    const delta = diff(n, before.qdiscDrops[q] ?? 0);
    if (delta > 0) qdiscDrops[q] = delta;
  }
  const dropRulePackets: Record<string, number> = {};
  const beforeRules = new Map(before.dropRules.map((r) => [r.id, r.packets ?? 0]));
  for (const r of after.dropRules) {
    if (r.packets === undefined) continue;
    const delta = diff(r.packets, beforeRules.get(r.id) ?? 0);
    if (delta > 0) dropRulePackets[r.id] = delta;
  }
  const ct = (k: string) => diff(after.conntrack[k] ?? 0, before.conntrack[k] ?? 0);
  return {
    tcpRetransmits: d('Tcp', 'RetransSegs'),
    tcpOutResets: d('Tcp', 'OutRsts'),
    tcpEstabResets: d('Tcp', 'EstabResets'),
    tcpListenDrops: d('TcpExt', 'ListenDrops'),
    tcpListenOverflows: d('TcpExt', 'ListenOverflows'),
    udpInErrors: d('Udp', 'InErrors'),
    udpRcvbufErrors: d('Udp', 'RcvbufErrors'),
    interfaceDrops,
    qdiscDrops,
    conntrackInserts: ct('insert'),
    conntrackDrops: ct('drop') + ct('early_drop') + ct('insert_failed'),
    dropRulePackets,
  };
}

/** A conntrack table this full is near the point where new flows are dropped. */
export const CONNTRACK_NEAR_FULL = 0.9;

/** Whether a rule's text names one of the pod's addresses (as a whole address or its prefix). */
function namesAddress(matches: readonly string[], ips: readonly string[]): boolean {
  return matches.some((m) => ips.some((ip) => new RegExp(`(^|[^0-9a-fA-F:.])${ip.replace(/[.]/g, '\\.')}([^0-9a-fA-F:.]|$)`).test(m)));
}

/** What looks wrong in a snapshot (the last one taken): said in words, for people. */
export function unusualThings(snap: Snapshot, podIPs: readonly string[], deltas?: EvidenceDeltas): string[] {
  const out: string[] = [];
  const routes = snap.sources.routes;
  if (routes?.status === 'ok' && Array.isArray(routes.json)) {
    const main = (routes.json as Array<Record<string, unknown>>).filter((r) => r.table === undefined || r.table === 'main');
    if (!main.some((r) => r.dst === 'default')) out.push('no default route in the main table');
  }
  for (const r of snap.counters.dropRules) {
    const moved = deltas?.dropRulePackets[r.id];
    if (namesAddress(r.matches, podIPs)) {
      out.push(`DROP rule matching the pod: ${r.id} (${r.matches.join(', ')})${moved ? `, ${moved} packets dropped during the capture` : ''}`);
    } else if (moved) {
      out.push(`DROP rule dropped ${moved} packets during the capture: ${r.id} (${r.matches.join(', ') || 'no match: every packet'})`);
    }
  }
  const { conntrackEntries: n, conntrackMax: max } = snap.counters;
  if (n !== undefined && max !== undefined && max > 0 && n >= CONNTRACK_NEAR_FULL * max) {
    out.push(`conntrack table near full: ${n} of ${max} entries`);
  }
  if (deltas && deltas.conntrackDrops > 0) out.push(`conntrack dropped ${deltas.conntrackDrops} flows during the capture`);
  if (deltas && deltas.tcpListenOverflows > 0) out.push(`listen queue overflowed ${deltas.tcpListenOverflows} times during the capture`);
  return out;
}
