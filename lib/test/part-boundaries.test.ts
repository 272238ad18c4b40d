// The part boundary check (.dependency-cruiser.cjs) run on a small made-up tree: every kind of
// forbidden import fails it, the allowed ones pass. The repository itself is checked by
// `npm run check:boundaries`, which `make test` runs.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { repoPath } from '../repo-root.js';

const run = promisify(execFile);
let dir: string;

/** file → the files it imports (relative .js specifiers, as the project writes them) */
const TREE: Record<string, string[]> = {
  'lib/shared.ts': [],
  'lib/reaches-out.ts': ['operator/reconciler.ts'],
  'operator/reconciler.ts': ['lib/shared.ts'],
  'operator/harness.ts': ['operator/reconciler.ts'],
  'operator/test/helpers.ts': ['operator/reconciler.ts'],
  'operator/test/own.test.ts': ['operator/test/helpers.ts', 'operator/reconciler.ts', 'infra/s3/child.ts'],
  'cli/main.ts': ['lib/shared.ts', 'operator/reconciler.ts'],
  'cli/test/e2e.test.ts': ['operator/harness.ts', 'infra/devcluster/harness.ts', 'operator/test/helpers.ts', 'infra/devcluster/apiserver/store.ts'],
  'functions/collector/server.ts': ['functions/analyzer/summary.ts', 'lib/shared.ts'],
  'functions/analyzer/summary.ts': [],
  'functions/analyzer/bench/run.bench.ts': ['functions/collector/child.ts', 'functions/collector/server.ts'],
  'functions/collector/child.ts': [],
  'infra/s3/child.ts': [],
  'infra/devcluster/harness.ts': ['infra/devcluster/apiserver/store.ts'],
  'infra/devcluster/apiserver/store.ts': ['podtracer/target.ts'],
  'podtracer/target.ts': [],
};

function specifier(from: string, to: string): string {
  const up = dirname(from).split('/').map(() => '..').join('/');
  return `${up}/${to.replace(/\.ts$/, '.js')}`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'part-boundaries-'));
  for (const [file, imports] of Object.entries(TREE)) {
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    const lines = imports.map((to, i) => `import * as m${i} from '${specifier(file, to)}';\nvoid m${i};`);
    writeFileSync(join(dir, file), `${lines.join('\n')}\nexport const here = ${JSON.stringify(file)};\n`);
  }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every forbidden import is reported by its rule, and nothing else', async () => {
  const bin = repoPath('node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const args = [bin, '--config', repoPath('.dependency-cruiser.cjs'), '--output-type', 'json', 'lib', 'operator', 'cli', 'functions', 'infra', 'podtracer'];
  // depcruise exits non-zero when it finds violations: the report is on stdout either way
  const stdout = await run(process.execPath, args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => r.stdout,
    (err: { stdout?: string }) => err.stdout ?? '',
  );
  const report = JSON.parse(stdout) as { summary: { violations: Array<{ from: string; to: string; rule: { name: string } }> } };
  const found = report.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
  expect(found).toEqual(
    [
      'lib-imports-no-part: lib/reaches-out.ts → operator/reconciler.ts',
      'parts-share-only-through-lib: cli/main.ts → operator/reconciler.ts',
      'parts-share-only-through-lib: functions/collector/server.ts → functions/analyzer/summary.ts',
      'parts-share-only-through-lib: infra/devcluster/apiserver/store.ts → podtracer/target.ts',
      'tests-use-entry-points-of-other-parts: cli/test/e2e.test.ts → operator/test/helpers.ts',
      'tests-use-entry-points-of-other-parts: cli/test/e2e.test.ts → infra/devcluster/apiserver/store.ts',
      'tests-use-entry-points-of-other-parts: functions/analyzer/bench/run.bench.ts → functions/collector/server.ts',
    ].sort(),
  );
});
