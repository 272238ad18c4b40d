#!/usr/bin/env node
// podtracer: runs one allowed network tool inside a pod's network namespace and ships its output
// (podtracer/README.md); `podtracer node` does so for every target of a node (node/agent.ts). Exit codes: 0 done and stored, 1 the tool failed, 2 usage/policy, 3 no target,
// 4 output lost or not stored.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodtracerEnv } from '../lib/contracts/podtracer-invocation.js';
import { TARGET_GONE } from '../lib/contracts/podtracer-summary.js';
import { CLIENT_HEAP_GROWING_PERCENT, tuneHeapForStreaming } from '../lib/heap-tuning.js';
import { createLogger, type Logger } from '../lib/log.js';
import { segmentOf } from '../lib/pcap/index.js';
import { ToolPolicyConfigError, ToolPolicyError, parseToolInvocation, toolPolicyFromEnv, type ToolPolicy } from '../lib/tool-policy.js';
import { generatedCaptureId } from './capture-id.js';
import { HELP, UsageError, parseCommandLine, type RunOptions } from './cli.js';
import { startCapture, type CaptureOutcome, type RunningCapture } from './capture.js';
import { HolePuncher } from './hole-punch.js';
import { runNode } from './node/agent.js';
import { manifestStore } from './node/manifest-store.js';
import { EvidenceRecorder } from './evidence-run.js';
import { DirectorySink, UploadSink, type SegmentSink, type SinkResult } from './sinks.js';
import { EXIT, exitCodeFor, parseTcpdumpStats, writeTerminationLog, type StopReason, type Summary } from './summary.js';
import { TargetError, defaultProcRoot, lookupPod, resolveContainerPid } from './target.js';
import { TargetProcess, podPresence } from './target-gone.js';
import { TEST_POLICY_BYPASS_ENV, testPolicyBypass } from './test-bypass.js';

