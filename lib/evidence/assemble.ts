// From the sources a snapshot read to its counters, and from two snapshots to the evidence
// object with its summary at the top. Pure.
import {
  filterConntrack, iptablesDropRules, iptablesTables, nftDropRules, parseConntrackCount, parseConntrackStats, parseProcNetDev, parseProcNetStat, parseQdiscs, parseSysctls,
} from './counters.js';
import { computeDeltas, unusualThings } from './deltas.js';
import { EVIDENCE_SCHEMA_VERSION, type Evidence, type Snapshot, type SnapshotCounters, type SourceResult } from './schema.js';

function ok(s: SourceResult | undefined): s is SourceResult {
  return s?.status === 'ok';
}

export function countersOf(sources: Record<string, SourceResult>, conntrackMax?: number): SnapshotCounters {
  const { snmp, netstat, dev, qdiscs, nft, iptables, conntrackStats, conntrackCount, sysctls } = sources;
  const merged: SnapshotCounters['snmp'] = {};
  for (const s of [snmp, netstat]) if (ok(s) && s.text) Object.assign(merged, parseProcNetStat(s.text));
  const qdiscDrops: Record<string, number> = {};
  if (ok(qdiscs)) for (const q of parseQdiscs(qdiscs.json)) qdiscDrops[`${q.dev} ${q.handle} ${q.kind}`] = q.drops;
  const entries = ok(conntrackCount) && conntrackCount.text !== undefined ? parseConntrackCount(conntrackCount.text) : undefined;
  const iptablesRules = ok(iptables) && iptables.text ? iptablesDropRules(iptables.text) : [];
  // iptables-nft's tables are nft `ip` tables as well: their rules are counted once, as iptables-save prints them
  const fromIptables = ok(iptables) && iptables.text ? iptablesTables(iptables.text) : new Set<string>();
  const nftRules = (ok(nft) ? nftDropRules(nft.json) : []).filter((r) => !fromIptables.has(/^ip (\S+) /.exec(r.id)?.[1] ?? ''));
  return {
    snmp: merged,
    interfaces: ok(dev) && dev.text ? parseProcNetDev(dev.text) : {},
    conntrack: ok(conntrackStats) && conntrackStats.text ? parseConntrackStats(conntrackStats.text) : {},
    ...(entries !== undefined ? { conntrackEntries: entries } : {}),
    ...(conntrackMax !== undefined ? { conntrackMax } : {}),
    qdiscDrops,
    dropRules: [...nftRules, ...iptablesRules],
    ...(ok(sysctls) && sysctls.text ? { sysctls: parseSysctls(sysctls.text) } : {}),
  };
}

/** "name: status (why)" for every source of a snapshot that could not be read. */
export function missingSources(label: string, snap: Snapshot): string[] {
  return Object.entries(snap.sources)
    .filter(([, s]) => s.status !== 'ok')
    .map(([name, s]) => `${label} ${name}: ${s.status}${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}${s.stderr ? ` (${s.stderr.trim().split('\n')[0]!.slice(0, 200)})` : ''}`);
}

export interface EvidenceIdentity {
  captureId: string;
  pod: string;
  namespace: string;
  node?: string;
  podIPs: string[];
  labels?: Record<string, string>;
  services?: Evidence['services'];
}

/** The netns's global addresses (`ip -j addr`): the pod's IPs when the API was not read. */
export function globalAddresses(addresses: SourceResult | undefined): string[] {
  if (!ok(addresses) || !Array.isArray(addresses.json)) return [];
  const out: string[] = [];
  for (const link of addresses.json as Array<{ addr_info?: Array<{ local?: string; scope?: string }> }>) {
    for (const a of link.addr_info ?? []) if (a.scope === 'global' && a.local) out.push(a.local);
  }
  return out;
}

/** A snapshot's conntrack entries cut to those of the pod's IPs (all kept when none is known). */
function conntrackOfPod(snap: Snapshot, podIPs: readonly string[]): Snapshot {
  const s = snap.sources.conntrack;
  if (podIPs.length === 0 || !ok(s) || s.text === undefined) return snap;
  return { ...snap, sources: { ...snap.sources, conntrack: { ...s, ...filterConntrack(s.text, podIPs) } } };
}

export function buildEvidence(id: EvidenceIdentity, before: Snapshot, after: Snapshot | undefined, problems: readonly string[] = []): Evidence {
  // no deltas from a second snapshot that could not read the counters (the netns was gone): its
  // zeros would read as "nothing happened"
  const deltas = after && ok(after.sources.snmp) && ok(before.sources.snmp) ? computeDeltas(before.counters, after.counters) : undefined;
  if (id.podIPs.length === 0) id = { ...id, podIPs: globalAddresses(before.sources.addresses) };
  before = conntrackOfPod(before, id.podIPs);
  if (after) after = conntrackOfPod(after, id.podIPs);
  const missing = [...problems, ...missingSources('before', before), ...(after ? missingSources('after', after) : ['after: no second snapshot'])];
  return {
    schemaVersion: EVIDENCE_SCHEMA_VERSION,
    ...id,
    summary: {
      ...(after ? { secondsBetween: Math.round((Date.parse(after.takenAt) - Date.parse(before.takenAt)) / 10) / 100 } : {}),
      ...(deltas ? { deltas } : {}),
      unusual: unusualThings(after ?? before, id.podIPs, deltas),
      missing,
    },
    before,
    ...(after ? { after } : {}),
  };
}
