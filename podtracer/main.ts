#!/usr/bin/env node
// podtracer: runs one allowed network tool inside a pod's network namespace and ships its output
// (podtracer/README.md). Exit codes: 0 done and stored, 1 the tool failed, 2 usage/policy, 3 no target,
// 4 output lost or not stored.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodtracerEnv } from '../lib/contracts/podtracer-invocation.js';
import { CLIENT_HEAP_GROWING_PERCENT, tuneHeapForStreaming } from '../lib/heap-tuning.js';
import { createLogger, type Logger } from '../lib/log.js';
import { segmentOf } from '../lib/pcap/index.js';
import { ToolPolicyConfigError, ToolPolicyError, parseToolInvocation, toolPolicyFromEnv } from '../lib/tool-policy.js';
import { HELP, UsageError, parseCommandLine, type RunOptions } from './cli.js';
import { startCapture, type CaptureOutcome, type RunningCapture } from './capture.js';
import { HolePuncher } from './hole-punch.js';
import { DirectorySink, UploadSink, type SegmentSink, type SinkResult } from './sinks.js';
import { EXIT, exitCodeFor, parseTcpdumpStats, writeTerminationLog, type Summary } from './summary.js';
import { TargetError, defaultProcRoot, lookupPod, resolveContainerPid } from './target.js';
import { TEST_POLICY_BYPASS_ENV, testPolicyBypass } from './test-bypass.js';

function fail(code: number, message: string, terminationLog: string | undefined): Promise<never> {
  process.stderr.write(`podtracer: ${message}\n`);
  const write = terminationLog ? writeTerminationLog(terminationLog, { error: message, exitCode: code }).catch(() => undefined) : Promise.resolve();
  return write.then(() => process.exit(code));
}

function generatedCaptureId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

interface Target {
  pid: number;
  container: string;
  podUid: string;
  node: string;
}

async function resolveTarget(o: RunOptions, procRoot: string, log: Logger): Promise<Target> {
  const env = process.env;
  if (o.pid !== undefined) {
    return { pid: o.pid, container: o.container ?? '', podUid: env[PodtracerEnv.podUid] ?? '', node: env[PodtracerEnv.nodeName] ?? '' };
  }
  const info = await lookupPod(o.namespace, o.pod, o.container);
  const pid = await resolveContainerPid(procRoot, info.containerId);
  log.info({ containerId: info.containerId, container: info.container, pid }, 'target container found');
  return { pid, container: info.container, podUid: env[PodtracerEnv.podUid] || info.podUid || '', node: env[PodtracerEnv.nodeName] || info.node || '' };
}

