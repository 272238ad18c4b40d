// Command-line parsing for `podtracer run`, in both syntaxes, and `podtracer node` (podtracer/README.md):
//   podtracer run --pod P --namespace NS [options] -- TOOL [ARGS...]
//   podtracer run TOOL -a "ARGS" [-t 2m] [-d HOST -p PORT] --pod P -n NS      (the seed's syntax)
//   podtracer node [--assignment-dir DIR] [options] -- TOOL [ARGS...]
// The words are read by the operator → podtracer contract (lib/contracts/podtracer-invocation.ts);
// this gives them their meaning: units, defaults from the environment, checks. Pure.
import { NODE_ASSIGNMENT_DIR } from '../lib/contracts/node-capture.js';
import {
  InvocationSyntaxError,
  PodtracerEnv,
  defaultTerminationLog,
  fromArgs,
  type PodtracerCommand,
  type PodtracerInvocation,
} from '../lib/contracts/podtracer-invocation.js';
import { parseDuration } from '../lib/duration.js';
import { UPLOAD_DEADLINE_MS } from '../lib/knative-serving.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface RunOptions {
  pod: string;
  namespace: string;
  container?: string;
  pid?: number;
  timerMs?: number;
  maxBytes?: number;
  collector?: string;
  outputDir?: string;
  captureId?: string;
  segmentBytes: number;
  segmentSeconds: number;
  spoolDir?: string;
  spoolMaxBytes: number;
  spoolMemoryBytes: number;
  spoolPunchBytes: number;
  killGraceMs: number;
  /** how often the target process is checked while the tool runs */
  targetPollMs: number;
  uploadGraceMs: number;
  uploadDeadlineMs: number;
  terminationLog?: string;
  procRoot?: string;
  job?: string;
  jobNamespace?: string;
  /** take the evidence snapshots (podtracer/evidence.ts) */
  evidence: boolean;
  command: string;
  /** the tool's arguments: a string to tokenise (seed -a) or an argv given after "--" */
  args: string | string[];
}

/** The options of `podtracer run` that name its target: `podtracer node` has an assignment instead. */
type TargetOptionKey = 'pod' | 'namespace' | 'container' | 'pid';

/**
 * `podtracer node`: the run options' values, meant as for `podtracer run` and checked by the same
 * code, and the words as written, which each target's `podtracer run` is given (podtracer/node/).
 */
export interface NodeOptions extends Omit<RunOptions, TargetOptionKey> {
  assignmentDir: string;
  invocation: PodtracerInvocation;
}

export type ParsedCommand =
  | { kind: 'help'; topic?: string }
  | { kind: 'version' }
  | { kind: 'run'; options: RunOptions }
  | { kind: 'node'; options: NodeOptions };

const MIB = 1024 * 1024;

export const DEFAULTS = {
  segmentBytes: 32 * MIB,
  segmentSeconds: 60,
  spoolMaxBytes: 1024 * MIB,
  spoolMemoryBytes: 64 * MIB,
  spoolPunchBytes: 1024 * MIB,
  killGraceMs: 10_000,
  targetPollMs: 1000,
  uploadGraceMs: 120_000,
  // below the collector's Knative request timeout, so podtracer gives up first (lib/knative-serving)
  uploadDeadlineMs: UPLOAD_DEADLINE_MS,
};

/** Sizes: plain bytes or with a binary suffix (K, Ki, KiB, M, MiB, G, GiB; k/KB = 1000). */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|k|K|Ki|KiB|KB|M|Mi|MiB|MB|G|Gi|GiB|GB)$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: "${text}" is not a size (e.g. 1048576, 512Ki, 32Mi, 1Gi)`);
  const mult: Record<string, number> = {
    '': 1, k: 1e3, KB: 1e3, K: 1024, Ki: 1024, KiB: 1024, M: MIB, Mi: MIB, MiB: MIB, MB: 1e6,
    G: 1024 * MIB, Gi: 1024 * MIB, GiB: 1024 * MIB, GB: 1e9,
  };
  const n = Math.floor(Number(m[1]) * mult[m[2]!]!);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what}: "${text}" must be at least 1 byte`);
  return n;
}

