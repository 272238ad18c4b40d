// The analyzer's summaries (functions/analyzer/README.md) as tables (pure).
import type { Summary } from '../lib/api/analysis-summary.js';
import { humanBytes, table } from './output.js';

export interface TargetSummary {
  /** "podNamespace/pod" (captureId) */
  target: string;
  key: string;
  summary: Summary;
}

/** "…/captureId/podNs/pod.summary.json" → "podNs/pod (captureId)" */
export function targetOfSummaryKey(key: string): string {
  const parts = key.replace(/\.summary\.json$/, '').split('/');
  const [cid, ns, pod] = parts.slice(-3);
  return pod && ns ? `${ns}/${pod}${cid ? ` (${cid})` : ''}` : key;
}

const pct = (r: number | undefined) => (r === undefined ? '-' : `${(r * 100).toFixed(1)}%`);
const ratio = (a: number | undefined, b: number | undefined) => `${a ?? 0}/${b ?? 0}`;

export function summaryTables(items: TargetSummary[]): string {
  const overview = table(
    ['TARGET', 'PACKETS', 'BYTES', 'NOT IP', 'TCP OK/ATTEMPTS', 'REFUSED', 'UNANSWERED', 'RETRANS', 'DNS FAILED/QUERIES', 'PING REPLIES/REQUESTS', 'ERRORS'],
    items.map(({ target, summary: s }) => [
      target,
      String(s.packets),
      humanBytes(s.bytes),
      s.nonIpPackets > 0 ? `${s.nonIpPackets} ${pct(s.nonIpPackets / s.packets)}` : '0',
      `${ratio(s.tcp?.established, s.tcp?.attempted)} ${pct(s.tcp?.successRate)}`,
      String(s.tcp?.refused ?? 0),
      String(s.tcp?.unanswered ?? 0),
      `${s.tcp?.retransmissions ?? 0} ${pct(s.tcp?.retransmissionRate)}`,
      ratio((s.dns?.failed ?? 0) + (s.dns?.unanswered ?? 0), s.dns?.queries),
      ratio(s.icmp?.echoReplies, s.icmp?.echoRequests),
      String(s.errors?.length ?? 0),
    ]),
  );
  const rows: string[][] = [];
  for (const { target, summary: s } of items) {
    for (const d of s.headline?.destinations ?? []) {
      rows.push([target, d.destination, (d.names ?? []).join(',') || '-', String(d.attempted), String(d.established), String(d.refused), String(d.unanswered), pct(d.successRate)]);
    }
  }
  const destinations = rows.length > 0 ? `\n${table(['TARGET', 'DESTINATION', 'NAMES', 'ATTEMPTED', 'ESTABLISHED', 'REFUSED', 'UNANSWERED', 'SUCCESS'], rows)}` : '';
  // what the analyzer could not read, and why: without it a capture of other traffic reads as "no TCP"
  const unread = items
    .filter(({ summary: s }) => s.nonIpPackets > 0 || Object.keys(s.decodeProblems).length > 0)
    .map(({ target, summary: s }) => {
      const why = [...Object.entries(s.nonIpTypes), ...Object.entries(s.decodeProblems)].map(([what, n]) => `${n} ${what}`);
      return `${target}: not read as IP: ${why.join(', ') || `${s.nonIpPackets} packets`}`;
    });
  return overview + destinations + (unread.length > 0 ? `\n${unread.join('\n')}\n` : '');
}
