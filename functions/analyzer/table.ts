// The human-readable form of a summary (`snoopy-analyzer summarize` without --json).
import type { Summary } from '../../lib/api/analysis-summary.js';

function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${(x * 100).toFixed(1)}%`;
}

function ms(x: number | undefined): string {
  return x === undefined ? '-' : `${x.toFixed(3)} ms`;
}

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** What could not be read: the share of frames not read as IP and why, then the frames whose
 *  headers were cut short or malformed. */
function undecoded(s: Summary): string[] {
  const share = s.packets > 0 ? ` (${((s.nonIpPackets / s.packets) * 100).toFixed(1)}%)` : '';
  const reasons = Object.entries(s.nonIpTypes).map(([type, n]) => `${n} ${type}`);
  const problems = Object.entries(s.decodeProblems).map(([why, n]) => `${n} ${why}`);
  const lines = [`Not read as IP: ${s.nonIpPackets} of ${s.packets} packets${share}${reasons.length > 0 ? `: ${reasons.join(', ')}` : ''}`];
  if (problems.length > 0) lines.push(`Decode problems: ${problems.join(', ')}`);
  return lines;
}

export function formatSummary(s: Summary, maxFlows = 20): string {
  const out: string[] = [];
  out.push(`Capture: ${s.packets} packets, ${s.bytes} bytes, ${s.start ?? '-'} .. ${s.end ?? '-'} (${s.durationSeconds} s)${s.truncated ? ', TRUNCATED' : ''}`);
  const t = s.tcp;
  out.push(
    `TCP: ${t.attempted} attempted, ${t.established} established, ${t.refused} refused, ${t.unanswered} unanswered` +
      ` (success ${pct(t.successRate)}); ${t.retransmissions} retransmissions (${pct(t.retransmissionRate)}); handshake RTT avg ${ms(t.handshakeRtt.avgMs)}`,
  );
  const d = s.dns;
  out.push(`DNS: ${d.queries} queries, ${d.answered} answered, ${d.failed} failed, ${d.unanswered} unanswered (failure ${pct(d.failureRate)}); latency avg ${ms(d.latency.avgMs)}`);
  const i = s.icmp;
  out.push(`ICMP: ${i.echoRequests} echo requests, ${i.echoReplies} replies, ${i.echoLost} lost; RTT avg ${ms(i.rtt.avgMs)}; ${i.unreachable} unreachable`);
  out.push(...undecoded(s));
  if (s.headline.destinations.length > 0) {
    out.push('', 'Destinations (TCP):');
    out.push(
      table([
        ['DESTINATION', 'NAMES', 'ATTEMPTED', 'ESTABLISHED', 'REFUSED', 'UNANSWERED', 'SUCCESS'],
        ...s.headline.destinations.map((x) => [
          x.destination,
          x.names?.join(',') ?? '',
          String(x.attempted),
          String(x.established),
          String(x.refused),
          String(x.unanswered),
          pct(x.successRate),
        ]),
      ]).trimEnd(),
    );
  }
  if (s.headline.topTalkers.length > 0) {
    out.push('', 'Top talkers:');
    out.push(
      table([
        ['IP', 'NAMES', 'PACKETS', 'BYTES', 'SENT', 'RECEIVED'],
        ...s.headline.topTalkers.map((x) => [x.ip, x.names?.join(',') ?? '', String(x.packets), String(x.bytes), String(x.sentBytes), String(x.receivedBytes)]),
      ]).trimEnd(),
    );
  }
  if (s.flows.length > 0) {
    out.push('', `Flows (${Math.min(maxFlows, s.flows.length)} of ${s.flowCount}, largest first):`);
    out.push(
      table([
        ['PROTO', 'CLIENT', 'SERVER', 'PACKETS', 'BYTES', 'STATE', 'RTT', 'RETRANS'],
        ...s.flows.slice(0, maxFlows).map((f) => [
          f.protocol,
          f.client,
          f.server,
          String(f.packets),
          String(f.bytes),
          f.state,
          f.tcp?.handshakeRttMs === undefined ? '' : ms(f.tcp.handshakeRttMs),
          f.tcp ? String(f.tcp.retransmissions) : '',
        ]),
      ]).trimEnd(),
    );
  }
  if (s.errors.length > 0) out.push('', 'Errors:', ...s.errors.map((e) => `  ${e}`));
  return out.join('\n') + '\n';
}
