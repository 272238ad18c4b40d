#!/usr/bin/env node
// Writes infra/crds/*.yaml from the schemas in lib/api/schema.ts.
//   node <build>/operator/crd/generate.js [--check]
// --check exits 1 (naming the stale files) when the committed YAML differs from the generated one.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../lib/repo-root.js';
import { crdFiles } from '../../lib/api/crd-definitions.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.some((a) => a !== '--check')) {
  process.stderr.write('usage: generate [--check]   (writes or checks infra/crds/*.yaml)\n');
  process.exit(args.includes('--help') ? 0 : 2);
}
const dir = repoPath('infra', 'crds');
const stale: string[] = [];
for (const { file, yaml } of crdFiles()) {
  const path = join(dir, file);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === yaml) continue;
  if (args.includes('--check')) stale.push(file);
  else {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, yaml);
    process.stdout.write(`wrote infra/crds/${file}\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(`stale CRD YAML (regenerate): ${stale.join(', ')}\n`);
  process.exit(1);
}
