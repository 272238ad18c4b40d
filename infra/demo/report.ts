// The demo's verdict and report, as pure functions of what it observed.
import type { ReceivedEvent } from './sink.js';
import type { StoredCapture } from './captures.js';

export interface TargetPod {
  namespace: string;
  name: string;
  node: string;
  ip: string;
}

export interface CaptureJob {
  name: string;
  node: string;
  succeeded: number;
  failed: number;
}

export interface DemoObservation {
  snoopyJob: { namespace: string; name: string; phase: string; message?: string };
  targets: TargetPod[];
  jobs: CaptureJob[];
  captures: StoredCapture[];
  events: ReceivedEvent[];
  seconds: number;
}

export interface Verdict {
  ok: boolean;
  reasons: string[];
}

/** Success means: every target pod has at least one stored pcap with ICMP packets sent from its IP. */
export function verdict(o: DemoObservation): Verdict {
  const reasons: string[] = [];
  if (o.targets.length === 0) reasons.push('no target pods');
  for (const t of o.targets) {
    const mine = o.captures.filter((c) => c.pod === t.name && c.podNamespace === t.namespace);
    const icmp = mine.reduce((n, c) => n + (c.icmpFromTarget ?? 0), 0);
    if (mine.length === 0) reasons.push(`no object stored for ${t.namespace}/${t.name}`);
    else if (icmp === 0) reasons.push(`no ICMP packet from ${t.ip} in the objects of ${t.namespace}/${t.name}`);
  }
  return { ok: reasons.length === 0, reasons };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatReport(o: DemoObservation, v: Verdict): string {
  const lines: string[] = [];
  lines.push(`SnoopyJob ${o.snoopyJob.namespace}/${o.snoopyJob.name}: ${o.snoopyJob.phase}${o.snoopyJob.message ? ` (${o.snoopyJob.message})` : ''}`);
  lines.push('', 'Targets');
  lines.push(table([['POD', 'NODE', 'IP'], ...o.targets.map((t) => [`${t.namespace}/${t.name}`, t.node, t.ip])]));
  lines.push('', 'Capture Jobs');
  lines.push(table([['JOB', 'NODE', 'SUCCEEDED', 'FAILED'], ...o.jobs.map((j) => [j.name, j.node, String(j.succeeded), String(j.failed)])]));
  lines.push('', 'Objects in S3');
  lines.push(
    table([
      ['KEY', 'BYTES', 'PACKETS', 'ICMP', 'ICMP FROM TARGET'],
      ...o.captures.map((c) => [c.key, String(c.bytes), c.packets?.toString() ?? '-', c.icmp?.toString() ?? '-', c.error ? `error: ${c.error}` : (c.icmpFromTarget?.toString() ?? '-')]),
    ]),
  );
  const byType = new Map<string, number>();
  for (const e of o.events) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
  lines.push('', `Events received: ${o.events.length}`);
  if (byType.size > 0) lines.push(table([['TYPE', 'COUNT'], ...[...byType.entries()].sort().map(([t, n]) => [t, String(n)])]));
  lines.push('', v.ok ? `OK: pcaps with ICMP packets from all ${o.targets.length} targets are in S3 (${o.seconds.toFixed(0)} s)` : `FAILED: ${v.reasons.join('; ')}`);
  return lines.join('\n');
}
