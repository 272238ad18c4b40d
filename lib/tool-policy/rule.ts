// The shape every tool's rule has: it reads an argv as that tool would and throws
// ToolPolicyError on what the policy refuses. The per-tool option models live in getopt.ts and
// in the tools' own files.

import type { ToolPolicy } from './config.js';

/** What checking an argv found out that the caller needs. */
export interface Checked {
  writesPcapToStdout: boolean;
}

/** One tool's rule: throws ToolPolicyError on a refused argv. */
export type ToolRule = (argv: readonly string[], policy: ToolPolicy) => Checked;

export const NONE: Checked = { writesPcapToStdout: false };
