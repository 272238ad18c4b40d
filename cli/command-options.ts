// Each command's own options and how many positionals it takes: read by the parser (main.ts) and
// by shell completion, so a flag added to a command is completed without a second list.
import type { ParseArgsConfig } from 'node:util';
import { GLOBAL_OPTIONS } from './options.js';

// Kept free of the commands' own imports (API and S3 clients): completion and help load only this.
const OUTPUT = { output: { type: 'string', short: 'o' } } as const;
const STORAGE_OPTIONS = {
  's3-endpoint': { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  region: { type: 'string' },
} as const;
const CAPTURE_OPTIONS = {
  selector: { type: 'string', short: 'l' },
  container: { type: 'string', short: 'c' },
  timer: { type: 'string' },
  schedule: { type: 'string' },
  filter: { type: 'string' },
  'max-bytes': { type: 'string' },
  evidence: { type: 'boolean' },
  'no-evidence': { type: 'boolean' },
  endpoint: { type: 'string' },
  collector: { type: 'string' },
  name: { type: 'string' },
  wait: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  ...OUTPUT,
} as const;
const GET_OPTIONS = { ...OUTPUT, 'all-namespaces': { type: 'boolean', short: 'A' } } as const;

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandOptions {
  options: Options;
  /** 1: the command takes one SnoopyJob NAME (or, for completion, a shell name) */
  positionals: 0 | 1;
  /** values -o takes */
  outputs?: string[];
}

export const COMMAND_OPTIONS: Record<string, CommandOptions> = {
  capture: { options: CAPTURE_OPTIONS, positionals: 0, outputs: ['yaml', 'json'] },
  list: { options: GET_OPTIONS, positionals: 0, outputs: ['json', 'yaml', 'wide'] },
  // status reads the run manifest from storage when the bounded status lists only the first targets
  status: { options: { ...GET_OPTIONS, ...STORAGE_OPTIONS }, positionals: 1, outputs: ['json', 'yaml', 'wide'] },
  logs: { options: OUTPUT, positionals: 1, outputs: ['json'] },
  delete: { options: {}, positionals: 1 },
  download: { options: { ...OUTPUT, merge: { type: 'boolean' }, ...STORAGE_OPTIONS }, positionals: 1 },
  summary: { options: { ...OUTPUT, ...STORAGE_OPTIONS }, positionals: 1, outputs: ['json', 'yaml'] },
  evidence: { options: { ...OUTPUT, pod: { type: 'string' }, ...STORAGE_OPTIONS }, positionals: 1, outputs: ['json', 'yaml'] },
  completion: { options: {}, positionals: 1 },
};

/** A command's flags as typed on a command line (`--long`, `-s`), its own then the global ones. */
export function flagWords(command: string): string[] {
  const all = { ...(COMMAND_OPTIONS[command]?.options ?? {}), ...GLOBAL_OPTIONS };
  const out: string[] = [];
  for (const [long, spec] of Object.entries(all)) {
    out.push(`--${long}`);
    if ('short' in spec && spec.short) out.push(`-${spec.short}`);
  }
  return out;
}

/** Flags that take a value (the next word is that value, not a flag or positional). */
export function takesValue(command: string, word: string): boolean {
  const all = { ...(COMMAND_OPTIONS[command]?.options ?? {}), ...GLOBAL_OPTIONS };
  return Object.entries(all).some(([long, spec]) => spec.type === 'string' && (word === `--${long}` || ('short' in spec && word === `-${spec.short}`)));
}
