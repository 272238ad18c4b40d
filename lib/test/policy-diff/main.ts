// `make test-policy-diff`: the differential test of the tool policy against the real tools.
// Usage: node main.js [--per-tool N] [--seed S] [--tools a,b] [--concurrency C] [--timeout-ms T] [--holes-file PATH]
// Exits 1 when any policy-allowed argv broke a rule (or strace output could not be read), 2 on a setup error.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DIFF_TOOLS, type DiffTool } from './generate.js';
import { removeAllNetns } from './netns.js';
import { renderHoles, renderSummary, renderSummaryRow, SUMMARY_HEADER } from './report.js';
import { runDiff } from './run-diff.js';
import { DEFAULT_SEED } from './seed.js';


async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'per-tool': { type: 'string', default: '1000' },
      seed: { type: 'string', default: process.env.POLICY_DIFF_SEED ?? String(DEFAULT_SEED) },
      tools: { type: 'string' },
      concurrency: { type: 'string', default: '6' },
      'timeout-ms': { type: 'string', default: '1000' },
      'holes-file': { type: 'string' },
    },
  });
  const tools = values.tools ? values.tools.split(',').map((t) => t.trim()) : [...DIFF_TOOLS];
  for (const t of tools) if (!(DIFF_TOOLS as readonly string[]).includes(t)) throw new Error(`unknown tool "${t}" (known: ${DIFF_TOOLS.join(', ')})`);
  const num = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not "${v}"`);
    return n;
  };
  const report = await runDiff({
    tools: tools as DiffTool[],
    perTool: num('per-tool', values['per-tool']!),
    seed: num('seed', values.seed!),
    concurrency: Math.max(1, num('concurrency', values.concurrency!)),
    timeoutMs: num('timeout-ms', values['timeout-ms']!),
    onRun: (tool, done, total) => {
      if (done % 50 === 0 || done === total) process.stderr.write(`policy-diff: ${tool} ${done}/${total}\n`);
    },
    onTool: (summary, soFar) => {
      // each tool's row and holes as soon as it is done (stderr; the full report follows on stdout)
      const holes = renderHoles({ ...soFar, summaries: [summary], findings: soFar.findings.filter((f) => f.tool === summary.tool), unparsed: soFar.unparsed.filter((u) => u.tool === summary.tool) });
      process.stderr.write(`${SUMMARY_HEADER}\n${renderSummaryRow(summary)}\n${holes}${holes ? '\n' : ''}`);
    },
  });
  const holes = renderHoles(report);
  process.stdout.write(`${renderSummary(report)}\n${holes}\n`);
  if (values['holes-file']) await writeFile(values['holes-file'], `${renderSummary(report)}\n\n${holes}\n`);
  const missing = report.summaries.filter((s) => !s.installed).map((s) => s.tool);
  if (missing.length > 0) process.stdout.write(`policy-diff: not installed, not run: ${missing.join(', ')} (scripts/install-deps.sh installs them)\n`);
  return report.findings.length > 0 || report.unparsed.length > 0 ? 1 : 0;
}

const cleanup = (sig: NodeJS.Signals): void => {
  void removeAllNetns().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
};
process.once('SIGINT', cleanup);
process.once('SIGTERM', cleanup);

main().then(
  async (code) => {
    await removeAllNetns();
    process.exit(code);
  },
  async (err: unknown) => {
    await removeAllNetns();
    process.stderr.write(`policy-diff: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
