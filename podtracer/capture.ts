// Runs the tool inside the target's network namespace, in the sandbox of sandbox.ts (never
// through a shell that sees its argv), and feeds its stdout, cut into segments, to a sink. Stops
// it on the timer, the byte limit, a signal or the target's disappearance: SIGINT to its process
// group first (tcpdump flushes and prints its statistics), SIGKILL after the grace period.
//
// The tool's stdout is a file, not a pipe: the tool writes at page-cache speed and never waits
// for podtracer (a pipe's small buffer makes tcpdump block whenever podtracer is descheduled, and
// a blocked tcpdump is a kernel that drops packets). podtracer follows the file as it grows; the
// file is also the upload spool (spool.ts), and what no segment needs any more is punched out, so
// it holds only the unread backlog and the segments not yet confirmed.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../lib/log.js';
import { Segmenter } from '../lib/pcap/index.js';
import { processStartTime } from '../lib/proc.js';
import type { HolePuncher } from './hole-punch.js';
import { SANDBOX_ERROR_PREFIX, SANDBOX_READY_LINE, SANDBOX_SETUP_FAILED, sandboxArgv, toolEnd } from './sandbox.js';
import type { SegmentSink } from './sinks.js';
import type { StopReason } from './summary.js';

export interface CaptureOptions {
  procRoot: string;
  pid: number;
  command: string;
  argv: readonly string[];
  /** mutating tools allowed: the tool keeps NET_ADMIN (sandbox.ts) */
  allowMutating: boolean;
  segmentBytes: number;
  segmentSeconds: number;
  timerMs?: number;
  maxBytes?: number;
  killGraceMs: number;
  /** the file that receives the tool's stdout (created here; the caller deletes it once the
   *  sink has finished, since the sink may read segments back from it) */
  stdoutFile: string;
  /** punches holes into stdoutFile, in its steps */
  puncher: HolePuncher;
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
  /** nsenter could not be started, the sandbox could not be set up, or the output could not be read */
  error?: string;
}

const STDERR_TAIL = 64 * 1024;
/** largest single read from the stdout file */
const READ_MAX = 4 * 1024 * 1024;
/** how often to look for new output when there was none */
const IDLE_POLL_MS = 20;
const STDERR_LOG_LINES = 200;

export interface RunningCapture {
  /** Graceful stop (SIGINT, then SIGKILL after the grace period). */
  stop(reason: StopReason): void;
  /** Immediate SIGKILL. */
  kill(): void;
  done: Promise<CaptureOutcome>;
}

/** The environment the tool gets: the search path and the locale, nothing of podtracer's own. */
export function toolEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const k of ['LANG', 'LC_ALL', 'TZ']) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}

