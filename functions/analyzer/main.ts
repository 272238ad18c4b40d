#!/usr/bin/env node
// snoopy-analyzer: flow and connection summaries of packet captures. Serves CloudEvents when run
// without arguments; `summarize` analyses files or S3 objects from the command line.
import { stat } from 'node:fs/promises';
// The service's modules (express, CloudEvents, the S3 SDK) are loaded only when needed, so
// `summarize` on a local file starts fast.
import { analyzeSources, parseSource, type CaptureSource } from './source.js';
import { formatSummary } from './table.js';

const HELP = `Usage:
  snoopy-analyzer                      serve CloudEvents (capture.completed) on PORT
  snoopy-analyzer summarize FILE|s3://BUCKET/KEY ... [--json] [--max-flows N] [--list-flows N] [--vxlan[=PORT]]

summarize analyses the given pcap/pcapng files or S3 objects as one capture, in the order given,
and prints a table (or the summary JSON with --json). A truncated or corrupt capture gives a
partial summary with the problem under "errors"; the exit status is 1 only when no packet at
all could be read. --vxlan decodes VXLAN datagrams (to UDP port 4789, or PORT) as their inner
frames; without it a tunnel is one UDP flow between its endpoints.

Environment:
  PORT (8080)  HOST (0.0.0.0)       HTTP: POST / (CloudEvents), /health/liveness, /health/readiness, /metrics
  S3_ENDPOINT S3_REGION S3_FORCE_PATH_STYLE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  S3_TRUSTED_ENDPOINTS             other S3 endpoints (URLs, "aws") an event's data.storage may name;
                                   read with the same credentials; any other is refused (400)
  DEAD_LETTER_BUCKET (snoopy)      POST /dead-letter keeps undeliverable events there as
                                   dead-letters/<type>/<id>.json
  K_SINK K_CE_OVERRIDES            where capture.analyzed goes (unset: it is the HTTP reply)
  ANALYZER_CONCURRENCY (2)         analyses at once
  ANALYZER_MAX_FLOWS (50000)       flows held in memory; older ones are folded into totals
  ANALYZER_LIST_FLOWS (1000)       flows listed in a summary (largest by bytes)
  ANALYZER_VXLAN_PORT (0: off)     UDP port whose VXLAN datagrams are decoded as their inner frames
  LOG_LEVEL (info)
`;

/** IANA's VXLAN port */
const VXLAN_PORT = 4789;

function fail(message: string, code = 2): never {
  process.stderr.write(`snoopy-analyzer: ${message}\n`);
  process.exit(code);
}

function positiveInt(flag: string, raw: string | undefined): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < 0) fail(`${flag} needs a non-negative integer, got ${raw === undefined ? 'nothing' : `"${raw}"`}`);
  return n;
}

async function summarize(args: string[]): Promise<void> {
  let json = false;
  let maxFlows: number | undefined;
  let listFlows: number | undefined;
  let vxlanPort: number | undefined;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--max-flows') maxFlows = positiveInt(a, args[++i]);
    else if (a === '--list-flows') listFlows = positiveInt(a, args[++i]);
    else if (a === '--vxlan') vxlanPort = VXLAN_PORT;
    else if (a.startsWith('--vxlan=')) vxlanPort = positiveInt('--vxlan', a.slice('--vxlan='.length));
    else if (a === '--') {
      inputs.push(...args.slice(i + 1));
      i = args.length;
    }
    else if (a.startsWith('-') && a !== '-') fail(`unknown option "${a}" (see --help)`);
    else inputs.push(a);
  }
  if (inputs.length === 0) fail('summarize needs at least one FILE or s3://BUCKET/KEY (see --help)');
  if (maxFlows !== undefined && maxFlows < 10) fail('--max-flows must be at least 10');
  const sources: CaptureSource[] = [];
  for (const input of inputs) {
    let s: CaptureSource;
    try {
      s = await parseSource(input);
    } catch (err) {
      fail((err as Error).message);
    }
    if (s.kind === 'file') {
      const st = await stat(s.path).catch(() => undefined);
      if (!st) fail(`${s.path}: no such file`);
      if (!st.isFile()) fail(`${s.path}: not a regular file`);
    }
    sources.push(s);
  }
  const needsS3 = sources.some((s) => s.kind === 's3');
  const s3 = needsS3 ? await import('../../lib/s3.js') : undefined;
  const summary = await analyzeSources(sources, {
    blockingFileReads: true,
    ...(s3 ? { s3: s3.createS3Client(s3.s3SettingsFromEnv()) } : {}),
    ...(maxFlows !== undefined ? { maxFlows } : {}),
    ...(listFlows !== undefined ? { listFlows } : {}),
    ...(vxlanPort !== undefined ? { vxlanPort } : {}),
  });
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
  if (summary.packets === 0 && summary.errors.length > 0) {
    process.stderr.write(`snoopy-analyzer: no packets read: ${summary.errors[0]}\n`);
    process.exitCode = 1;
  }
}

async function serve(): Promise<void> {
  const { createLogger } = await import('../../lib/log.js');
  const { stopOnSignals } = await import('../../lib/shutdown.js');
  const { ConfigError, serverOptionsFromEnv, startServer } = await import('./server.js');
  const log = createLogger('snoopy-analyzer');
  let opts;
  try {
    opts = serverOptionsFromEnv(process.env, log);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const server = await startServer(opts).catch((err: Error) => fail(`cannot start: ${err.message}`, 1));
  log.info({ port: server.port, sink: opts.sink.enabled }, 'analyzer serving CloudEvents');
  stopOnSignals(log, () => server.close());
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  if (args.length === 0) return serve();
  if (args[0] === 'summarize') return summarize(args.slice(1));
  fail(`unknown command "${args[0]}" (see --help)`);
}

void main();
