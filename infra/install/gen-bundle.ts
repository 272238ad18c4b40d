#!/usr/bin/env node
// npm run gen:bundle — writes infra/install/snoopy.yaml from infra/default; --check only compares.
import { readFile, writeFile } from 'node:fs/promises';
import { repoPath } from '../../lib/repo-root.js';
import { BUNDLE_PATH, BUNDLE_SOURCE, generateBundle } from './bundle.js';

const HELP = `Usage: gen-bundle [--check]
Renders ${BUNDLE_SOURCE} with kustomize (kubectl kustomize) into ${BUNDLE_PATH}.
  --check   write nothing; exit 1 if the committed bundle differs from a fresh rendering
`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`gen-bundle: unknown argument ${unknown[0]}\n`);
    return 2;
  }
  const fresh = await generateBundle();
  const path = repoPath(BUNDLE_PATH);
  if (argv.includes('--check')) {
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current !== fresh) {
      process.stderr.write(`gen-bundle: ${BUNDLE_PATH} is out of date; run npm run gen:bundle\n`);
      return 1;
    }
    process.stdout.write(`${BUNDLE_PATH} is current\n`);
    return 0;
  }
  await writeFile(path, fresh);
  process.stdout.write(`wrote ${BUNDLE_PATH}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`gen-bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
