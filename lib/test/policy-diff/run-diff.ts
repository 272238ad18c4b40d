// The differential test: generate argument lists per tool, keep the ones the tool policy allows
// (with allowMutating false or true), run each as the real tool (run-one.ts) a few at a time, and
// collect what broke the rules (verdict.ts).
import { checkToolInvocation, DEFAULT_TOOL_POLICY, type ToolPolicy } from '../../tool-policy.js';
import { substitute, type RunPlaces } from './contain.js';
import { generateArgvs, type DiffTool } from './generate.js';
import { closeSharedEnv, openSharedEnv, runOne, SHARED_ENV_TOOLS, whichTool, type SharedEnv } from './run-one.js';
import type { Finding, Rule } from './verdict.js';

export interface DiffOptions {
  tools: readonly DiffTool[];
  perTool: number;
  seed: number;
  concurrency: number;
  timeoutMs: number;
  /** called after every run (progress output) */
  onRun?: (tool: DiffTool, done: number, total: number) => void;
  /** called when a tool is done, with the report so far (so that a long run shows results as it goes) */
  onTool?: (summary: ToolSummary, report: DiffReport) => void;
}

export interface DiffFinding extends Finding {
  tool: DiffTool;
  index: number;
  /** the generated argv (placeholders {{T}} for the temporary directory, {{NS}} for the decoy namespace) */
  generated: string[];
  /** the argv as it ran */
  argv: string[];
  allowedReadOnly: boolean;
  allowedMutating: boolean;
}

export interface ToolSummary {
  tool: DiffTool;
  installed: boolean;
  generated: number;
  allowedReadOnly: number;
  allowedMutating: number;
  /** allowed by either policy: the lists that run */
  allowedAny: number;
  ran: number;
  timedOut: number;
  findings: number;
  ms: number;
}

export interface DiffReport {
  seed: number;
  perTool: number;
  summaries: ToolSummary[];
  findings: DiffFinding[];
  /** strace lines that did not parse: they could hide a finding, so they fail the run too */
  unparsed: Array<{ tool: DiffTool; argv: string[]; line: string }>;
}

const READ_ONLY: ToolPolicy = { ...DEFAULT_TOOL_POLICY, allowMutating: false };
const MUTATING: ToolPolicy = { ...DEFAULT_TOOL_POLICY, allowMutating: true };

function allows(tool: string, argv: readonly string[], policy: ToolPolicy): boolean {
  try {
    checkToolInvocation(tool, argv, policy);
    return true;
  } catch {
    return false;
  }
}

/** What the policy says about an argv, judged on a representative concrete form of it. */
export function policyVerdict(tool: string, generated: readonly string[]): { readOnly: boolean; mutating: boolean } {
  const places: RunPlaces = { tmp: '/tmp/snp-diff-XXXXXX/t', decoyNs: 'snp-diff-decoy-00000000' };
  const argv = substitute(generated, places);
  return { readOnly: allows(tool, argv, READ_ONLY), mutating: allows(tool, argv, MUTATING) };
}

/** Runs `work` over the items, `concurrency` at a time; each worker has its own `setup()` result (opened lazily, closed at the end). */
async function pool<T, W>(
  items: readonly T[],
  concurrency: number,
  setup: () => Promise<W>,
  teardown: (w: W) => Promise<void>,
  work: (item: T, w: W) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    const w = await setup();
    try {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item, w);
      }
    } finally {
      await teardown(w);
    }
  });
  await Promise.all(workers);
}

export async function runDiff(opts: DiffOptions): Promise<DiffReport> {
  const report: DiffReport = { seed: opts.seed, perTool: opts.perTool, summaries: [], findings: [], unparsed: [] };
  for (const tool of opts.tools) {
    const started = Date.now();
    const toolPath = await whichTool(tool);
    const list = generateArgvs(tool, opts.perTool, opts.seed);
    const summary: ToolSummary = {
      tool, installed: toolPath !== undefined, generated: list.length, allowedReadOnly: 0, allowedMutating: 0, allowedAny: 0, ran: 0, timedOut: 0, findings: 0, ms: 0,
    };
    const toRun = list
      .map((g) => ({ g, v: policyVerdict(tool, g.argv) }))
      .filter(({ v }) => {
        if (v.readOnly) summary.allowedReadOnly++;
        if (v.mutating) summary.allowedMutating++;
        if (v.readOnly || v.mutating) summary.allowedAny++;
        return v.readOnly || v.mutating;
      });
    if (toolPath !== undefined) {
      const sharing = SHARED_ENV_TOOLS.has(tool);
      const setup = async (): Promise<SharedEnv | undefined> => (sharing ? openSharedEnv(tool) : undefined);
      const teardown = async (env: SharedEnv | undefined): Promise<void> => (env ? closeSharedEnv(env) : undefined);
      await pool(toRun, opts.concurrency, setup, teardown, async ({ g, v }, env) => {
        const r = await runOne(tool, toolPath, g.argv, { timeoutMs: opts.timeoutMs, readOnly: v.readOnly, ...(env ? { shared: env } : {}) });
        // the policy is asked again about the argv exactly as it ran
        const ro = allows(tool, r.argv, READ_ONLY);
        const rw = allows(tool, r.argv, MUTATING);
        summary.ran++;
        if (r.timedOut) summary.timedOut++;
        if (ro || rw) {
          for (const f of r.findings) {
            if (f.rule === 'netlink-write' && !ro) continue;
            report.findings.push({ ...f, tool, index: g.index, generated: g.argv, argv: r.argv, allowedReadOnly: ro, allowedMutating: rw });
            summary.findings++;
          }
        }
        for (const line of r.unparsed) report.unparsed.push({ tool, argv: r.argv, line });
        opts.onRun?.(tool, summary.ran, toRun.length);
      });
    }
    summary.ms = Date.now() - started;
    report.summaries.push(summary);
    opts.onTool?.(summary, report);
  }
  return report;
}

/** A finding's kind, for grouping: the rule and its target with run-specific parts replaced. */
export function holeKey(f: DiffFinding): string {
  const tmp = /\/tmp\/snp-diff-[A-Za-z0-9]{6}\/t/g;
  const target = f.target.replace(tmp, '{{T}}').replace(/snp-diff-decoy-[0-9a-f]{8}/g, '{{NS}}').replace(/\bpid \d+/g, 'pid N').replace(/\/proc\/\d+\//g, '/proc/<pid>/').replace(/^\/tmp\/iperf3\.\w+/, '/tmp/iperf3.XXXXXX')
    .replace(/^\/run\/netns\/[^ ]+/, '/run/netns/<name>')
    .replace(/net:\[\d+\]/g, 'net:[N]');
  return `${f.tool} | ${f.rule} | ${target}`;
}

export function groupHoles(findings: readonly DiffFinding[]): Map<string, DiffFinding[]> {
  const groups = new Map<string, DiffFinding[]>();
  for (const f of findings) {
    const k = holeKey(f);
    const list = groups.get(k) ?? [];
    list.push(f);
    groups.set(k, list);
  }
  return groups;
}

export const RULES_ORDER: readonly Rule[] = ['write-open', 'file-change', 'exec', 'unix-socket', 'read-outside', 'netlink-write', 'outlived'];