async function run(o: RunOptions): Promise<number> {
  tuneHeapForStreaming(CLIENT_HEAP_GROWING_PERCENT);
  const log = createLogger('podtracer');
  const terminationLog = o.terminationLog;
  const startTime = new Date().toISOString();

  // The policy comes first: a refused invocation runs nothing, not even the target lookup.
  const policy = toolPolicyFromEnv();
  let argv: string[];
  let bypass: boolean;
  try {
    bypass = testPolicyBypass(process.env);
  } catch (err) {
    return fail(EXIT.usage, (err as Error).message, terminationLog);
  }
  try {
    if (bypass) {
      // tests only (test-bypass.ts): the sandbox's own test runs what the policy would refuse
      if (typeof o.args === 'string') return fail(EXIT.usage, `${TEST_POLICY_BYPASS_ENV} takes the tool after "--" only`, terminationLog);
      argv = [...o.args];
      log.warn({ env: TEST_POLICY_BYPASS_ENV, command: o.command, argv }, 'the tool policy is bypassed (test run)');
    } else ({ argv } = parseToolInvocation(o.command, o.args, policy));
  } catch (err) {
    if (err instanceof ToolPolicyError) return fail(EXIT.usage, `refused by the tool policy: ${err.message}`, terminationLog);
    if (err instanceof ToolPolicyConfigError) return fail(EXIT.usage, `bad tool policy configuration: ${err.message}`, terminationLog);
    throw err;
  }

  const procRoot = o.procRoot ?? defaultProcRoot();
  let target: Target;
  try {
    target = await resolveTarget(o, procRoot, log);
  } catch (err) {
    if (err instanceof TargetError) return fail(EXIT.targetNotFound, err.message, terminationLog);
    throw err;
  }
  if (!existsSync(join(procRoot, String(target.pid), 'ns', 'net'))) {
    return fail(EXIT.targetNotFound, `process ${target.pid} has no network namespace under ${procRoot}`, terminationLog);
  }

  const captureId = o.captureId ?? generatedCaptureId();
  let capture: RunningCapture | undefined;
  let spoolTemp: string | undefined;
  let sink: SegmentSink;
  // the tool's stdout goes to a file (see capture.ts): in the spool directory, whose spool it is,
  // or in a private temporary directory
  let stdoutFile: string;
  let puncher: HolePuncher;
  const punchProblem = (err: string) => log.warn({ err }, 'hole punching failed: the tool output file keeps its space until the capture ends');
  let stdoutTemp: string | undefined;
  if (o.outputDir !== undefined) {
    sink = new DirectorySink(o.outputDir);
    stdoutTemp = await mkdtemp(join(tmpdir(), 'podtracer-'));
    stdoutFile = join(stdoutTemp, 'tool-output');
    puncher = new HolePuncher(stdoutFile, o.spoolPunchBytes, punchProblem);
  } else {
    const spoolDir = o.spoolDir ?? (spoolTemp = await mkdtemp(join(tmpdir(), 'podtracer-spool-')));
    await mkdir(spoolDir, { recursive: true, mode: 0o700 });
    stdoutFile = join(spoolDir, `tool-output-${process.pid}-${Date.now()}`);
    puncher = new HolePuncher(stdoutFile, o.spoolPunchBytes, punchProblem);
    sink = new UploadSink({
      collector: o.collector!,
      puncher,
      spoolDir,
      spoolMaxBytes: o.spoolMaxBytes,
      spoolMemoryBytes: o.spoolMemoryBytes,
      deadlineMs: o.uploadDeadlineMs,
      graceMs: o.uploadGraceMs,
      log,
      header: {
        captureId,
        snoopyJob: o.job ?? 'podtracer',
        snoopyJobNamespace: o.jobNamespace ?? o.namespace,
        pod: o.pod,
        podNamespace: o.namespace,
        podUid: target.podUid,
        node: target.node,
        container: target.container,
        command: o.command,
        args: argv,
        startedUnixNanos: (BigInt(Date.now()) * 1_000_000n).toString(),
        token: process.env[PodtracerEnv.captureToken] ?? '',
      },
      onFatal: (_message, reason) => capture?.stop(reason),
    });
  }

  log.info({ captureId, pid: target.pid, command: o.command, argv, procRoot }, 'starting the tool');
  let outcome: CaptureOutcome;
  let stored: SinkResult;
  // the hole punching helper ends on every path (it would also end on its own once its stdin
  // closes with this process)
  try {
    capture = startCapture(
      {
        procRoot,
        pid: target.pid,
        command: o.command,
        argv,
        allowMutating: policy.allowMutating,
        segmentBytes: o.segmentBytes,
        segmentSeconds: o.segmentSeconds,
        killGraceMs: o.killGraceMs,
        stdoutFile,
        puncher,
        log,
        ...(o.timerMs !== undefined ? { timerMs: o.timerMs } : {}),
        ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
      },
      sink,
    );

    // First SIGTERM/SIGINT: graceful stop; second: kill the tool and stop retrying uploads.
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      log.info({ signal, count: signals }, 'signal received');
      if (signals === 1) capture!.stop('signal');
      else {
        capture!.kill();
        sink.abort();
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    outcome = await capture.done;
    // A capture always ends with a segment flagged `last`, so the collector can announce it as
    // complete: when the tool printed nothing at all, that is an empty text segment.
    if (sink.accepted === 0) sink.accept(segmentOf([], { format: 'text', records: 0 }));
    stored = await sink.finish();
  } finally {
    await puncher.close();
  }
  if (stored.keepOutputFile) log.error({ outputFile: stdoutFile }, 'the tool output file is kept: it holds unsent segments that could not be saved otherwise');
  else await rm(stdoutTemp ?? stdoutFile, { recursive: true, force: true });
  if (spoolTemp && stored.unsentSegments === 0) await rm(spoolTemp, { recursive: true, force: true });

  const stats = o.command === 'tcpdump' ? parseTcpdumpStats(outcome.stderrTail) : {};
  const summary: Summary = {
    captureId,
    pod: o.pod,
    namespace: o.namespace,
    ...(target.container ? { container: target.container } : {}),
    pid: target.pid,
    command: o.command,
    args: argv,
    segments: stored.segments,
    bytes: stored.bytes,
    records: stored.records,
    objects: stored.objects,
    ...stats,
    toolExitCode: outcome.toolExitCode,
    ...(outcome.toolSignal ? { toolSignal: outcome.toolSignal } : {}),
    stopReason: outcome.stopReason,
    ...(outcome.killed ? { killed: true } : {}),
    bytesRead: outcome.bytesRead,
    ...(outcome.bytesDiscarded > 0 ? { bytesDiscarded: outcome.bytesDiscarded } : {}),
    ...(outcome.truncatedBytes > 0 ? { truncatedBytes: outcome.truncatedBytes } : {}),
    spoolDroppedSegments: stored.spoolDroppedSegments,
    spoolDroppedBytes: stored.spoolDroppedBytes,
    unsentSegments: stored.unsentSegments,
    uploadRetries: stored.uploadRetries,
    ...(stored.error || outcome.error ? { error: stored.error ?? outcome.error } : {}),
    cpuSeconds: Math.round(((process.cpuUsage().user + process.cpuUsage().system) / 1e6) * 100) / 100,
    startTime,
    endTime: new Date().toISOString(),
    exitCode: 0,
  };
  summary.exitCode = exitCodeFor(summary);
  if (!(spoolTemp && stored.unsentSegments === 0) && stored.unsentSegments > 0) {
    log.error({ spoolDir: o.spoolDir ?? spoolTemp, unsent: stored.unsentSegments }, 'segments left in the spool');
  }
  if (terminationLog) {
    try {
      await writeTerminationLog(terminationLog, summary);
    } catch (err) {
      log.warn({ path: terminationLog, err: String(err) }, 'cannot write the termination log');
    }
  }
  log.info({ summary }, 'summary');
  return summary.exitCode;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`podtracer: ${err.message}\n`);
      process.exit(EXIT.usage);
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write('podtracer (snoopy) 0.1.0\n');
    return;
  }
  const code = await run(parsed.options);
  process.exit(code);
}

main().catch((err: unknown) => {
  process.stderr.write(`podtracer: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
