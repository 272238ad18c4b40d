// Semantic validation of a SnoopyJob: what its schema cannot say (docs/design.md "Custom resources", "Security rules"). One pure
// function, used by the reconciler and usable by a CLI: the caller supplies the context (policy,
// operator namespace, the referenced endpoint as it was found) and gets either every problem,
// each naming its field, or the resolved values a capture needs.
import { CronExpressionParser } from 'cron-parser';
import { Value } from '@sinclair/typebox/value';
import { parseDuration, DurationError } from '../duration.js';
import { parseToolInvocation, ToolPolicyError, type ToolPolicy } from '../tool-policy.js';
import { checkAgainstSchema } from './crd-definitions.js';
import { SnoopyJobSpec, type SnoopyJob } from './schema.js';

export interface ValidationContext {
  operatorNamespace: string;
  allowCrossNamespace: boolean;
  policy: ToolPolicy;
  /** The dataEndpointRef lookup: undefined when the spec has none. */
  endpoint?: { found: boolean; address?: string };
}

export interface Problem {
  field: string;
  /** CamelCase reason for the condition. */
  reason: string;
  message: string;
}

export interface ResolvedSpec {
  spec: SnoopyJobSpec;
  command: string;
  argv: string[];
  targetNamespace: string;
  timer: string;
  timerSeconds: number;
  schedule?: string;
  suspend: boolean;
  selector: Record<string, string>;
  /** host:port, or undefined while a referenced endpoint has no address yet. */
  collector?: string;
}

export type Validation = { ok: true; resolved: ResolvedSpec } | { ok: false; problems: Problem[] };