/**
 * Longest duration an option takes: node's timers hold at most 2^31-1 ms (about 24.8 days) and
 * fire after 1 ms when given more, which would stop a capture (or cut a segment) at once.
 */
export const MAX_DURATION_MS = 24 * 86_400_000;

function checkDurationLimit(ms: number, text: string, what: string): number {
  if (ms > MAX_DURATION_MS) throw new UsageError(`${what}: "${text}" is longer than the maximum of 24d`);
  return ms;
}

function parseDurationOption(text: string, what: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message}`);
  }
  return checkDurationLimit(ms, text, what);
}

/** on/off switches (off when not given) */
function parseOnOff(text: string | undefined, what: string): boolean {
  if (text === undefined || text === 'off') return false;
  if (text === 'on') return true;
  throw new UsageError(`${what} takes "on" or "off", got "${text}"`);
}

/** --segment-seconds accepts a number of seconds or a duration ("90s", "2m"). */
function parseSeconds(text: string, what: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : parseDurationOption(text, what) / 1000;
  if (!(seconds > 0)) throw new UsageError(`${what}: must be more than 0 seconds, got "${text}"`);
  checkDurationLimit(seconds * 1000, text, what);
  return seconds;
}

/** Parses argv after the program name. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedCommand {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { kind: 'help' };
  if (argv[0] === '--version' || argv[0] === 'version') return { kind: 'version' };
  if (argv[0] !== 'run' && argv[0] !== 'node') throw new UsageError(`unknown command "${argv[0]}" (expected "run" or "node"; see --help)`);
  const command: PodtracerCommand = argv[0];
  let inv: PodtracerInvocation;
  try {
    inv = fromArgs(argv.slice(1), command);
  } catch (err) {
    if (err instanceof InvocationSyntaxError) throw new UsageError(err.message);
    throw err;
  }
  if (inv.help) return { kind: 'help', topic: command };
  if (command === 'run') return { kind: 'run', options: readOptions(inv, env, 'run') as RunOptions };
  const { pod: _p, namespace: _n, ...shared } = readOptions(inv, env, 'node');
  return { kind: 'node', options: { ...shared, assignmentDir: inv.options.assignmentDir ?? NODE_ASSIGNMENT_DIR, invocation: inv } };
}

/**
 * The values of a command line's options. For `node` there is no target (pod and namespace come
 * back empty); the other options mean the same for both commands.
 */
function readOptions(inv: PodtracerInvocation, env: NodeJS.ProcessEnv, mode: PodtracerCommand): RunOptions {
  const raw = inv.options;
  const positionals = inv.positionals ?? [];
  const afterDashes = inv.tool;

  let command: string;
  let args: string | string[];
  if (afterDashes !== undefined) {
    if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}" before "--" (the tool goes after "--")`);
    if (raw.args !== undefined) throw new UsageError('-a/--args cannot be combined with a tool after "--"');
    if (afterDashes.length === 0) throw new UsageError('no tool after "--"');
    command = afterDashes[0]!;
    args = afterDashes.slice(1);
  } else {
    if (positionals.length === 0) throw new UsageError('no tool given (podtracer run [options] -- TOOL [ARGS...])');
    if (positionals.length > 1) {
      throw new UsageError(`unexpected argument "${positionals[1]}" (tool arguments go in -a "ARGS" or after "--")`);
    }
    command = positionals[0]!;
    args = raw.args ?? '';
  }

  if (mode === 'run' && !raw.pod) throw new UsageError('--pod is required');
  const namespace = mode === 'run' ? (raw.namespace ?? env[PodtracerEnv.podNamespace]) : '';
  if (mode === 'run' && !namespace) throw new UsageError('--namespace (-n) is required');

  let collector = raw.collector;
  if (raw.dataHost !== undefined || raw.dataPort !== undefined) {
    if (collector !== undefined) throw new UsageError('give either --collector or -d/-p, not both');
    if (!raw.dataHost || !raw.dataPort) throw new UsageError('-d HOST and -p PORT go together');
    collector = `${raw.dataHost}:${raw.dataPort}`;
  }
  if (collector !== undefined && !/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(collector)) {
    throw new UsageError(`--collector "${collector}" is not HOST:PORT`);
  }
  if (collector !== undefined) {
    // a port out of range would only show up as uploads failing and retried until the grace ends
    const port = Number(collector.slice(collector.lastIndexOf(':') + 1));
    if (port < 1 || port > 65535) throw new UsageError(`--collector "${collector}": port ${port} is not between 1 and 65535`);
  }
  if (collector !== undefined && raw.outputDir !== undefined) throw new UsageError('give either --collector or --output-dir, not both');
  if (collector === undefined && raw.outputDir === undefined) {
    throw new UsageError('nowhere to send the output: give --collector HOST:PORT (or -d/-p) or --output-dir DIR');
  }

  let pid: number | undefined;
  if (raw.pid !== undefined) {
    if (!/^\d+$/.test(raw.pid) || Number(raw.pid) < 1) throw new UsageError(`--pid "${raw.pid}" is not a process id`);
    pid = Number(raw.pid);
  }

  const options: RunOptions = {
    pod: raw.pod ?? '',
    namespace: namespace ?? '',
    command,
    args,
    segmentBytes: raw.segmentBytes !== undefined ? parseSize(raw.segmentBytes, '--segment-bytes') : DEFAULTS.segmentBytes,
    segmentSeconds: raw.segmentSeconds !== undefined ? parseSeconds(raw.segmentSeconds, '--segment-seconds') : DEFAULTS.segmentSeconds,
    spoolMaxBytes: raw.spoolMaxBytes !== undefined ? parseSize(raw.spoolMaxBytes, '--spool-max-bytes') : DEFAULTS.spoolMaxBytes,
    // 0 is allowed here: every upload then reads its segment back from the output file
    spoolMemoryBytes:
      raw.spoolMemoryBytes === undefined ? DEFAULTS.spoolMemoryBytes : raw.spoolMemoryBytes.trim() === '0' ? 0 : parseSize(raw.spoolMemoryBytes, '--spool-memory-bytes'),
    spoolPunchBytes: raw.spoolPunchBytes !== undefined ? parseSize(raw.spoolPunchBytes, '--spool-punch-bytes') : DEFAULTS.spoolPunchBytes,
    killGraceMs: raw.killGrace !== undefined ? parseDurationOption(raw.killGrace, '--kill-grace') : DEFAULTS.killGraceMs,
    evidence: parseOnOff(raw.evidence, '--evidence'),
    targetPollMs: raw.targetPoll !== undefined ? parseDurationOption(raw.targetPoll, '--target-poll') : DEFAULTS.targetPollMs,
    uploadGraceMs: raw.uploadGrace !== undefined ? parseDurationOption(raw.uploadGrace, '--upload-grace') : DEFAULTS.uploadGraceMs,
    uploadDeadlineMs:
      raw.uploadDeadline !== undefined ? parseDurationOption(raw.uploadDeadline, '--upload-deadline') : DEFAULTS.uploadDeadlineMs,
  };
  if (options.targetPollMs <= 0) throw new UsageError('--target-poll must be more than 0');
  if (raw.container !== undefined) options.container = raw.container;
  if (pid !== undefined) options.pid = pid;
  if (raw.timer !== undefined) {
    options.timerMs = parseDurationOption(raw.timer, '--timer');
    if (options.timerMs <= 0) throw new UsageError('--timer must be more than 0');
  }
  if (raw.maxBytes !== undefined) options.maxBytes = parseSize(raw.maxBytes, '--max-bytes');
  if (collector !== undefined) options.collector = collector;
  if (raw.outputDir !== undefined) options.outputDir = raw.outputDir;
  const captureId = raw.captureId ?? env[PodtracerEnv.captureId];
  if (captureId) options.captureId = captureId;
  if (raw.spoolDir !== undefined) options.spoolDir = raw.spoolDir;
  const terminationLog = raw.terminationLog ?? env[PodtracerEnv.terminationLog] ?? defaultTerminationLog(env);
  if (terminationLog) options.terminationLog = terminationLog;
  if (raw.procRoot !== undefined) options.procRoot = raw.procRoot;
  const job = raw.job ?? env[PodtracerEnv.job];
  if (job) options.job = job;
  const jobNamespace = raw.jobNamespace ?? env[PodtracerEnv.jobNamespace];
  if (jobNamespace) options.jobNamespace = jobNamespace;
  return options;
}

