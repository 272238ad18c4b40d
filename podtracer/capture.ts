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
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../lib/log.js';
import { Segmenter } from '../lib/pcap/index.js';
import type { HolePuncher } from './hole-punch.js';
import { SANDBOX_ERROR_PREFIX, SANDBOX_READY_LINE, SANDBOX_SETUP_FAILED, sandboxArgv, toolEnd } from './sandbox.js';
import type { SegmentSink } from './sinks.js';
import type { StopReason } from './summary.js';
import type { TargetProcess } from './target-gone.js';

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
  /** the target process, checked every targetPollMs while the tool runs */
  target: TargetProcess;
  targetPollMs: number;
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

/** The tool, spawned in the sandbox with its stdout on the output file. */
interface SpawnedTool {
  child: ChildProcess;
  /** a signal to the tool's process group (its own, and its session's) */
  signal(signal: NodeJS.Signals): void;
  ended(): boolean;
}

function spawnSandboxedTool(opts: CaptureOptions): SpawnedTool {
  const nsPath = join(opts.procRoot, String(opts.pid), 'ns', 'net');
  const stdoutFd = openSync(opts.stdoutFile, 'w+', 0o600);
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
  // the child has its own copy of the descriptor now
  closeSync(stdoutFd);
  return {
    child,
    signal: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone: everything in it ended
      }
    },
    ended: () => child.exitCode !== null || child.signalCode !== null,
  };
}

/**
 * Stopping the tool: SIGINT once it runs (a stop asked for while the sandbox is being set up goes
 * out when it is ready), SIGKILL after the grace period. The first reason given is the one reported.
 */
class ToolStopper {
  reason: StopReason | undefined;
  killed = false;
  private toolStarted = false;
  private sigintPending = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tool: SpawnedTool,
    private readonly killGraceMs: number,
    private readonly log: Logger,
  ) {}

  stop(reason: StopReason): void {
    if (this.reason !== undefined || this.tool.ended()) return;
    this.reason = reason;
    this.log.info({ reason, pid: this.tool.child.pid }, 'stopping the tool (SIGINT)');
    // before the tool runs, the sandbox's init would only note the signal: it goes out once the
    // sandbox is ready (SIGKILL after the grace period either way)
    if (this.toolStarted) this.tool.signal('SIGINT');
    else this.sigintPending = true;
    this.killTimer = setTimeout(() => {
      if (!this.tool.ended()) {
        this.killed = true;
        this.log.warn({ graceMs: this.killGraceMs }, 'the tool did not stop after SIGINT: SIGKILL');
        this.tool.signal('SIGKILL');
      }
    }, this.killGraceMs);
  }

  kill(): void {
    this.killed = true;
    this.tool.signal('SIGKILL');
  }

  /** The sandbox is ready and the tool runs: a stop asked for before goes out now. */
  toolStarts(): void {
    this.toolStarted = true;
    if (this.sigintPending) this.tool.signal('SIGINT');
  }

  clear(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
  }
}

/** The tool's stderr: its last 64 KiB kept (tcpdump's statistics), its first lines logged. */
class ToolStderr {
  tail = '';
  private lines = 0;
  private partial = '';

  constructor(
    private readonly command: string,
    private readonly log: Logger,
  ) {}

  push(text: string): void {
    this.tail = (this.tail + text).slice(-STDERR_TAIL);
    this.partial += text;
    const lines = this.partial.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      if (this.lines++ < STDERR_LOG_LINES && line.trim() !== '') this.log.info({ tool: this.command, stderr: line }, 'tool stderr');
    }
    if (this.partial.length > 4096) this.partial = '';
  }

  /** Logs an unfinished last line. */
  end(): void {
    if (this.partial.trim() !== '' && this.lines < STDERR_LOG_LINES) this.log.info({ tool: this.command, stderr: this.partial }, 'tool stderr');
  }
}

/**
 * The sandbox says on stderr when it is set up and the tool starts (SANDBOX_READY_LINE): what
 * precedes the line is the sandbox's, what follows the tool's. Returns a flush for what was
 * written before the line when the tool ends without it.
 */
