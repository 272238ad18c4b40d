// The operator → podtracer contract (docs/design.md, "Contracts"): the words of a
// `podtracer run` or `podtracer node` command line and the environment a capture container gets. The operator renders
// an invocation with toArgs; podtracer reads its command line with fromArgs and gives the values
// their meaning (units, defaults, checks) in podtracer/cli.ts. A new option is one line in
// RUN_OPTIONS; a new variable one line in PodtracerEnv. Pure.

/** Environment variables of a capture container, by what they carry. */
export const PodtracerEnv = {
  /** the capture token (a Secret key), sent with every upload */
  captureToken: 'SNOOPY_CAPTURE_TOKEN',
  /** the SnoopyJob's name and namespace (defaults of --job / --job-namespace) */
  job: 'SNOOPY_JOB',
  jobNamespace: 'SNOOPY_JOB_NAMESPACE',
  /** the run's capture id (default of --capture-id) */
  captureId: 'SNOOPY_CAPTURE_ID',
  /** the target's node and pod UID, recorded in the summary and the stored objects' metadata */
  nodeName: 'NODE_NAME',
  podUid: 'POD_UID',
  /** the tool policy's variables (ToolPolicyEnv) are listed with the policy, in lib/tool-policy/config.ts */
  /** default of --termination-log */
  terminationLog: 'PODTRACER_TERMINATION_LOG',
  /** default of --namespace */
  podNamespace: 'POD_NAMESPACE',
  /** set by Kubernetes in every container: tells podtracer it runs in a pod */
  kubernetesServiceHost: 'KUBERNETES_SERVICE_HOST',
} as const;

export type PodtracerEnvName = (typeof PodtracerEnv)[keyof typeof PodtracerEnv];

/** Where Kubernetes reads a container's termination message unless the pod says otherwise. */
export const POD_TERMINATION_LOG = '/dev/termination-log';

/**
 * podtracer's commands: `run` captures one target; `node` captures every target of a node's
 * assignment (lib/contracts/node-capture.ts), one `podtracer run` per target.
 */
export const PODTRACER_COMMANDS = ['run', 'node'] as const;
export type PodtracerCommand = (typeof PODTRACER_COMMANDS)[number];

interface OptionSpec {
  long: string;
  short?: string;
  /** takes no value */
  flag?: true;
  /** the one command that takes it (absent: both) */
  only?: PodtracerCommand;
}

/**
 * podtracer's options, keyed by the name podtracer's parser gives their values. `podtracer node`
 * takes the run options but the target's (its assignment names the targets) and its own
 * --assignment-dir; it hands the rest to each target's `podtracer run`.
 */
export const RUN_OPTIONS = {
  pod: { long: 'pod', only: 'run' },
  namespace: { long: 'namespace', short: 'n', only: 'run' },
  container: { long: 'container', short: 'c', only: 'run' },
  pid: { long: 'pid', only: 'run' },
  /** where the node's assignment Secret is mounted (default NODE_ASSIGNMENT_DIR) */
  assignmentDir: { long: 'assignment-dir', only: 'node' },
  timer: { long: 'timer', short: 't' },
  maxBytes: { long: 'max-bytes' },
  collector: { long: 'collector' },
  dataHost: { long: 'data-host', short: 'd' },
  dataPort: { long: 'data-port', short: 'p' },
  outputDir: { long: 'output-dir' },
  captureId: { long: 'capture-id' },
  segmentBytes: { long: 'segment-bytes' },
  segmentSeconds: { long: 'segment-seconds' },
  spoolDir: { long: 'spool-dir' },
  spoolMaxBytes: { long: 'spool-max-bytes' },
  spoolMemoryBytes: { long: 'spool-memory-bytes' },
  spoolPunchBytes: { long: 'spool-punch-bytes' },
  killGrace: { long: 'kill-grace' },
  targetPoll: { long: 'target-poll' },
  uploadGrace: { long: 'upload-grace' },
  uploadDeadline: { long: 'upload-deadline' },
  terminationLog: { long: 'termination-log' },
  procRoot: { long: 'proc-root' },
  job: { long: 'job' },
  jobNamespace: { long: 'job-namespace' },
  args: { long: 'args', short: 'a' },
  /** `on`: snapshots of the target's network state before and after the tool (lib/evidence) */
  evidence: { long: 'evidence' },
  help: { long: 'help', short: 'h', flag: true },
} as const satisfies Record<string, OptionSpec>;

export type RunOptionKey = keyof typeof RUN_OPTIONS;
/** Options that take a value (all but --help). */
export type ValueOptionKey = { [K in RunOptionKey]: (typeof RUN_OPTIONS)[K] extends { flag: true } ? never : K }[RunOptionKey];

