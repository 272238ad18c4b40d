// The option model: each tool declares every option its real parser knows (short letter, long
// names, whether it takes a value) and what the policy thinks of it, and argv is parsed the way
// that parser does — getopt/getopt_long by default — so the policy never reads a word as a value
// the tool reads as an option, or the other way round.
//
// getopt_long semantics followed here (glibc):
// - short options cluster (`-nvi eth0`); a value-taking letter takes the rest of its word
//   (`-ieth0`) or else the next word, whatever it looks like (`-i -w` gives -i the value "-w");
//   an optional value (`x::`) is only ever the rest of the word;
// - `--name=value` or `--name value` for a required value; an optional value (`--name[=v]`) is
//   only ever attached with `=`; `--flag=value` is an error;
// - a long option may be abbreviated to any prefix; an exact name wins; a prefix of several
//   names is ambiguous (an error) unless they all are the same option;
// - options and operands mix (GNU permutation) unless the tool stops at the first operand;
// - `--` ends the options; a lone `-` is an operand.
// Whatever the real tool would reject (unknown option, ambiguous abbreviation, missing value)
// is refused: the tool would not run, and refusing keeps the two parsers from ever diverging.

import type { ToolPolicy } from './config.js';
import { refuseArg } from './errors.js';

export type ArgMode = 'none' | 'required' | 'optional';

/** What the policy says about an option; every option of a model has one. */
export type Verdict =
  /** read-only, touches no file: allowed */
  | { kind: 'allow' }
  /** allowed when `check` accepts its value (it throws via refuseArg otherwise) */
  | { kind: 'check'; check: (value: string | undefined, ctx: CheckContext) => void }
  /** never allowed (reads or writes files, runs programs, leaves processes behind…) */
  | { kind: 'refuse'; why: string }
  /** changes the node's network state: allowed only with SNOOPY_ALLOW_MUTATING_TOOLS */
  | { kind: 'mutating'; why: string };

export interface CheckContext {
  tool: string;
  policy: ToolPolicy;
  /** how the option was typed, for messages */
  spelled: string;
}

export interface OptionSpec {
  /** the short letter, if the option has one */
  short?: string;
  /** long names (aliases), without the dashes */
  long?: readonly string[];
  arg: ArgMode;
  verdict: Verdict;
  /**
   * conntrack's quirk (its get_optional_arg): when no value is attached, the next word is taken as
   * the value unless it starts with "-" or "!"; an attached value is ignored by the tool.
   */
  nextWordUnlessDash?: boolean;
}

export interface OptionModel {
  tool: string;
  options: readonly OptionSpec[];
  /** GNU permutation: options after operands are still options (false: the first operand ends them). */
  permute: boolean;
  /** Long options may be abbreviated to a unique prefix (getopt_long); false: exact names only. */
  abbreviate: boolean;
  /** A long option's required value may be the next word (getopt_long); false: only "--name=value". */
  longValueInNextWord?: boolean;
}

export interface ParsedOption {
  spec: OptionSpec;
  /** as typed: "-i", "--inter" */
  spelled: string;
  /** canonical name: the first long name as "--name", else "-x" */
  name: string;
  value?: string;
  /** index in argv of the word the option started in */
  index: number;
}

export interface ParsedArgv {
  options: ParsedOption[];
  operands: string[];
}

export const ALLOW: Verdict = Object.freeze({ kind: 'allow' });
export const refuse = (why: string): Verdict => ({ kind: 'refuse', why });
export const mutating = (why: string): Verdict => ({ kind: 'mutating', why });
export const check = (fn: (value: string | undefined, ctx: CheckContext) => void): Verdict => ({ kind: 'check', check: fn });

/** Shorthand for one option: `opt('p', ['port'], 'required')`. */
export function opt(short: string | undefined, long: readonly string[], arg: ArgMode, verdict: Verdict = ALLOW): OptionSpec {
  return { ...(short !== undefined ? { short } : {}), long, arg, verdict };
}

/** Takes the next word unless it starts with "-" or "!" (see OptionSpec.nextWordUnlessDash). */
function takeNextWord(argv: readonly string[], i: number): boolean {
  const next = argv[i + 1];
  return next !== undefined && !next.startsWith('-') && !next.startsWith('!');
}

export function canonicalName(spec: OptionSpec): string {
  return spec.long?.[0] !== undefined ? `--${spec.long[0]}` : `-${spec.short}`;
}

/** Finds the option spec a documented spelling ("-p", "--port") names exactly, if any. */
export function specFor(model: OptionModel, spelled: string): OptionSpec | undefined {
  if (/^-[^-]$/.test(spelled)) return model.options.find((s) => s.short === spelled[1]);
  if (spelled.startsWith('--')) return model.options.find((s) => s.long?.includes(spelled.slice(2)));
  return undefined;
}