function fail(code: number, message: string, terminationLog: string | undefined): Promise<never> {
  process.stderr.write(`podtracer: ${message}\n`);
  const write = terminationLog ? writeTerminationLog(terminationLog, { error: message, exitCode: code }).catch(() => undefined) : Promise.resolve();
  return write.then(() => process.exit(code));
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

/** A step that ends the run before the tool ran: its exit code and what to say. */
class RunEnd extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** The policy comes first: a refused invocation runs nothing, not even the target lookup. */
function checkToolPolicy(o: RunOptions, log: Logger): { argv: string[]; policy: ToolPolicy } {
  const policy = toolPolicyFromEnv();
  let bypass: boolean;
  try {
    bypass = testPolicyBypass(process.env);
  } catch (err) {
    throw new RunEnd(EXIT.usage, (err as Error).message);
  }
  try {
    if (bypass) {
      // tests only (test-bypass.ts): the sandbox's own test runs what the policy would refuse
      if (typeof o.args === 'string') throw new RunEnd(EXIT.usage, `${TEST_POLICY_BYPASS_ENV} takes the tool after "--" only`);
      const argv = [...o.args];
      log.warn({ env: TEST_POLICY_BYPASS_ENV, command: o.command, argv }, 'the tool policy is bypassed (test run)');
      return { argv, policy };
    }
    return { argv: parseToolInvocation(o.command, o.args, policy).argv, policy };
  } catch (err) {
    if (err instanceof ToolPolicyError) throw new RunEnd(EXIT.usage, `refused by the tool policy: ${err.message}`);
    if (err instanceof ToolPolicyConfigError) throw new RunEnd(EXIT.usage, `bad tool policy configuration: ${err.message}`);
    throw err;
  }
}

/** The target's process, which must have a network namespace to enter. */
async function findTarget(o: RunOptions, procRoot: string, log: Logger): Promise<Target> {
  let target: Target;
  try {
    target = await resolveTarget(o, procRoot, log);
  } catch (err) {
    if (err instanceof TargetError) throw new RunEnd(EXIT.targetNotFound, err.message);
    throw err;
  }
  if (!existsSync(join(procRoot, String(target.pid), 'ns', 'net'))) {
    throw new RunEnd(EXIT.targetNotFound, `process ${target.pid} has no network namespace under ${procRoot}`);
  }
  return target;
}

/** Where the tool's output goes: the sink, and the file that receives its stdout (capture.ts). */
interface Output {
  sink: SegmentSink;
  /** in the spool directory, whose spool it is, or in a private temporary directory */
  stdoutFile: string;
  puncher: HolePuncher;
  /** the private temporary directory holding stdoutFile (--output-dir) */
  stdoutTemp?: string;
  /** the spool directory podtracer made itself (no --spool-dir) */
  spoolTemp?: string;
}

async function prepareOutput(
  o: RunOptions,
  run: { captureId: string; target: Target; argv: string[] },
  log: Logger,
  onFatal: (reason: StopReason) => void,
): Promise<Output> {
  const punchProblem = (err: string) => log.warn({ err }, 'hole punching failed: the tool output file keeps its space until the capture ends');
  if (o.outputDir !== undefined) {
    const stdoutTemp = await mkdtemp(join(tmpdir(), 'podtracer-'));
    const stdoutFile = join(stdoutTemp, 'tool-output');
    return { sink: new DirectorySink(o.outputDir), stdoutFile, stdoutTemp, puncher: new HolePuncher(stdoutFile, o.spoolPunchBytes, punchProblem) };
  }
  let spoolTemp: string | undefined;
  const spoolDir = o.spoolDir ?? (spoolTemp = await mkdtemp(join(tmpdir(), 'podtracer-spool-')));
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const stdoutFile = join(spoolDir, `tool-output-${process.pid}-${Date.now()}`);
  const puncher = new HolePuncher(stdoutFile, o.spoolPunchBytes, punchProblem);
  const { target } = run;
  const sink = new UploadSink({
    collector: o.collector!,
    puncher,
    spoolDir,
    spoolMaxBytes: o.spoolMaxBytes,
    spoolMemoryBytes: o.spoolMemoryBytes,
    deadlineMs: o.uploadDeadlineMs,
    graceMs: o.uploadGraceMs,
    log,
    header: {
      captureId: run.captureId,
      snoopyJob: o.job ?? 'podtracer',
      snoopyJobNamespace: o.jobNamespace ?? o.namespace,
      pod: o.pod,
      podNamespace: o.namespace,
      podUid: target.podUid,
      node: target.node,
      container: target.container,
      command: o.command,
      args: run.argv,
      startedUnixNanos: (BigInt(Date.now()) * 1_000_000n).toString(),
      token: process.env[PodtracerEnv.captureToken] ?? '',
    },
    onFatal: (_message, reason) => onFatal(reason),
  });
  return { sink, stdoutFile, puncher, ...(spoolTemp ? { spoolTemp } : {}) };
}

/**
 * SIGTERM/SIGINT before the tool runs (finding the target, the first evidence snapshot, the
 * sandbox): kept, and carried out as soon as the tool runs, so the run ends as a stopped capture
 * with everything stored rather than dying by the signal. Installed first thing, so that no moment
 * of the run is without a handler.
 */
class EarlySignals {
  private signal: NodeJS.Signals | undefined;
  private readonly keep = (signal: NodeJS.Signals) => void (this.signal ??= signal);
  constructor() {
    process.on('SIGTERM', this.keep);
    process.on('SIGINT', this.keep);
  }

  /** Stops keeping signals; the first one kept, if any. */
  release(): NodeJS.Signals | undefined {
    process.off('SIGTERM', this.keep);
    process.off('SIGINT', this.keep);
    return this.signal;
  }
}

/** First SIGTERM/SIGINT: graceful stop; second: kill the tool and stop retrying uploads. */
function stopOnSignals(capture: RunningCapture, sink: SegmentSink, log: Logger): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    log.info({ signal, count: signals }, 'signal received');
    if (signals === 1) capture.stop('signal');
    else {
      capture.kill();
      sink.abort();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Runs the tool until it ends and stores what it printed. */
async function captureAndStore(
  o: RunOptions,
  run: { captureId: string; target: Target; argv: string[]; policy: ToolPolicy; procRoot: string },
  output: Output,
  started: (capture: RunningCapture) => void,
  early: EarlySignals,
  log: Logger,
): Promise<{ outcome: CaptureOutcome; stored: SinkResult; evidence?: { object?: string; error?: string } }> {
  const { sink, puncher } = output;
  const evidence = o.evidence
    ? new EvidenceRecorder(
        { captureId: run.captureId, pod: o.pod, namespace: o.namespace, node: run.target.node, useApi: o.pid === undefined, procRoot: run.procRoot, pid: run.target.pid, policy: run.policy },
        log,
      )
    : undefined;
  // the hole punching helper ends on every path (it would also end on its own once its stdin
  // closes with this process)
  const targetProcess = new TargetProcess(run.procRoot, run.target.pid);
  try {
    // just before the tool: a snapshot that fails in part is still taken, never fatal
    if (evidence) await evidence.takeBefore();
    const capture = startCapture(
      {
        procRoot: run.procRoot,
        pid: run.target.pid,
        target: targetProcess,
        targetPollMs: o.targetPollMs,
        command: o.command,
        argv: run.argv,
        allowMutating: run.policy.allowMutating,
        segmentBytes: o.segmentBytes,
        segmentSeconds: o.segmentSeconds,
        killGraceMs: o.killGraceMs,
        stdoutFile: output.stdoutFile,
        puncher,
        log,
        ...(o.timerMs !== undefined ? { timerMs: o.timerMs } : {}),
        ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
      },
      sink,
    );
    started(capture);
    // the capture's own handlers first, then the early ones go: no moment without either
    stopOnSignals(capture, sink, log);
    const signal = early.release();
    if (signal) {
      log.info({ signal }, 'signal received before the tool ran: stopping it now');
      capture.stop('signal');
    }
    const ended = await capture.done;
    // just after the tool stopped, before anything else (the counters move on)
    const evidenceStored = await evidence?.takeAfterAndStore(sink);
    const outcome = await recogniseTargetGone(o, run.target, targetProcess, ended, log);
    // A capture always ends with a segment flagged `last`, so the collector can announce it as
    // complete: when the tool printed nothing at all, that is an empty text segment.
    if (sink.accepted === 0) sink.accept(segmentOf([], { format: 'text', records: 0 }));
    const stored = await sink.finish();
    return { outcome, stored, ...(evidenceStored ? { evidence: evidenceStored } : {}) };
  } finally {
    await puncher.close();
  }
}

/**
 * A tool that failed on its own just as its target went away was ended by that (target-gone.ts):
 * the target process is gone, or the pod (when read from the API) is deleted or replaced.
 */
async function recogniseTargetGone(o: RunOptions, target: Target, targetProcess: TargetProcess, outcome: CaptureOutcome, log: Logger): Promise<CaptureOutcome> {
  if (outcome.stopReason !== 'tool-exit' || (outcome.toolExitCode === 0 && outcome.toolSignal === undefined)) return outcome;
  let why: string | undefined;
  if (targetProcess.gone()) why = `process ${target.pid} is gone`;
  else if (o.pid === undefined) {
    const pod = await podPresence(o.namespace, o.pod, target.podUid);
    if (pod.gone) why = pod.why;
    else if (pod.why) log.warn({ err: pod.why }, 'cannot tell whether the target pod is gone');
  }
  if (why === undefined) return outcome;
  log.info({ why, toolExitCode: outcome.toolExitCode, toolSignal: outcome.toolSignal }, 'the tool failed as its target went away: target-gone');
  return { ...outcome, stopReason: TARGET_GONE };
}

/** Removes the tool's output file and podtracer's own spool directory unless they still hold data. */
async function removeOutputFiles(o: RunOptions, output: Output, stored: SinkResult, log: Logger): Promise<void> {
  if (stored.keepOutputFile) log.error({ outputFile: output.stdoutFile }, 'the tool output file is kept: it holds unsent segments that could not be saved otherwise');
  else await rm(output.stdoutTemp ?? output.stdoutFile, { recursive: true, force: true });
  if (output.spoolTemp && stored.unsentSegments === 0) await rm(output.spoolTemp, { recursive: true, force: true });
  else if (stored.unsentSegments > 0) log.error({ spoolDir: o.spoolDir ?? output.spoolTemp, unsent: stored.unsentSegments }, 'segments left in the spool');
}

function summarize(
  o: RunOptions,
  run: { captureId: string; target: Target; argv: string[]; startTime: string },
  outcome: CaptureOutcome,
  stored: SinkResult,
  evidence?: { object?: string; error?: string },
): Summary {
  const stats = o.command === 'tcpdump' ? parseTcpdumpStats(outcome.stderrTail) : {};
  const summary: Summary = {
    captureId: run.captureId,
    pod: o.pod,
    namespace: o.namespace,
    ...(run.target.container ? { container: run.target.container } : {}),
    pid: run.target.pid,
    command: o.command,
    args: run.argv,
    segments: stored.segments,
    bytes: stored.bytes,
    records: stored.records,
    objects: evidence?.object ? [...stored.objects, evidence.object] : stored.objects,
    ...(evidence?.object ? { evidence: evidence.object } : {}),
    ...(evidence?.error ? { evidenceError: evidence.error } : {}),
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
    startTime: run.startTime,
    endTime: new Date().toISOString(),
    exitCode: 0,
  };
  summary.exitCode = exitCodeFor(summary);
  return summary;
}

/** The summary to the termination log and as the last log line. */
async function report(summary: Summary, terminationLog: string | undefined, log: Logger): Promise<void> {
  if (terminationLog) {
    try {
      await writeTerminationLog(terminationLog, summary);
    } catch (err) {
      log.warn({ path: terminationLog, err: String(err) }, 'cannot write the termination log');
    }
  }
  log.info({ summary }, 'summary');
}

async function run(o: RunOptions): Promise<number> {
  tuneHeapForStreaming(CLIENT_HEAP_GROWING_PERCENT);
  const early = new EarlySignals();
  const log = createLogger('podtracer');
  const startTime = new Date().toISOString();
  let checked: { argv: string[]; policy: ToolPolicy };
  let target: Target;
  const procRoot = o.procRoot ?? defaultProcRoot();
  try {
    checked = checkToolPolicy(o, log);
    target = await findTarget(o, procRoot, log);
  } catch (err) {
    if (err instanceof RunEnd) return fail(err.code, err.message, o.terminationLog);
    throw err;
  }
  const { argv, policy } = checked;
  const captureId = o.captureId ?? generatedCaptureId();

  let capture: RunningCapture | undefined;
  const output = await prepareOutput(o, { captureId, target, argv }, log, (reason) => capture?.stop(reason));
  log.info({ captureId, pid: target.pid, command: o.command, argv, procRoot }, 'starting the tool');
  const { outcome, stored, evidence } = await captureAndStore(o, { captureId, target, argv, policy, procRoot }, output, (c) => (capture = c), early, log);
  await removeOutputFiles(o, output, stored, log);
  const summary = summarize(o, { captureId, target, argv, startTime }, outcome, stored, evidence);
  await report(summary, o.terminationLog, log);
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
  let code: number;
  if (parsed.kind === 'node') {
    const log = createLogger('podtracer');
    code = await runNode(parsed.options, { log, storeManifest: manifestStore(parsed.options, log) });
  } else code = await run(parsed.options);
  process.exit(code);
}

main().catch((err: unknown) => {
  process.stderr.write(`podtracer: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
