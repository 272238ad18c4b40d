// Renders a differential-test report: a summary table per tool and every distinct hole with the
// argv lists that showed it (as generated, so the seed and index reproduce them, and as run).
import { groupHoles, type DiffReport, type ToolSummary } from './run-diff.js';
import { RULE_TEXT } from './verdict.js';

function quote(argv: readonly string[]): string {
  return argv.map((w) => (/^[A-Za-z0-9_@%+=:,./{}-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export const SUMMARY_HEADER = 'tool        installed generated allowed(ro) allowed(rw)   ran timedout findings  seconds';

export function renderSummaryRow(s: ToolSummary): string {
  return `${s.tool.padEnd(11)} ${String(s.installed).padEnd(9)} ${String(s.generated).padStart(9)} ${String(s.allowedReadOnly).padStart(11)} ${String(s.allowedMutating).padStart(11)} ${String(s.ran).padStart(5)} ${String(s.timedOut).padStart(8)} ${String(s.findings).padStart(8)} ${(s.ms / 1000).toFixed(1).padStart(8)}`;
}

export function renderSummary(r: DiffReport): string {
  const lines = [`policy-diff: seed ${r.seed}, ${r.perTool} argument lists per tool`, SUMMARY_HEADER];
  for (const s of r.summaries) lines.push(renderSummaryRow(s));
  const holes = groupHoles(r.findings);
  lines.push(`distinct holes: ${holes.size}; findings: ${r.findings.length}; unparsed strace lines: ${r.unparsed.length}`);
  return lines.join('\n');
}

/** Every distinct hole: rule, target, up to `examples` argv lists and the syscall line of the first. */
export function renderHoles(r: DiffReport, examples = 3): string {
  const out: string[] = [];
  for (const [key, all] of [...groupHoles(r.findings)].sort(([a], [b]) => a.localeCompare(b))) {
    // one example per argv (a run may break the same rule several times)
    const fs = all.filter((f, i) => all.findIndex((g) => g.index === f.index) === i);
    const first = fs[0]!;
    out.push(`- ${key} (${fs.length} argv${fs.length === 1 ? '' : 's'}) — ${RULE_TEXT[first.rule]}`);
    for (const f of fs.slice(0, examples)) {
      const by = [f.allowedReadOnly ? 'read-only' : '', f.allowedMutating ? 'allowMutating' : ''].filter(Boolean).join('+');
      out.push(`    - #${f.index} (allowed by ${by}): ${f.tool} ${quote(f.generated)}`);
    }
    out.push(`      syscall: ${first.line.length > 300 ? `${first.line.slice(0, 300)}…` : first.line}`);
  }
  for (const u of r.unparsed.slice(0, 20)) out.push(`- unparsed strace line (${u.tool} ${quote(u.argv)}): ${u.line}`);
  return out.join('\n');
}