export const HELP = `Usage:
  podtracer run --pod NAME --namespace NS [options] -- TOOL [ARGS...]
  podtracer run TOOL -a "ARGS" [-t 2m] [-d HOST -p PORT] --pod NAME -n NS     (seed syntax)
  podtracer node [--assignment-dir DIR] [options] -- TOOL [ARGS...]

Runs an allowed network tool inside the network namespace of a pod's container and ships its
standard output, cut into pcap/pcapng/text segments, to a snoopy collector (or a directory).

Target:
  --pod NAME, -n/--namespace NS   the target pod (names the stored objects)
  -c/--container NAME             container of the pod (default: the first)
  --pid PID                       target process; skips the Kubernetes API lookup
  --proc-root DIR                 where the host's /proc is (default /host/proc if present, else /proc)
Output:
  --collector HOST:PORT           collector address (seed: -d HOST -p PORT)
  --output-dir DIR                write segments to DIR instead of uploading
  --capture-id ID                 default $SNOOPY_CAPTURE_ID, else generated
  --job NAME, --job-namespace NS  default $SNOOPY_JOB / $SNOOPY_JOB_NAMESPACE
  --segment-bytes N               rotate segments at this size (default 32Mi)
  --segment-seconds S             rotate segments after S seconds (default 60)
  --spool-dir DIR                 local spool: the tool's output file, and unsent segments in the end
                                  (default: a new temporary directory)
  --spool-max-bytes N             spool bound; segments beyond it are dropped and counted (default 1Gi)
  --spool-memory-bytes N          spooled segments also kept in memory, up to N (default 64Mi; 0: none)
  --spool-punch-bytes N           give consumed disk space back in steps of N (default 1Gi)
  --upload-deadline D             deadline of one upload call (default 9m: below the collector's
                                  600 s Knative request timeout)
  --upload-grace D                how long to keep retrying uploads after the tool ended (default 2m)
Run:
  -t/--timer D                    stop the tool after D (Go duration, plus "d"); default: run until it exits
  --max-bytes N                   stop the tool once N bytes of output were read (nothing beyond N is kept)
  --kill-grace D                  SIGKILL this long after SIGINT (default 10s)
  --target-poll D                 check this often that the target process still exists (default 1s)
  --evidence on|off               snapshot the target's network state before and after the tool,
                                  stored as evidence.json beside the segments (default off)
  --termination-log PATH          summary file (default $PODTRACER_TERMINATION_LOG, else
                                  /dev/termination-log inside a pod, else none)
  -a/--args "ARGS"                the tool's arguments as one shell-like string (seed syntax)
Node (podtracer node: every target of the node's assignment, one podtracer run each, with the
options above but the target's):
  --assignment-dir DIR            the mounted assignment Secret: assignment.json and one token file
                                  per target (default ${NODE_ASSIGNMENT_DIR}); re-read every --target-poll
  -t/--timer D                    the whole node run ends D after podtracer node started; a target
                                  that joins later gets the time left
  --termination-log PATH          the node report (targets by state, then per target)

Environment: SNOOPY_CAPTURE_TOKEN, SNOOPY_JOB, SNOOPY_JOB_NAMESPACE, SNOOPY_CAPTURE_ID, NODE_NAME,
POD_UID, SNOOPY_ALLOWED_TOOLS, SNOOPY_ALLOW_MUTATING_TOOLS, KUBECONFIG, LOG_LEVEL.
Exit codes: 0 done and everything stored; 1 the tool failed on its own; 2 bad usage or refused by
the tool policy; 3 target not found; 4 output lost or not stored.
`;
