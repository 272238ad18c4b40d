// The differential test of the tool policy against the real tools (README, "Security model"), in
// its reduced form: a fixed seed and 100 argument lists per tool (POLICY_DIFF_PER_TOOL changes
// it). Each list the policy allows runs as the real tool under strace in a throwaway namespace;
// any rule it breaks fails the tool's test with the argv, the syscall and the rule.
// `make test-policy-diff` runs the full 1,000 per tool.
import { afterAll, describe, expect, test } from '@jest/globals';
import { DIFF_TOOLS } from './policy-diff/generate.js';
import { DEFAULT_SEED } from './policy-diff/seed.js';
import { removeAllNetns } from './policy-diff/netns.js';
import { renderHoles } from './policy-diff/report.js';
import { runDiff } from './policy-diff/run-diff.js';
import { whichTool } from './policy-diff/run-one.js';

const PER_TOOL = Number(process.env.POLICY_DIFF_PER_TOOL ?? '100');
const SEED = Number(process.env.POLICY_DIFF_SEED ?? String(DEFAULT_SEED));

describe(`tool policy against the real tools (seed ${SEED}, ${PER_TOOL} lists per tool)`, () => {
  afterAll(async () => {
    await removeAllNetns();
  });

  test.each([...DIFF_TOOLS])(
    '%s: no argv the policy allows writes, executes, reaches a Unix socket or reads outside the allowed set',
    async (tool) => {
      // every allowlisted tool is installed by scripts/install-deps.sh; a missing one is a setup error, not a pass
      expect(await whichTool(tool)).toBeDefined();
      const report = await runDiff({ tools: [tool], perTool: PER_TOOL, seed: SEED, concurrency: 4, timeoutMs: 1000 });
      const s = report.summaries[0]!;
      expect(s.generated).toBe(PER_TOOL);
      // with the default 100 lists, every tool has lists the policy allows (a smaller sample may not)
      if (PER_TOOL >= 100) expect(s.allowedAny).toBeGreaterThan(0);
      expect(s.ran).toBe(s.allowedAny);
      const holes = renderHoles(report);
      expect(holes).toBe('');
    },
    15 * 60 * 1000,
  );
});

