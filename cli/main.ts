#!/usr/bin/env node
// kubectl-snoopy: the kubectl plugin for Snoopy (`kubectl snoopy …` once on PATH).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './errors.js';
import { GLOBAL_OPTIONS } from './options.js';
import { STORAGE_OPTIONS } from './storage.js';
import { CAPTURE_OPTIONS, capture } from './commands/capture.js';
import { GET_OPTIONS, list, logs, remove, status } from './commands/get.js';
import { DOWNLOAD_OPTIONS, download } from './commands/download.js';
import { SUMMARY_OPTIONS, summary } from './commands/summary.js';
import { EVIDENCE_OPTIONS, evidence } from './commands/evidence.js';

export const HELP = `kubectl snoopy: run network tools inside pods' network namespaces and fetch what they captured.

Usage:
  kubectl snoopy capture -n NS -l KEY=VALUE[,…] [--container C] [--timer 2m] [--schedule CRON]
                         [--filter 'port 53'] [--max-bytes N] [--evidence | --no-evidence]
                         [--endpoint NAME | --collector HOST:PORT]
                         [--name NAME] [--wait] [--dry-run [-o yaml|json]] [-- TOOL ARGS…]
  kubectl snoopy list [-n TARGET_NS] [-A] [-o json|yaml|wide]
  kubectl snoopy status NAME [-o json|yaml|wide] [--s3-endpoint URL] [--bucket B] [--prefix P]
  kubectl snoopy logs NAME
  kubectl snoopy delete NAME
  kubectl snoopy download NAME [-o DIR] [--merge] [--s3-endpoint URL] [--bucket B] [--prefix P]
  kubectl snoopy summary NAME [-o json|yaml] [--s3-endpoint URL] [--bucket B] [--prefix P]
  kubectl snoopy evidence NAME [--pod P] [-o json|yaml] [--s3-endpoint URL] [--bucket B] [--prefix P]

capture creates a SnoopyJob in the operator's namespace (--job-namespace, default $SNOOPY_NAMESPACE
or snoopy-operator) targeting the pods selected by -l in namespace -n. Without "-- TOOL ARGS" it runs
tcpdump -i any -U -w - (pcap to stdout) plus --filter. --evidence / --no-evidence set spec.evidence
(default: on for tcpdump): each target's network state before and after, shown by evidence. It refuses when no pod matches, when the CRD
is missing, or when the spec would be rejected by the operator.

Global options:
  --kubeconfig FILE      kubeconfig (default $KUBECONFIG or ~/.kube/config)
  --context NAME         kubeconfig context
  -n, --namespace NS     target namespace (capture), filter by target namespace (list)
  --job-namespace NS     where SnoopyJobs live (default $SNOOPY_NAMESPACE or snoopy-operator)
  -h, --help             this help

status reads the run manifest from storage when the SnoopyJob's status lists fewer targets than the
run has (per-node capture lists the first ones): every target, and per-node rollups.

Storage (status, download, summary, evidence): flags, else S3_ENDPOINT / S3_BUCKET / S3_PREFIX / AWS_* from the
environment, else the storage block and credentials Secret of the SnoopyJob's SnoopyDataEndpoint.
`;

type Options = ParseArgsConfig['options'];

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

export async function run(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    out.write(HELP);
    return command === undefined ? 2 : 0;
  }
  const dash = rest.indexOf('--');
  const own = dash >= 0 ? rest.slice(0, dash) : rest;
  const tool = dash >= 0 ? rest.slice(dash + 1) : [];
  if (dash >= 0 && command !== 'capture') throw new CliError(`"--" TOOL ARGS belongs to capture, not ${command}`, 2);
  const pick = (options: Options, n: number) => {
    const p = parse(own, options, n);
    if (p.values.help) {
      out.write(HELP);
      return undefined;
    }
    return p;
  };
  let p;
  switch (command) {
    case 'capture':
      if (!(p = pick(CAPTURE_OPTIONS, 0))) return 0;
      return capture(p.values, tool, out, err);
    case 'list':
    case 'ls':
      if (!(p = pick(GET_OPTIONS, 0))) return 0;
      return list(p.values, out);
    case 'status':
    case 'get':
      if (!(p = pick({ ...GET_OPTIONS, ...STORAGE_OPTIONS }, 1))) return 0;
      return status(p.values, p.positionals[0]!, out);
    case 'logs':
      if (!(p = pick({}, 1))) return 0;
      return logs(p.values, p.positionals[0]!, out);
    case 'delete':
      if (!(p = pick({}, 1))) return 0;
      return remove(p.values, p.positionals[0]!, out);
    case 'download':
      if (!(p = pick({ ...DOWNLOAD_OPTIONS, ...STORAGE_OPTIONS }, 1))) return 0;
      return download(p.values, p.positionals[0]!, out, err);
    case 'summary':
      if (!(p = pick({ ...SUMMARY_OPTIONS, ...STORAGE_OPTIONS }, 1))) return 0;
      return summary(p.values, p.positionals[0]!, out);
    case 'evidence':
      if (!(p = pick({ ...EVIDENCE_OPTIONS, ...STORAGE_OPTIONS }, 1))) return 0;
      return evidence(p.values, p.positionals[0]!, out);
    default:
      throw new CliError(`unknown command "${command}" (capture, list, status, logs, delete, download, summary, evidence; see --help)`, 2);
  }
}

// The AWS SDK warns about Node 20's end of support on the first S3 client; on a command line that
// multi-line notice would bury the one-line result (checked when a client is made, so set here).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Run only as the executable, not when imported by a test.
// (argv[1] may be a symlink: npm's bin link or a kubectl-snoopy on PATH)
const invokedAs = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) {
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