/** One `podtracer run` or `podtracer node` command line, its option values as written. */
export interface PodtracerInvocation {
  /** absent: `run` */
  command?: PodtracerCommand;
  options: Partial<Record<ValueOptionKey, string>>;
  help?: true;
  /** words that are not options, before any "--" (the seed syntax names its tool so) */
  positionals?: string[];
  /** the tool and its argv, after "--" */
  tool?: string[];
}

/** A command line podtracer cannot read; the message names the word. */
export class InvocationSyntaxError extends Error {
  override name = 'InvocationSyntaxError';
}

const SPECS = Object.entries(RUN_OPTIONS) as Array<[RunOptionKey, OptionSpec]>;

/** Whether the command takes the option. */
export function takesOption(command: PodtracerCommand, key: RunOptionKey): boolean {
  const spec: OptionSpec = RUN_OPTIONS[key];
  return spec.only === undefined || spec.only === command;
}

function findOption(word: string): { key: RunOptionKey; spec: OptionSpec; inline?: string } | undefined {
  if (word.startsWith('--')) {
    const eq = word.indexOf('=');
    const name = eq >= 0 ? word.slice(2, eq) : word.slice(2);
    const found = SPECS.find(([, s]) => s.long === name);
    if (!found) return undefined;
    return eq >= 0 ? { key: found[0], spec: found[1], inline: word.slice(eq + 1) } : { key: found[0], spec: found[1] };
  }
  const found = SPECS.find(([, s]) => s.short !== undefined && word === `-${s.short}`);
  return found ? { key: found[0], spec: found[1] } : undefined;
}

/**
 * `podtracer run …` (or `podtracer node …`) as argv, the tool last after "--". Options come in
 * RUN_OPTIONS order, each as `--long value`, so the same invocation always gives the same words
 * (and template hash). An option the command does not take is an error, not dropped.
 */
export function toArgs(inv: PodtracerInvocation): string[] {
  const command = inv.command ?? 'run';
  const out: string[] = [command];
  for (const [key, spec] of SPECS) {
    if (spec.flag) {
      if (key === 'help' && inv.help) out.push(`--${spec.long}`);
      continue;
    }
    const value = inv.options[key as ValueOptionKey];
    if (value === undefined) continue;
    if (!takesOption(command, key)) throw new InvocationSyntaxError(`option --${spec.long} is not an option of podtracer ${command}`);
    out.push(`--${spec.long}`, value);
  }
  for (const p of inv.positionals ?? []) {
    if (p.startsWith('-') && p !== '-') throw new InvocationSyntaxError(`positional "${p}" would read as an option`);
    out.push(p);
  }
  if (inv.tool !== undefined) out.push('--', ...inv.tool);
  return out;
}

/**
 * Reads the words after `podtracer run` (or after `podtracer node`, with command "node"). Option
 * values may begin with "-" (the seed syntax's `-a "-i eth0 -U -w -"`), which is why this is not
 * node's util.parseArgs.
 */
export function fromArgs(argv: readonly string[], command: PodtracerCommand = 'run'): PodtracerInvocation {
  const inv: PodtracerInvocation = command === 'run' ? { options: {} } : { command, options: {} };
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      inv.tool = argv.slice(i + 1);
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      positionals.push(w);
      continue;
    }
    const found = findOption(w);
    if (!found) throw new InvocationSyntaxError(`unknown option "${w}" (see podtracer --help)`);
    const { key, spec, inline } = found;
    if (!takesOption(command, key)) throw new InvocationSyntaxError(`option ${w} is not an option of podtracer ${command}${command === 'node' ? ' (the assignment names the targets)' : ''}`);
    if (spec.flag) {
      if (inline !== undefined) throw new InvocationSyntaxError(`option --${spec.long} takes no value`);
      inv.help = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new InvocationSyntaxError(`option ${w} needs a value`);
      value = argv[++i]!;
    }
    const k = key as ValueOptionKey;
    if (inv.options[k] !== undefined) throw new InvocationSyntaxError(`option --${spec.long} given twice`);
    inv.options[k] = value;
  }
  if (positionals.length > 0) inv.positionals = positionals;
  return inv;
}

/**
 * The tool policy as a capture container's environment (allowlist, writes, flood knobs), read back
 * by toolPolicyFromEnv: the policy module owns those names and both directions.
 */
export { toolPolicyEnv, ToolPolicyEnv } from '../tool-policy/config.js';

/** The termination log podtracer writes when none is given: the pod's, only inside a pod. */
export function defaultTerminationLog(env: NodeJS.ProcessEnv): string | undefined {
  return env[PodtracerEnv.kubernetesServiceHost] ? POD_TERMINATION_LOG : undefined;
}