/** Longest capture a one-shot run may last: a bound on activeDeadlineSeconds and token lifetime. */
export const MAX_TIMER_SECONDS = 7 * 86_400;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const HOST = /^(([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?|\[?[0-9a-fA-F:]+\]?)$/;

export function validateSnoopyJob(sj: Pick<SnoopyJob, 'metadata' | 'spec'>, ctx: ValidationContext): Validation {
  const problems: Problem[] = [];
  const add = (field: string, reason: string, message: string) => problems.push({ field, reason, message });
  // defaults filled on a copy, as the API server would have
  const spec = Value.Clone(sj.spec ?? {}) as SnoopyJobSpec;
  for (const p of checkAgainstSchema(SnoopyJobSpec, spec)) add(p.field, 'SchemaViolation', p.message);

  let command = '';
  let argv: string[] = [];
  if (typeof spec.command === 'string' && spec.command !== '') {
    try {
      ({ command, argv } = parseToolInvocation(spec.command, spec.args ?? '', ctx.policy));
    } catch (err) {
      if (!(err instanceof ToolPolicyError)) throw err;
      const message = err.message.startsWith(`${err.field}:`) ? `spec.${err.message}` : `spec.${err.field}: ${err.message}`;
      add(`spec.${err.field}`, err.field === 'command' ? 'ToolNotAllowed' : 'ArgsRefused', message);
    }
  }

  const timer = spec.timer ?? '1m';
  let timerSeconds = 0;
  try {
    timerSeconds = Math.ceil(parseDuration(timer) / 1000);
    if (timerSeconds <= 0) add('spec.timer', 'InvalidTimer', `spec.timer "${timer}" must be longer than zero`);
    else if (timerSeconds > MAX_TIMER_SECONDS) add('spec.timer', 'InvalidTimer', `spec.timer "${timer}" is longer than the maximum of 7d`);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    add('spec.timer', 'InvalidTimer', `spec.timer: ${err.message}`);
  }

  if (spec.schedule !== undefined) {
    const fields = spec.schedule.trim().split(/\s+/);
    if (fields.length !== 5) {
      add('spec.schedule', 'InvalidSchedule', `spec.schedule "${spec.schedule}" must have 5 fields (minute hour day-of-month month day-of-week), it has ${fields.length}`);
    } else {
      try {
        CronExpressionParser.parse(spec.schedule, { strict: false });
      } catch (err) {
        add('spec.schedule', 'InvalidSchedule', `spec.schedule "${spec.schedule}" is not a valid cron expression: ${(err as Error).message}`);
      }
    }
  }

  const selector = spec.labelSelector ?? {};
  if (typeof selector === 'object' && Object.keys(selector).length === 0) {
    if (!problems.some((p) => p.field === 'spec.labelSelector')) add('spec.labelSelector', 'EmptySelector', 'spec.labelSelector is empty: it would select every pod of the namespace');
  }
  for (const [k, v] of Object.entries(selector)) {
    if (!LABEL_KEY.test(k)) add('spec.labelSelector', 'InvalidSelector', `spec.labelSelector key "${k}" is not a valid label key`);
    if (typeof v === 'string' && !LABEL_VALUE.test(v)) add('spec.labelSelector', 'InvalidSelector', `spec.labelSelector value "${v}" for "${k}" is not a valid label value`);
  }

  const ns = sj.metadata.namespace;
  const targetNamespace = spec.targetNamespace || ns;
  if (targetNamespace !== ns && ns !== ctx.operatorNamespace && !ctx.allowCrossNamespace) {
    add(
      'spec.targetNamespace',
      'CrossNamespaceNotAllowed',
      `spec.targetNamespace "${targetNamespace}" differs from the SnoopyJob's namespace "${ns}": only SnoopyJobs in the operator namespace "${ctx.operatorNamespace}" may target other namespaces (or set SNOOPY_ALLOW_CROSS_NAMESPACE)`,
    );
  }

  let collector: string | undefined;
  const hasAddress = spec.dataServiceIP !== undefined || spec.dataServicePort !== undefined;
  if (spec.dataEndpointRef && hasAddress) {
    add('spec.dataEndpointRef', 'AmbiguousCollector', 'spec.dataEndpointRef and spec.dataServiceIP/dataServicePort are both set: set one of them');
  } else if (spec.dataEndpointRef) {
    const refNs = spec.dataEndpointRef.namespace || ns;
    if (!ctx.endpoint?.found) {
      add('spec.dataEndpointRef', 'EndpointNotFound', `spec.dataEndpointRef: SnoopyDataEndpoint "${refNs}/${spec.dataEndpointRef.name}" does not exist`);
    } else collector = ctx.endpoint.address;
  } else if (hasAddress) {
    if (!spec.dataServiceIP) add('spec.dataServiceIP', 'NoCollector', 'spec.dataServiceIP is required when spec.dataServicePort is set');
    else if (!HOST.test(spec.dataServiceIP)) add('spec.dataServiceIP', 'InvalidCollector', `spec.dataServiceIP "${spec.dataServiceIP}" is not a host name or IP address`);
    const port = Number(spec.dataServicePort);
    if (spec.dataServicePort === undefined) add('spec.dataServicePort', 'NoCollector', 'spec.dataServicePort is required when spec.dataServiceIP is set');
    else if (!(port >= 1 && port <= 65535)) add('spec.dataServicePort', 'InvalidCollector', `spec.dataServicePort "${spec.dataServicePort}" is not a port (1-65535)`);
    if (spec.dataServiceIP && port >= 1 && port <= 65535) {
      collector = spec.dataServiceIP.includes(':') && !spec.dataServiceIP.startsWith('[') ? `[${spec.dataServiceIP}]:${port}` : `${spec.dataServiceIP}:${port}`;
    }
  } else {
    add('spec.dataServiceIP', 'NoCollector', 'no collector: set spec.dataServiceIP and spec.dataServicePort, or spec.dataEndpointRef');
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    resolved: {
      spec,
      command,
      argv,
      targetNamespace,
      timer,
      timerSeconds,
      ...(spec.schedule !== undefined ? { schedule: spec.schedule.trim() } : {}),
      suspend: spec.suspend ?? false,
      selector,
      ...(collector !== undefined ? { collector } : {}),
    },
  };
}

/** One line for a condition message: every problem, in field order. */
export function describeProblems(problems: Problem[]): string {
  return problems.map((p) => p.message).join('; ');
}

/** The next time a schedule fires after `from` (ISO string), for status.nextScheduleTime. */
export function nextScheduleTime(schedule: string, from: Date): string | undefined {
  try {
    return CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC' }).next().toISOString() ?? undefined;
  } catch {
    return undefined;
  }
}
