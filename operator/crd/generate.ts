#!/usr/bin/env node
// Writes infra/crds/*.yaml from the schemas in lib/api/schema.ts, and docs/evidence.schema.json
// (the evidence object, lib/evidence/schema.ts).
//   node <build>/operator/crd/generate.js [--check]
// --check exits 1 (naming the stale files) when the committed YAML differs from the generated one.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../lib/repo-root.js';
import { crdFiles } from '../../lib/api/crd-definitions.js';
import { evidenceSchemaJson } from '../../lib/evidence/schema.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.some((a) => a !== '--check')) {
  process.stderr.write('usage: generate [--check]   (writes or checks infra/crds/*.yaml and docs/evidence.schema.json)\n');
  process.exit(args.includes('--help') ? 0 : 2);
}
const files = [
  ...crdFiles().map(({ file, yaml }) => ({ rel: ['infra', 'crds', file], text: yaml })),
  { rel: ['docs', 'evidence.schema.json'], text: evidenceSchemaJson() },
];
const stale: string[] = [];
for (const { rel, text } of files) {
  const path = repoPath(...rel);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  if (args.includes('--check')) stale.push(rel.join('/'));
  else {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${rel.join('/')}\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(`stale generated files (npm run generate:crds): ${stale.join(', ')}\n`);
  process.exit(1);
}