function watchSandboxStart(stderr: Readable, out: ToolStderr, onToolStart: () => void): () => void {
  let toolStarted = false;
  let beforeStart = '';
  stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (toolStarted) return out.push(text);
    beforeStart += text;
    const at = beforeStart.indexOf(SANDBOX_READY_LINE);
    if (at >= 0) {
      const rest = beforeStart.slice(at + SANDBOX_READY_LINE.length);
      if (at > 0) out.push(beforeStart.slice(0, at));
      beforeStart = '';
      toolStarted = true;
      onToolStart();
      if (rest !== '') out.push(rest);
    } else if (beforeStart.length > STDERR_TAIL) {
      out.push(beforeStart);
      beforeStart = '';
    }
  });
  return () => {
    if (beforeStart !== '') out.push(beforeStart);
    beforeStart = '';
  };
}

/** Output read from the tool's file: cut into segments for the sink, within --max-bytes. */
class OutputCounter {
  bytesRead = 0;
  bytesDiscarded = 0;

  constructor(
    private readonly segmenter: Segmenter,
    private readonly sink: SegmentSink,
    private readonly maxBytes: number | undefined,
    private readonly onMaxBytes: () => void,
  ) {}

  take(chunk: Buffer): void {
    let piece = chunk;
    if (this.maxBytes !== undefined) {
      const room = this.maxBytes - this.bytesRead;
      if (room <= 0) {
        this.bytesDiscarded += chunk.length;
        return;
      }
      if (chunk.length > room) {
        this.bytesDiscarded += chunk.length - room;
        piece = chunk.subarray(0, room);
      }
    }
    this.bytesRead += piece.length;
    for (const seg of this.segmenter.push(piece)) this.sink.accept(seg);
    if (this.maxBytes !== undefined && this.bytesRead >= this.maxBytes) this.onMaxBytes();
  }
}

interface OutputFollower {
  /** resolves once the tool ended and everything it wrote was read */
  done: Promise<void>;
  /** the tool ended: read what is left, then end */
  toolEnded(): void;
}

/**
 * Follows the stdout file until the tool ended and everything it wrote was read, and punches
 * out what neither the segmenter nor the sink needs any more.
 */
