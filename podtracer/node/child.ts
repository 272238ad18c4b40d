// One target of `podtracer node`: a child `podtracer run` (the tested single-target path, with
// its own segment stream, object keys, target-gone and evidence), given that target's token in
// its environment and its own termination log and spool directory. Its log lines are passed on
// as the node's, marked with the target, and read for what the report needs: its summary (whole:
// the termination log shortens long object lists) and its last error line.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AssignedTarget } from '../../lib/contracts/node-capture.js';
import { PodtracerEnv, toArgs, type PodtracerInvocation } from '../../lib/contracts/podtracer-invocation.js';
import type { Logger } from '../../lib/log.js';

const PODTRACER_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** What a target's `podtracer run` gets of its own; the rest of its words are the node's. */
export interface ChildFiles {
  captureId: string;
  terminationLog: string;
  spoolDir?: string;
  outputDir?: string;
  /** what is left of the node run's timer */
  timerMs?: number;
}

/**
 * The target's `podtracer run` command line: the node's options as written (contract words, so
 * they mean what they mean for `run`) but those the node gives each child its own value of, the
 * target, and the node's tool.
 */
export function childArgs(node: PodtracerInvocation, target: AssignedTarget, files: ChildFiles): string[] {
  const { assignmentDir: _a, terminationLog: _l, spoolDir: _s, outputDir: _o, timer: _t, captureId: _c, ...shared } = node.options;
  return toArgs({
    options: {
      ...shared,
      pod: target.pod,
      namespace: target.namespace,
      container: target.container,
      captureId: files.captureId,
      terminationLog: files.terminationLog,
      ...(files.spoolDir !== undefined ? { spoolDir: files.spoolDir } : {}),
      ...(files.outputDir !== undefined ? { outputDir: files.outputDir } : {}),
      // whole milliseconds, at least one: a timer of 0 means "no timer" to nobody, but is refused
      ...(files.timerMs !== undefined ? { timer: `${Math.max(1, Math.ceil(files.timerMs))}ms` } : {}),
    },
    ...(node.positionals ? { positionals: node.positionals } : {}),
    ...(node.tool ? { tool: node.tool } : {}),
  });
}

/**
 * The child's environment: the node's, with the target's own token, UID and node name, and no
 * termination log of the node's (the child has its own, on its command line).
 */
export function childEnv(env: NodeJS.ProcessEnv, target: AssignedTarget, token: string, node: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  delete out[PodtracerEnv.terminationLog];
  out[PodtracerEnv.captureToken] = token;
  out[PodtracerEnv.podUid] = target.uid;
  out[PodtracerEnv.nodeName] = env[PodtracerEnv.nodeName] || node;
  return out;
}

/** How a target's child ended, with what it said about it. */
export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** the summary the child logged last (every object), else its termination log */
  summary?: Record<string, unknown>;
  /** the child's failure before the tool ran ({error, exitCode} in its termination log) */
  failure?: string;
  /** the tool's last stderr line */
  lastToolLine?: string;
  /** podtracer's last error line */
  lastError?: string;
  startTime: string;
  completionTime: string;
}

/** Marks a JSON log line with the target; anything else becomes one. */
function relayLine(line: string, target: string): string {
  if (line.startsWith('{') && line.endsWith('}')) return `{"target":${JSON.stringify(target)},${line.slice(1)}\n`;
  return `${JSON.stringify({ level: 40, time: Date.now(), name: 'podtracer', target, msg: 'child output', line })}\n`;
}

interface LogRecord {
  level?: number;
  msg?: string;
  err?: unknown;
  stderr?: unknown;
  summary?: Record<string, unknown>;
}

const ERROR_LEVEL = 50;

export class TargetChild {
  readonly id: string;
  private child: ChildProcess | undefined;
  private sigterms = 0;
  readonly done: Promise<ChildEnd>;
  private resolveDone!: (end: ChildEnd) => void;

  constructor(
    readonly target: AssignedTarget,
    private readonly argv: string[],
    private readonly env: Record<string, string>,
    private readonly terminationLog: string,
    private readonly log: Logger,
  ) {
    this.id = `${target.namespace}/${target.pod}`;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Spawns the child; returns its PID. */
  start(): number | undefined {
    const startTime = new Date().toISOString();
    const child = spawn(process.execPath, [PODTRACER_MAIN, ...this.argv], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let summary: Record<string, unknown> | undefined;
    let lastToolLine: string | undefined;
    let lastError: string | undefined;
    const lines = createInterface({ input: child.stderr!, crlfDelay: Infinity });
    lines.on('line', (line) => {
      process.stderr.write(relayLine(line, this.id));
      if (!line.startsWith('{')) {
        if (line.trim() !== '') lastError = line.replace(/^podtracer: /, '');
        return;
      }
      let rec: LogRecord;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch {
        return;
      }
      if (rec.msg === 'summary' && typeof rec.summary === 'object' && rec.summary !== null) summary = rec.summary;
      else if (rec.msg === 'tool stderr' && typeof rec.stderr === 'string') lastToolLine = rec.stderr;
      else if ((rec.level ?? 0) >= ERROR_LEVEL) lastError = typeof rec.err === 'string' ? `${rec.msg ?? ''}: ${rec.err}` : (rec.msg ?? lastError);
    });
    let spawnError: string | undefined;
    child.once('error', (err) => (spawnError = `cannot start podtracer run: ${err.message}`));
    // 'close': exited and its stderr read to the end, so the summary line was seen if it was written
    child.once('close', (code, signal) => {
      void this.finish({ code, signal, startTime, summary, lastToolLine, lastError: spawnError ?? lastError });
    });
    return child.pid;
  }

  private async finish(e: { code: number | null; signal: NodeJS.Signals | null; startTime: string; summary?: Record<string, unknown>; lastToolLine?: string; lastError?: string }): Promise<void> {
    const end: ChildEnd = { code: e.code, signal: e.signal, startTime: e.startTime, completionTime: new Date().toISOString() };
    let written: Record<string, unknown> | undefined;
    try {
      written = JSON.parse(await readFile(this.terminationLog, 'utf8')) as Record<string, unknown>;
    } catch {
      written = undefined;
    }
    if (e.summary) end.summary = e.summary;
    else if (written && typeof written.error === 'string' && !('captureId' in written)) end.failure = written.error;
    else if (written) end.summary = written;
    if (e.lastToolLine !== undefined) end.lastToolLine = e.lastToolLine;
    if (e.lastError !== undefined) end.lastError = e.lastError;
    this.log.info({ target: this.id, code: e.code, signal: e.signal }, 'target capture ended');
    this.resolveDone(end);
  }

  /** Graceful stop, once: the child stops its tool and stores what it has. */
  stop(): void {
    if (this.sigterms === 0) this.signal();
  }

  /** A second SIGTERM: the child kills its tool at once and stops retrying uploads. */
  hurry(): void {
    if (this.sigterms === 0) this.signal();
    if (this.sigterms === 1) this.signal();
  }

  private signal(): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.sigterms++;
    this.child.kill('SIGTERM');
  }
}
