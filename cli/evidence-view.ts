// `kubectl snoopy evidence` as text (pure): per target, the deltas first, then what is unusual,
// then what could not be read.
import type { Evidence, EvidenceDeltas } from '../lib/evidence/schema.js';

export interface TargetEvidence {
  /** podNamespace/pod */
  target: string;
  key: string;
  evidence: Evidence;
}

function deltaLines(d: EvidenceDeltas): string[] {
  const line = (label: string, n: number) => `  ${label.padEnd(28)} ${n}`;
  const out = [
    line('TCP retransmits', d.tcpRetransmits),
    line('TCP resets sent', d.tcpOutResets),
    line('TCP established resets', d.tcpEstabResets),
    line('TCP listen drops', d.tcpListenDrops),
    line('TCP listen overflows', d.tcpListenOverflows),
    line('UDP receive errors', d.udpInErrors),
    line('UDP receive buffer errors', d.udpRcvbufErrors),
    line('conntrack inserts', d.conntrackInserts),
    line('conntrack drops', d.conntrackDrops),
  ];
  for (const [iface, n] of Object.entries(d.interfaceDrops)) out.push(`  ${`drops on ${iface}`.padEnd(28)} rx ${n.rx}, tx ${n.tx}`);
  for (const [q, n] of Object.entries(d.qdiscDrops)) out.push(line(`qdisc drops ${q}`, n));
  for (const [rule, n] of Object.entries(d.dropRulePackets)) out.push(`  DROP rule ${rule}: ${n} packets`);
  return out;
}

export function evidenceText(items: readonly TargetEvidence[]): string {
  const out: string[] = [];
  for (const { target, key, evidence: e } of items) {
    out.push(`${target}  (capture ${e.captureId}${e.node ? `, node ${e.node}` : ''}, IPs ${e.podIPs.join(' ') || 'unknown'})`);
    out.push(`  ${key}`);
    const s = e.summary;
    if (s.deltas) {
      out.push(`Deltas over ${s.secondsBetween ?? '?'} s between the snapshots:`);
      out.push(...deltaLines(s.deltas));
    } else {
      out.push('Deltas: none (the second snapshot could not read the counters)');
    }
    out.push(s.unusual.length > 0 ? 'Unusual:' : 'Unusual: nothing');
    for (const u of s.unusual) out.push(`  - ${u}`);
    if (e.services && e.services.length > 0) out.push(`Services: ${e.services.map((v) => `${v.namespace}/${v.name} (${v.clusterIPs.join(' ') || 'headless'})`).join(', ')}`);
    if (s.missing.length > 0) {
      out.push('Not read:');
      for (const m of s.missing) out.push(`  - ${m}`);
    }
    out.push('');
  }
  return out.join('\n');
}
