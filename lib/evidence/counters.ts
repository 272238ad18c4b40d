// Parsers for the kernel counters a snapshot reads: /proc/net/snmp and /proc/net/netstat (the same
// header-line / value-line format), /proc/net/dev, `conntrack -S`, `tc -j -s qdisc` and the
// counters of DROP rules in `nft -j list ruleset`. Pure: the text goes in, numbers come out;
// whatever does not parse is left out rather than guessed.

/** "Tcp: RtoAlgorithm …" / "Tcp: 1 …" pairs → { Tcp: { RtoAlgorithm: 1, … } }. */
export function parseProcNetStat(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const group = names[0]!.replace(/:$/, '');
    if (values[0] !== names[0] || names.length !== values.length) continue;
    const row: Record<string, number> = (out[group] ??= {});
    for (let j = 1; j < names.length; j++) {
      const v = Number(values[j]);
      if (Number.isFinite(v)) row[names[j]!] = v;
    }
  }
  return out;
}

export interface InterfaceCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev → counters per interface. */
export function parseProcNetDev(text: string): Record<string, InterfaceCounters> {
  const out: Record<string, InterfaceCounters> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([^\s:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    if (f.length < 16 || f.some((x) => !Number.isFinite(x))) continue;
    out[m[1]!] = { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! };
  }
  return out;
}

/** `conntrack -S` (one line per CPU, key=value) → the sums over CPUs. */
export function parseConntrackStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/([a-z_]+)=(\d+)/g)) {
      if (m[1] === 'cpu') continue;
      out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    }
  }
  return out;
}

/** `conntrack -C` → the number of entries. */
export function parseConntrackCount(text: string): number | undefined {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) ? n : undefined;
}

export interface QdiscCounters {
  dev: string;
  kind: string;
  handle: string;
  drops: number;
  packets: number;
}

/** `tc -j -s qdisc` → drops and packets per qdisc. */
export function parseQdiscs(json: unknown): QdiscCounters[] {
  if (!Array.isArray(json)) return [];
  const out: QdiscCounters[] = [];
  for (const q of json as Array<Record<string, unknown>>) {
    if (typeof q?.dev !== 'string') continue;
    out.push({ dev: q.dev, kind: typeof q.kind === 'string' ? q.kind : '', handle: typeof q.handle === 'string' ? q.handle : '', drops: Number(q.drops ?? 0), packets: Number(q.packets ?? 0) });
  }
  return out;
}

export interface DropRule {
  /** family table chain handle, which names the rule in `nft -a list ruleset` */
  id: string;
  /** the rule's matches as text ("ip saddr == 10.9.0.1", …) */
  matches: string[];
  /** its counter, when it has one */
  packets?: number;
  bytes?: number;
}

function exprText(e: unknown): string {
  if (e === null || typeof e !== 'object') return JSON.stringify(e);
  const o = e as Record<string, unknown>;
  if ('payload' in o) {
    const p = o.payload as Record<string, unknown>;
    return `${String(p.protocol)} ${String(p.field)}`;
  }
  if ('meta' in o) return `meta ${String((o.meta as Record<string, unknown>).key)}`;
  if ('prefix' in o) {
    const p = o.prefix as Record<string, unknown>;
    return `${String(p.addr)}/${String(p.len)}`;
  }
  if ('set' in o && Array.isArray(o.set)) return `{ ${o.set.map(exprText).join(', ')} }`;
  return JSON.stringify(e);
}

/** The rules of `nft -j list ruleset` whose verdict is drop or reject. */
export function nftDropRules(json: unknown): DropRule[] {
  const items = (json as { nftables?: unknown })?.nftables;
  if (!Array.isArray(items)) return [];
  const out: DropRule[] = [];
  for (const item of items as Array<Record<string, unknown>>) {
    const rule = item?.rule as Record<string, unknown> | undefined;
    if (!rule || !Array.isArray(rule.expr)) continue;
    const expr = rule.expr as Array<Record<string, unknown>>;
    if (!expr.some((x) => 'drop' in x || 'reject' in x)) continue;
    const drop: DropRule = { id: `${String(rule.family)} ${String(rule.table)} ${String(rule.chain)} ${String(rule.handle)}`, matches: [] };
    for (const x of expr) {
      if ('match' in x) {
        const m = x.match as Record<string, unknown>;
        drop.matches.push(`${exprText(m.left)} ${String(m.op)} ${exprText(m.right)}`);
      } else if ('counter' in x) {
        const c = x.counter as Record<string, unknown>;
        drop.packets = Number(c.packets);
        drop.bytes = Number(c.bytes);
      }
    }
    out.push(drop);
  }
  return out;
}

/** The lines of `iptables-save -c` that drop or reject: "[packets:bytes] -A CHAIN … -j DROP". */
export function iptablesDropRules(text: string): DropRule[] {
  const out: DropRule[] = [];
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const m = /^(?:\[(\d+):(\d+)\]\s+)?-A\s+(\S+)\s+(.*?)\s*-j\s+(DROP|REJECT)\b/.exec(line);
    if (!m) continue;
    out.push({
      id: `${table} ${m[3]!} ${line.replace(/^\[\d+:\d+\]\s+/, '')}`,
      matches: m[4] ? [m[4]] : [],
      ...(m[1] !== undefined ? { packets: Number(m[1]), bytes: Number(m[2]) } : {}),
    });
  }
  return out;
}

/** The tables `iptables-save` printed ("*filter" …): with the nf_tables backend they are nft's `ip` tables too. */
export function iptablesTables(text: string): Set<string> {
  return new Set([...text.matchAll(/^\*(\S+)/gm)].map((m) => m[1]!));
}

/** `sysctl` output ("net.core.somaxconn = 4096") → key → value. */
export function parseSysctls(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(net\.[^\s=]+)\s*=\s*(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/\s+/g, ' ');
  }
  return out;
}

/** The addresses of a `conntrack -L` line (original and reply direction), as conntrack prints them. */
export function conntrackAddresses(line: string): string[] {
  return [...line.matchAll(/\b(?:src|dst)=(\S+)/g)].map((m) => m[1]!.toLowerCase());
}

/** The lines of `conntrack -L` that name one of `ips`, and how many were left out. */
export function filterConntrack(text: string, ips: readonly string[]): { text: string; filteredOut: number } {
  const wanted = new Set(ips.map((ip) => ip.toLowerCase()));
  const kept: string[] = [];
  let filteredOut = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (conntrackAddresses(line).some((a) => wanted.has(a))) kept.push(line);
    else filteredOut++;
  }
  return { text: kept.length > 0 ? `${kept.join('\n')}\n` : '', filteredOut };
}