/** Resolves a typed long name like getopt_long: exact match, else a unique (or same-option) prefix. */
export function resolveLong(model: OptionModel, name: string, spelled: string): OptionSpec {
  const exact = model.options.find((s) => s.long?.includes(name));
  if (exact) return exact;
  if (!model.abbreviate || name === '') refuseArg(model.tool, `option "${spelled}"`, `is not an option ${model.tool} knows`);
  const matches = model.options.filter((s) => s.long?.some((l) => l.startsWith(name)));
  if (matches.length === 0) refuseArg(model.tool, `option "${spelled}"`, `is not an option ${model.tool} knows`);
  if (matches.length > 1) {
    const names = matches.flatMap((s) => s.long!.filter((l) => l.startsWith(name)).map((l) => `--${l}`));
    refuseArg(model.tool, `option "${spelled}"`, `is ambiguous (${names.join(', ')}); ${model.tool} would refuse it too`);
  }
  return matches[0]!;
}

/** Parses argv the way the tool's getopt_long would; throws on what the tool would reject. */
export function parseArgv(argv: readonly string[], model: OptionModel): ParsedArgv {
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  const tool = model.tool;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq >= 0 ? w.slice(2, eq) : w.slice(2);
      const spelled = `--${name}`;
      const spec = resolveLong(model, name, spelled);
      const base = { spec, spelled, name: canonicalName(spec), index: i };
      if (eq >= 0) {
        if (spec.arg === 'none') refuseArg(tool, `option "${w}"`, `takes no value; ${tool} would refuse it`);
        options.push({ ...base, value: w.slice(eq + 1) });
      } else if (spec.arg === 'required') {
        if (model.longValueInNextWord === false) refuseArg(tool, `option "${spelled}"`, `needs a value attached with "=" (${spelled}=VALUE), as ${tool} requires`);
        if (i + 1 >= argv.length) refuseArg(tool, `option "${spelled}"`, 'needs a value');
        options.push({ ...base, value: argv[++i]! });
      } else if (spec.nextWordUnlessDash && takeNextWord(argv, i)) {
        options.push({ ...base, value: argv[++i]! });
      } else {
        options.push(base);
      }
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      for (let j = 1; j < w.length; j++) {
        const letter = w[j]!;
        const spec = model.options.find((s) => s.short === letter);
        if (!spec) refuseArg(tool, `option "-${letter}"${w.length > 2 ? ` (in "${w}")` : ''}`, `is not an option ${tool} knows`);
        const base = { spec, spelled: `-${letter}`, name: canonicalName(spec), index: i };
        const rest = w.slice(j + 1);
        if (spec.arg === 'none') {
          if (rest === '' && spec.nextWordUnlessDash && takeNextWord(argv, i)) options.push({ ...base, value: argv[++i]! });
          else options.push(base);
          continue;
        }
        if (rest !== '') options.push({ ...base, value: rest });
        else if (spec.arg === 'optional') {
          if (spec.nextWordUnlessDash && takeNextWord(argv, i)) options.push({ ...base, value: argv[++i]! });
          else options.push(base);
        }
        else {
          if (i + 1 >= argv.length) refuseArg(tool, `option "-${letter}"`, 'needs a value');
          options.push({ ...base, value: argv[++i]! });
        }
        break;
      }
      continue;
    }
    if (!model.permute) {
      operands.push(...argv.slice(i));
      break;
    }
    operands.push(w);
  }
  return { options, operands };
}

/** Shows an option as typed with its value, for messages. */
export function shown(o: ParsedOption): string {
  if (o.value === undefined) return `"${o.spelled}"`;
  return o.spelled.startsWith('--') ? `"${o.spelled}=${o.value}"` : `"${o.spelled} ${o.value}"`;
}

/** Applies each parsed option's verdict; throws ToolPolicyError on the first refused one. */
export function applyVerdicts(parsed: ParsedArgv, model: OptionModel, policy: ToolPolicy): void {
  for (const o of parsed.options) {
    const v = o.spec.verdict;
    const what = o.spelled === o.name || o.spelled.length <= 2 ? shown(o) : `${shown(o)} (${o.name})`;
    switch (v.kind) {
      case 'allow':
        break;
      case 'refuse':
        refuseArg(model.tool, what, v.why);
        break;
      case 'mutating':
        if (!policy.allowMutating) refuseArg(model.tool, what, `${v.why}; writes need SNOOPY_ALLOW_MUTATING_TOOLS`);
        break;
      case 'check':
        v.check(o.value, { tool: model.tool, policy, spelled: what });
        break;
    }
  }
}

/** Parses and applies verdicts: the whole check for tools with nothing else to look at. */
export function checkWithModel(argv: readonly string[], model: OptionModel, policy: ToolPolicy): ParsedArgv {
  const parsed = parseArgv(argv, model);
  applyVerdicts(parsed, model, policy);
  return parsed;
}