function followOutput(path: string, take: (chunk: Buffer) => void, segmenter: Segmenter, sink: SegmentSink, puncher: HolePuncher): OutputFollower {
  let ended = false;
  let wakeReader: (() => void) | undefined;
  const follow = async (): Promise<void> => {
    let fh: FileHandle | undefined;
    let pos = 0;
    let punched = 0;
    // bytes before both the segmenter's buffer and the sink's oldest unconfirmed segment: checked
    // after every read and while idle, since uploads are confirmed whether or not the tool writes
    const punchUnneeded = () => {
      const unneeded = Math.min(segmenter.emittedUpTo, sink.neededFrom());
      if (unneeded - punched >= puncher.stepBytes) punched = puncher.punch(punched, unneeded);
    };
    try {
      fh = await open(path, 'r');
      for (;;) {
        // The tool writes to the file whatever podtracer does, so waiting here costs disk, never packets.
        await sink.waitForRoom();
        const endedBefore = ended; // read before looking at the size: no write can follow the end
        const { size } = await fh.stat();
        if (size > pos) {
          // a fresh buffer per read: the segmenter keeps references to the chunks it was given
          const buf = Buffer.allocUnsafe(Math.min(size - pos, READ_MAX));
          const { bytesRead: n } = await fh.read(buf, 0, buf.length, pos);
          if (n > 0) {
            pos += n;
            take(buf.subarray(0, n));
            punchUnneeded();
            continue;
          }
        }
        if (endedBefore) return;
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
  return {
    done: follow(),
    toolEnded: () => {
      ended = true;
      wakeReader?.();
    },
  };
}

/** Calls onGone once the target process is gone (target-gone.ts), checked every pollMs. */
function watchTarget(target: TargetProcess, pollMs: number, log: Logger, onGone: () => void): NodeJS.Timeout {
  return setInterval(() => {
    if (target.gone()) {
      log.info({ pid: target.pid }, 'the target process is gone');
      onGone();
    }
  }, pollMs);
}

export function startCapture(opts: CaptureOptions, sink: SegmentSink): RunningCapture {
  const { log } = opts;
  const tool = spawnSandboxedTool(opts);
  const stopper = new ToolStopper(tool, opts.killGraceMs, log);
  const stop = (reason: StopReason) => stopper.stop(reason);
  const segmenter = new Segmenter({ maxBytes: opts.segmentBytes, format: 'auto' });

  const output = new OutputCounter(segmenter, sink, opts.maxBytes, () => stop('max-bytes'));
  const follower = followOutput(opts.stdoutFile, (chunk) => output.take(chunk), segmenter, sink, opts.puncher);
  let readError: string | undefined;
  const reading = follower.done.catch((err: unknown) => {
    // nothing more can be read: stop the tool rather than let it write for nobody
    readError = `reading the tool's output failed: ${(err as Error).message}`;
    log.error({ err: readError }, 'output lost');
    stop('signal');
  });

  // the timer counts from the tool's start, and a stop asked for before is carried out then
  const stderr = new ToolStderr(opts.command, log);
  let timer: NodeJS.Timeout | undefined;
  const flushBeforeStart = watchSandboxStart(tool.child.stderr!, stderr, () => {
    log.debug('sandbox ready, the tool starts');
    if (opts.timerMs !== undefined) timer = setTimeout(() => stop('timer'), opts.timerMs);
    stopper.toolStarts();
  });

  const rotation = setInterval(() => {
    const seg = segmenter.cut();
    if (seg) sink.accept(seg);
  }, opts.segmentSeconds * 1000);
  const targetWatch = watchTarget(opts.target, opts.targetPollMs, log, () => stop('target-gone'));

  let spawnError: string | undefined;
  const done = new Promise<CaptureOutcome>((resolve) => {
    tool.child.once('error', (err) => {
      spawnError = `cannot run nsenter: ${err.message}`;
      log.error({ err: spawnError }, 'spawn failed');
    });
    // 'close' comes after the process exited and stderr ended; then read the rest of its output
    tool.child.once('close', async (rawCode, rawSignal) => {
      flushBeforeStart();
      const { code, signal } = toolEnd(rawCode, rawSignal);
      if (rawCode === SANDBOX_SETUP_FAILED) {
        const line = stderr.tail.split('\n').find((l) => l.startsWith(SANDBOX_ERROR_PREFIX));
        if (line !== undefined) spawnError = `the sandbox could not be set up, nothing was run: ${line.slice(SANDBOX_ERROR_PREFIX.length).trim()}`;
      }
      // RLIMIT_FSIZE is --max-bytes plus a margin (sandbox.ts): the tool wrote past --max-bytes
      if (signal === 'SIGXFSZ' && opts.maxBytes !== undefined && stopper.reason === undefined) stopper.reason = 'max-bytes';
      follower.toolEnded();
      await reading;
      clearInterval(rotation);
      clearInterval(targetWatch);
      if (timer) clearTimeout(timer);
      stopper.clear();
      stderr.end();
      const { segment, truncatedBytes } = segmenter.end();
      if (segment) sink.accept(segment);
      const outcome: CaptureOutcome = {
        toolExitCode: code,
        stopReason: stopper.reason ?? 'tool-exit',
        killed: stopper.killed,
        bytesRead: output.bytesRead,
        bytesDiscarded: output.bytesDiscarded,
        truncatedBytes,
        stderrTail: stderr.tail,
      };
      if (signal) outcome.toolSignal = signal;
      if (spawnError ?? readError) outcome.error = (spawnError ?? readError)!;
      log.info({ code, signal, stopReason: outcome.stopReason, bytesRead: output.bytesRead }, 'tool ended');
      resolve(outcome);
    });
  });

  return { stop, kill: () => stopper.kill(), done };
}
