#!/usr/bin/env node
// kubectl-snoopy: the kubectl plugin for Snoopy (`kubectl snoopy …` once on PATH).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CliError } from './cli-error.js';
import { GLOBAL_OPTIONS } from './options.js';
import { COMMAND_OPTIONS, type Options } from './command-options.js';
import { complete, completion } from './commands/completion.js';
import { COMMANDS, commandHelp, findCommand, globalHelp } from './help.js';

export const HELP = globalHelp();

function parse(args: string[], options: Options, positionals: number): { values: Record<string, unknown>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, ''), 2);
  }
  if (!parsed.values.help && parsed.positionals.length !== positionals) {
    throw new CliError(positionals === 1 ? 'expected one SnoopyJob NAME' : `unexpected argument "${parsed.positionals[0]}"`, 2);
  }
  return parsed as { values: Record<string, unknown>; positionals: string[] };
}

const commandNames = () => COMMANDS.map((c) => c.name).join(', ');

export async function run(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const about = command === 'help' && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
    if (command === 'help' && rest[0] !== undefined && !about) throw new CliError(`no help for "${rest[0]}": it is not a command (${commandNames()})`, 2);
    out.write(about ? commandHelp(about) : HELP);
    return command === undefined ? 2 : 0;
  }
  const help = findCommand(command);
  if (command === '__complete') return complete(rest, out);
  const dash = rest.indexOf('--');
  const own = dash >= 0 ? rest.slice(0, dash) : rest;
  const tool = dash >= 0 ? rest.slice(dash + 1) : [];
  if (dash >= 0 && command !== 'capture') throw new CliError(`"--" TOOL ARGS belongs to capture, not ${command}`, 2);
  if (!help) throw new CliError(`unknown command "${command}" (${commandNames()}; see --help)`, 2);
  const spec = COMMAND_OPTIONS[help.name]!;
  const p = parse(own, spec.options, spec.positionals);
  if (p.values.help) {
    out.write(commandHelp(help));
    return 0;
  }
  const name = p.positionals[0]!;
  // each command's module (and the API and S3 clients it loads) only when that command runs
  switch (help.name) {
    case 'capture':
      return (await import('./commands/capture.js')).capture(p.values, tool, out, err);
    case 'list':
      return (await import('./commands/get.js')).list(p.values, out);
    case 'status':
      return (await import('./commands/get.js')).status(p.values, name, out);
    case 'logs':
      return (await import('./commands/get.js')).logs(p.values, name, out);
    case 'delete':
      return (await import('./commands/get.js')).remove(p.values, name, out);
    case 'download':
      return (await import('./commands/download.js')).download(p.values, name, out, err);
    case 'summary':
      return (await import('./commands/summary.js')).summary(p.values, name, out, err);
    case 'evidence':
      return (await import('./commands/evidence.js')).evidence(p.values, name, out);
    case 'completion':
      return completion(name, out);
    default:
      throw new CliError(`command "${help.name}" has no handler`, 2);
  }
}

// The AWS SDK warns about Node 20's end of support on the first S3 client; on a command line that
// multi-line notice would bury the one-line result (checked when a client is made, so set here).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Run only as the executable, not when imported by a test.
// (argv[1] may be a symlink: npm's bin link or a kubectl-snoopy on PATH)
const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) {
  // output piped into a reader that stopped (| head): stop quietly, as other command-line tools do
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  run(process.argv.slice(2), process.stdout, process.stderr).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const cli = e instanceof CliError ? e : new CliError(e instanceof Error ? e.message.split('\n')[0]! : String(e));
      process.stderr.write(`error: ${cli.message}\n`);
      process.exitCode = cli.code;
    },
  );
}
