// Runs the tool inside the target's network namespace (`nsenter --net=… -- TOOL ARGV…`, never a
// shell) and feeds its stdout, cut into segments, to a sink. Stops it on the timer, the byte
// limit, a signal or the target's disappearance: SIGINT first (tcpdump flushes and prints its
// statistics), SIGKILL after the grace period.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { Segmenter } from '../lib/pcap/index.js';
import type { SegmentSink } from './sinks.js';
import type { StopReason } from './summary.js';

export interface CaptureOptions {
  procRoot: string;
  pid: number;
  command: string;
  argv: readonly string[];
  segmentBytes: number;
  segmentSeconds: number;
  timerMs?: number;
  maxBytes?: number;
  killGraceMs: number;
  /** how often to check that the target process still exists */
  targetPollMs?: number;
  log: Logger;
}

export interface CaptureOutcome {
  toolExitCode: number | null;
  toolSignal?: string;
  stopReason: StopReason;
  killed: boolean;
  bytesRead: number;
  bytesDiscarded: number;
  truncatedBytes: number;
  /** the last 64 KiB of the tool's stderr */
  stderrTail: string;
  spawnError?: string;
}

const STDERR_TAIL = 64 * 1024;
const STDERR_LOG_LINES = 200;

export interface RunningCapture {
  /** Graceful stop (SIGINT, then SIGKILL after the grace period). */
  stop(reason: StopReason): void;
  /** Immediate SIGKILL. */
  kill(): void;
  done: Promise<CaptureOutcome>;
}

export function startCapture(opts: CaptureOptions, sink: SegmentSink): RunningCapture {
  const { log } = opts;
  const nsPath = join(opts.procRoot, String(opts.pid), 'ns', 'net');
  const child = spawn('nsenter', [`--net=${nsPath}`, '--', opts.command, ...opts.argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const segmenter = new Segmenter({ maxBytes: opts.segmentBytes, format: 'auto' });
  let stopReason: StopReason | undefined;
  let killed = false;
  let bytesRead = 0;
  let bytesDiscarded = 0;
  let stderrTail = '';
  let stderrLines = 0;
  let stderrPartial = '';
  let spawnError: string | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const stop = (reason: StopReason) => {
    if (stopReason !== undefined || child.exitCode !== null || child.signalCode !== null) return;
    stopReason = reason;
    log.info({ reason, pid: child.pid }, 'stopping the tool (SIGINT)');
    child.kill('SIGINT');
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        log.warn({ graceMs: opts.killGraceMs }, 'the tool did not stop after SIGINT: SIGKILL');
        child.kill('SIGKILL');
      }
    }, opts.killGraceMs);
  };

  child.stdout!.on('data', (chunk: Buffer) => {
    let piece = chunk;
    if (opts.maxBytes !== undefined) {
      const room = opts.maxBytes - bytesRead;
      if (room <= 0) {
        bytesDiscarded += chunk.length;
        return;
      }
      if (chunk.length > room) {
        bytesDiscarded += chunk.length - room;
        piece = chunk.subarray(0, room);
      }
    }
    bytesRead += piece.length;
    for (const seg of segmenter.push(piece)) sink.accept(seg);
    if (opts.maxBytes !== undefined && bytesRead >= opts.maxBytes) stop('max-bytes');
  });

  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    stderrPartial += text;
    const lines = stderrPartial.split('\n');
    stderrPartial = lines.pop()!;
    for (const line of lines) {
      if (stderrLines++ < STDERR_LOG_LINES && line.trim() !== '') log.info({ tool: opts.command, stderr: line }, 'tool stderr');
    }
    if (stderrPartial.length > 4096) stderrPartial = '';
  });

  const rotation = setInterval(() => {
    const seg = segmenter.cut();
    if (seg) sink.accept(seg);
  }, opts.segmentSeconds * 1000);

  const timer = opts.timerMs !== undefined ? setTimeout(() => stop('timer'), opts.timerMs) : undefined;

  const targetDir = join(opts.procRoot, String(opts.pid));
  const targetWatch = setInterval(() => {
    if (!existsSync(targetDir)) {
      log.info({ pid: opts.pid }, 'the target process is gone');
      stop('target-gone');
    }
  }, opts.targetPollMs ?? 1000);

  const done = new Promise<CaptureOutcome>((resolve) => {
    child.once('error', (err) => {
      spawnError = `cannot run nsenter: ${err.message}`;
      log.error({ err: spawnError }, 'spawn failed');
    });
    // 'close' comes after stdout and stderr ended, so every byte has been pushed
    child.once('close', (code, signal) => {
      clearInterval(rotation);
      clearInterval(targetWatch);
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (stderrPartial.trim() !== '' && stderrLines < STDERR_LOG_LINES) log.info({ tool: opts.command, stderr: stderrPartial }, 'tool stderr');
      const { segment, truncatedBytes } = segmenter.end();
      if (segment) sink.accept(segment);
      const outcome: CaptureOutcome = {
        toolExitCode: code,
        stopReason: stopReason ?? 'tool-exit',
        killed,
        bytesRead,
        bytesDiscarded,
        truncatedBytes,
        stderrTail,
      };
      if (signal) outcome.toolSignal = signal;
      if (spawnError) outcome.spawnError = spawnError;
      log.info({ code, signal, stopReason: outcome.stopReason, bytesRead }, 'tool ended');
      resolve(outcome);
    });
  });

  return {
    stop,
    kill: () => {
      killed = true;
      child.kill('SIGKILL');
    },
    done,
  };
}
