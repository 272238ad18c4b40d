// Files that are not compiled (protos, CRD YAML, fixtures, the image table) live at the
// repository root; code runs from dist/ (or any other tsc outDir), so find the root by walking up.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return (root = dir);
    dir = dirname(dir);
  }
  throw new Error('repository root (package.json + proto/) not found');
}

export function repoPath(...parts: string[]): string {
  return join(repoRoot(), ...parts);
}

/** The directory that holds this build's compiled output (dist/ or another outDir). */
export function buildRoot(): string {
  // this file is <outDir>/lib/repo-root.js
  return dirname(dirname(fileURLToPath(import.meta.url)));
}