export function startCapture(opts: CaptureOptions, sink: SegmentSink): RunningCapture {
  const { log } = opts;
  const nsPath = join(opts.procRoot, String(opts.pid), 'ns', 'net');
  const stdoutPath = opts.stdoutFile;
  const stdoutFd = openSync(stdoutPath, 'w+', 0o600);
  const [bin, ...args] = sandboxArgv({
    procRoot: opts.procRoot,
    netnsPath: nsPath,
    command: opts.command,
    argv: opts.argv,
    allowMutating: opts.allowMutating,
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
  });
  // its own process group (and session), whose signals reach the tool; only what the tool needs
  // of the environment: podtracer's (the capture token above all) stays here
  const child = spawn(bin!, args, {
    stdio: ['ignore', stdoutFd, 'pipe'],
    detached: true,
    env: toolEnv(process.env),
  });
  const signalTool = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone: everything in it ended
    }
  };
  // the child has its own copy of the descriptor now
  closeSync(stdoutFd);
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

  let toolStarted = false;
  let sigintPending = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason) => {
    if (stopReason !== undefined || child.exitCode !== null || child.signalCode !== null) return;
    stopReason = reason;
    log.info({ reason, pid: child.pid }, 'stopping the tool (SIGINT)');
    // before the tool runs, the sandbox's init would only note the signal: it goes out once the
    // sandbox is ready (SIGKILL after the grace period either way)
    if (toolStarted) signalTool('SIGINT');
    else sigintPending = true;
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        log.warn({ graceMs: opts.killGraceMs }, 'the tool did not stop after SIGINT: SIGKILL');
        signalTool('SIGKILL');
      }
    }, opts.killGraceMs);
  };

  const onData = (chunk: Buffer) => {
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
  };

  let toolEnded = false;
  let wakeReader: (() => void) | undefined;
  /** Follows the stdout file until the tool ended and everything it wrote was read. */
  const follow = async (): Promise<void> => {
    let fh: FileHandle | undefined;
    let pos = 0;
    let punched = 0;
    // bytes before both the segmenter's buffer and the sink's oldest unconfirmed segment: checked
    // after every read and while idle, since uploads are confirmed whether or not the tool writes
    const punchUnneeded = () => {
      const unneeded = Math.min(segmenter.emittedUpTo, sink.neededFrom());
      if (unneeded - punched >= opts.puncher.stepBytes) punched = opts.puncher.punch(punched, unneeded);
    };
    try {
      fh = await open(stdoutPath, 'r');
      for (;;) {
        // The tool writes to the file whatever podtracer does, so waiting here costs disk, never packets.
        await sink.waitForRoom();
        const ended = toolEnded; // read before looking at the size: no write can follow the end
        const { size } = await fh.stat();
        if (size > pos) {
          // a fresh buffer per read: the segmenter keeps references to the chunks it was given
          const buf = Buffer.allocUnsafe(Math.min(size - pos, READ_MAX));
          const { bytesRead: n } = await fh.read(buf, 0, buf.length, pos);
          if (n > 0) {
            pos += n;
            onData(buf.subarray(0, n));
            punchUnneeded();
            continue;
          }
        }
        if (ended) return;
        punchUnneeded();
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, IDLE_POLL_MS);
          function done() {
            clearTimeout(t);
            wakeReader = undefined;
            resolve();
          }
          wakeReader = done;
        });
      }
    } finally {
      await fh?.close();
    }
  };
  let readError: string | undefined;
  const reading = follow().catch((err: unknown) => {
    // nothing more can be read: stop the tool rather than let it write for nobody
    readError = `reading the tool's output failed: ${(err as Error).message}`;
    log.error({ err: readError }, 'output lost');
    stop('signal');
  });

  const onStderr = (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
    stderrPartial += text;
    const lines = stderrPartial.split('\n');
    stderrPartial = lines.pop()!;
    for (const line of lines) {
      if (stderrLines++ < STDERR_LOG_LINES && line.trim() !== '') log.info({ tool: opts.command, stderr: line }, 'tool stderr');
    }
    if (stderrPartial.length > 4096) stderrPartial = '';
  };
  // The sandbox says on stderr when it is set up and the tool starts: the timer counts from there,
  // and a stop asked for before is carried out then. What precedes the line is the sandbox's.
  let beforeStart = '';
  const onToolStart = () => {
    toolStarted = true;
    log.debug('sandbox ready, the tool starts');
    if (opts.timerMs !== undefined) timer = setTimeout(() => stop('timer'), opts.timerMs);
    if (sigintPending) signalTool('SIGINT');
  };
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (toolStarted) return onStderr(text);
    beforeStart += text;
    const at = beforeStart.indexOf(SANDBOX_READY_LINE);
    if (at >= 0) {
      const rest = beforeStart.slice(at + SANDBOX_READY_LINE.length);
      if (at > 0) onStderr(beforeStart.slice(0, at));
      beforeStart = '';
      onToolStart();
      if (rest !== '') onStderr(rest);
    } else if (beforeStart.length > STDERR_TAIL) {
      onStderr(beforeStart);
      beforeStart = '';
    }
  });

  const rotation = setInterval(() => {
    const seg = segmenter.cut();
    if (seg) sink.accept(seg);
  }, opts.segmentSeconds * 1000);


  // The target is gone when its /proc entry is, or when the PID now names another process
  // (same PID, different start time).
  const startOf = (): string | undefined => processStartTime(opts.pid, opts.procRoot);
  const targetStart = startOf();
  const targetDir = join(opts.procRoot, String(opts.pid));
  const targetWatch = setInterval(() => {
    if (targetStart === undefined ? !existsSync(targetDir) : startOf() !== targetStart) {
      log.info({ pid: opts.pid }, 'the target process is gone');
      stop('target-gone');
    }
  }, opts.targetPollMs ?? 1000);

  const done = new Promise<CaptureOutcome>((resolve) => {
    child.once('error', (err) => {
      spawnError = `cannot run nsenter: ${err.message}`;
      log.error({ err: spawnError }, 'spawn failed');
    });
    // 'close' comes after the process exited and stderr ended; then read the rest of its output
    child.once('close', async (rawCode, rawSignal) => {
      toolEnded = true;
      if (beforeStart !== '') onStderr(beforeStart);
      const { code, signal } = toolEnd(rawCode, rawSignal);
      if (rawCode === SANDBOX_SETUP_FAILED) {
        const line = stderrTail.split('\n').find((l) => l.startsWith(SANDBOX_ERROR_PREFIX));
        if (line !== undefined) spawnError = `the sandbox could not be set up, nothing was run: ${line.slice(SANDBOX_ERROR_PREFIX.length).trim()}`;
      }
      // RLIMIT_FSIZE is --max-bytes plus a margin (sandbox.ts): the tool wrote past --max-bytes
      if (signal === 'SIGXFSZ' && opts.maxBytes !== undefined && stopReason === undefined) stopReason = 'max-bytes';
      wakeReader?.();
      await reading;
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
      if (spawnError ?? readError) outcome.error = (spawnError ?? readError)!;
      log.info({ code, signal, stopReason: outcome.stopReason, bytesRead }, 'tool ended');
      resolve(outcome);
    });
  });

  return {
    stop,
    kill: () => {
      killed = true;
      signalTool('SIGKILL');
    },
    done,
  };
}
