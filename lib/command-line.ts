// The option parsing, --help and usage-error block the executables share: node's util.parseArgs
// (strict), a --help/-h flag that prints the usage text, and a bad command line reported as one
// line "PROGRAM: message" with exit status 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Writes "PROGRAM: message" to stderr and exits with `code` (2: bad usage). */
export function exitWithError(program: string, message: string, code = 2): never {
  process.stderr.write(`${program}: ${message}\n`);
  process.exit(code);
}

/**
 * Parses `args` (default: this process's) against `options` plus --help/-h. With --help it
 * prints `help` and gives undefined (the caller returns; exiting at once could cut stdout short);
 * a bad command line exits with status 2.
 */
export function parseCommandLine<const O extends Options, const P extends boolean = false>(
  program: string,
  help: string,
  options: O,
  opts: { args?: string[]; allowPositionals?: P } = {},
) {
  const config = {
    args: opts.args ?? process.argv.slice(2),
    options: { ...options, ...HELP_OPTION },
    allowPositionals: (opts.allowPositionals ?? false) as P,
    strict: true,
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    exitWithError(program, (err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help);
    return undefined;
  }
  return parsed;
}
