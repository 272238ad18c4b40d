// What the SnoopyJob reconciler decides, as a pure function of what it observed: the SnoopyJob,
// its target pods, its Jobs/CronJobs/capture pods/token or assignment Secrets, the data endpoint, the
// configuration, the token key and the time. A plan is either a lifecycle step (add the
// finalizer, clean up, list the target pods first) or writes to make: ordered steps, and a
// settle() that, given how the writes went, gives the status to write, the Kubernetes Events and
// CloudEvents to emit and when to look again. reconciler.ts observes and applies; nothing here
// touches the API.
import type { V1CronJob, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { EventInput } from '../../lib/event-sink.js';
import type { OperatorConfig } from '../config.js';
import type { SnoopyJob, SnoopyJobStatus } from '../../lib/api/schema.js';
import { FINALIZER } from '../../lib/api/names.js';
import { describeProblems, validateSnoopyJob, type ResolvedSpec } from '../../lib/api/validation.js';
import { getCondition, setCondition } from './status.js';
import { isCapturable, selectorMatches } from './target-pods.js';
import { byText, owned, targetNamespaceOf } from './observed.js';
import { planOneShot } from './plan-oneshot.js';
import { planScheduled } from './plan-scheduled.js';
import { planNodeOneShot, planNodeScheduled } from './plan-nodes.js';
import type { AssignedTarget } from '../../lib/contracts/node-capture.js';
import { asError, withStatus } from './writes.js';

export interface SnoopyJobObservation {
  sj: SnoopyJob;
  /** The spec's dataEndpointRef as the cache shows it; undefined when the spec names none. */
  endpoint?: { found: boolean; address?: string };
  /** The target namespace's pods (the plan selects); undefined when they are not listed yet. */
  pods?: ReadonlyArray<V1Pod>;
  /** Jobs, CronJobs and capture pods of the operator namespace carrying a job-uid label. */
  jobs: ReadonlyArray<V1Job>;
  cronJobs: ReadonlyArray<V1CronJob>;
  capturePods: ReadonlyArray<V1Pod>;
  /** The SnoopyJob's token Secret, when the cache has it. */
  tokenSecret?: V1Secret;
  /** The status this process last wrote for the SnoopyJob (the cache may lag behind it). */
  lastWritten?: SnoopyJobStatus;
  /** Jobs this process created that the cache may not show yet: name → creation time (ms). */
  expected: ReadonlyMap<string, number>;
  /** Per-node capture: the Secrets of the operator namespace the SnoopyJob owns (its assignments among them). */
  secrets?: ReadonlyArray<V1Secret>;
  /** Per-node capture: the assignments this process last wrote, by Secret name (the cache may lag behind). */
  assigned?: ReadonlyMap<string, AssignedTarget[]>;
}

export interface PlanContext {
  config: OperatorConfig;
  tokenKey: string;
  now: Date;
}

/** A Kubernetes Event on the SnoopyJob. */
export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Adds keys to (null: removes keys from) a Secret, creating it when the cache lacks it. */
export interface SecretWrite {
  name: string;
  exists: boolean;
  /** The Secret to create when it does not exist (a 409 falls back to the patch). */
  create: V1Secret;
  patch: { data: Record<string, string | null> };
}

/** The per-target design's token Secret. */
export type TokenWrite = SecretWrite & { kind: 'tokens' };

export type WriteStep =
  /** Deletes CronJobs; a failure ends the apply (later steps are not made). */
  | { kind: 'deleteCronJobs'; names: string[] }
  /** A failure ends the reconcile at once. */
  | TokenWrite
  /** Per-node capture: the nodes' assignment Secrets, created or patched; each outcome is reported. */
  | { kind: 'secrets'; writes: SecretWrite[] }
  /** Deletes Secrets (a scheduled node left without targets); each failure is reported. */
  | { kind: 'deleteSecrets'; names: string[] }
  /**
   * Creates Jobs (409: already there); each outcome is reported. `needs`: Job name → the Secret
   * write it mounts; a Job whose Secret could not be written is not created (and fails with it).
   */
  | { kind: 'createJobs'; jobs: V1Job[]; needs?: Record<string, string> }
  /** Creates CronJobs or merge-patches them, in this order; each outcome is reported. */
  | { kind: 'cronJobs'; writes: ({ create: V1CronJob } | { name: string; patch: Record<string, unknown> })[] };

export interface WriteOutcome {
  /** Created (201). */
  created: ReadonlySet<string>;
  /** Found already there (409 on create). */
  existed: ReadonlySet<string>;
  /** Patched. */
  updated: ReadonlySet<string>;
  /** Creates and patches that failed: name → error. */
  failed: ReadonlyMap<string, unknown>;
  /** The error of a failed deleteCronJobs step. */
  deleteError?: unknown;
}

export interface StatusWrite {
  value: SnoopyJobStatus;
  /** A merge patch of the /status subresource: keys the status lost are nulled. */
  patch: Record<string, unknown>;
}

export interface Settlement {
  events: KubeEvent[];
  cloudEvents: EventInput[];
  /** undefined: the status did not change. */
  status?: StatusWrite;
  /** Jobs now expected to appear in the cache. */
  expect: string[];
  created?: { kind: 'Job' | 'CronJob'; count: number };
  /** Per-node capture: assignments written (Secret name → targets), for the next plan (null: the Secret is gone). */
  assigned?: Array<[string, AssignedTarget[] | null]>;
  /** The reconcile fails with it after the status is written (the work queue retries). */
  error?: Error;
  requeueAfterMs?: number;
}

export interface WritePlan {
  kind: 'write';
  steps: WriteStep[];
  /** Called once, after the steps were made; pure. */
  settle(outcome: WriteOutcome): Settlement;
}

export type SnoopyJobPlan =
  /** Nothing to do (being deleted without our finalizer). */
  | { kind: 'none' }
  /** Being deleted: remove what it owns, then its finalizer. */
  | { kind: 'finalize' }
  /** New: add the finalizer, then plan again; start the target pods' cache meanwhile when allowed. */
  | { kind: 'addFinalizer'; podNamespace?: string }
  /** Valid and ready to run: plan again once the namespace's pods are listed. */
  | { kind: 'listPods'; namespace: string }
  | WritePlan;

export const NO_OUTCOME: WriteOutcome = { created: new Set(), existed: new Set(), updated: new Set(), failed: new Map() };

/** The plan for one SnoopyJob. */
export function planSnoopyJob(o: SnoopyJobObservation, ctx: PlanContext): SnoopyJobPlan {
  const { sj } = o;
  const { config } = ctx;
  const namespace = sj.metadata.namespace;
  if (sj.metadata.deletionTimestamp) return (sj.metadata.finalizers ?? []).includes(FINALIZER) ? { kind: 'finalize' } : { kind: 'none' };
  if (!(sj.metadata.finalizers ?? []).includes(FINALIZER)) {
    // (only where the spec may point: a refused cross-namespace target gets no cache)
    const target = targetNamespaceOf(sj);
    return { kind: 'addFinalizer', ...(target === namespace || config.allowCrossNamespace ? { podNamespace: target } : {}) };
  }
  const validation = validateSnoopyJob(sj, {
    operatorNamespace: config.namespace,
    allowCrossNamespace: config.allowCrossNamespace,
    policy: config.toolPolicy,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
  });
  const nowIso = ctx.now.toISOString();
  const base: SnoopyJobStatus = o.lastWritten ?? sj.status ?? {};
  const gen = sj.metadata.generation !== undefined ? { observedGeneration: sj.metadata.generation } : {};
  const start = (): SnoopyJobStatus => {
    const status = structuredClone(base);
    if (sj.metadata.generation !== undefined) status.observedGeneration = sj.metadata.generation;
    return status;
  };
  const settled = (status: SnoopyJobStatus, events: KubeEvent[] = []): Settlement => ({ events, cloudEvents: [], expect: [], ...withStatus(base, status) });

  if (!validation.ok) {
    const message = describeProblems(validation.problems);
    const reason = validation.problems[0]!.reason;
    // scheduled captures of a spec that turned invalid must not go on running
    const cronJobs = [...owned(o.cronJobs, sj.metadata.uid!).keys()];
    return {
      kind: 'write',
      steps: cronJobs.length > 0 ? [{ kind: 'deleteCronJobs', names: cronJobs }] : [],
      settle(outcome) {
        if (outcome.deleteError !== undefined) return { events: [], cloudEvents: [], expect: [], error: asError(outcome.deleteError) };
        const status = start();
        const prev = getCondition(status.conditions, 'Valid');
        status.phase = 'Invalid';
        status.conditions = setCondition(status.conditions, { type: 'Valid', status: 'False', reason, message, ...gen }, nowIso);
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Invalid', message: 'the spec is invalid; nothing was created', ...gen }, nowIso);
        return settled(status, prev?.status !== 'False' || prev.message !== message ? [{ type: 'Warning', reason, message }] : []);
      },
    };
  }
  const r = validation.resolved;
  const valid = (): SnoopyJobStatus => {
    const status = start();
    status.conditions = setCondition(status.conditions, { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid', ...gen }, nowIso);
    return status;
  };
  if (!r.collector) {
    const ref = sj.spec!.dataEndpointRef!;
    return statusOnly(() => {
      const status = valid();
      status.phase = status.phase && status.phase !== 'Invalid' ? status.phase : 'Pending';
      status.conditions = setCondition(
        status.conditions,
        { type: 'Ready', status: 'False', reason: 'WaitingForEndpoint', message: `SnoopyDataEndpoint "${ref.namespace || namespace}/${ref.name}" has no address yet`, ...gen },
        nowIso,
      );
      return settled(status);
    });
  }
  if (r.schedule === undefined && r.suspend && !base.startTime) {
    // a suspended one-shot SnoopyJob waits; once its run started, suspend no longer applies
    return statusOnly(() => {
      const status = valid();
      status.phase = 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true: the run starts when it is cleared', ...gen }, nowIso);
      return settled(status);
    });
  }
  if (!o.pods) return { kind: 'listPods', namespace: r.targetNamespace };
  const pods = o.pods.filter((p) => p.metadata?.namespace === r.targetNamespace && selectorMatches(r.selector, p.metadata?.labels) && isCapturable(p));
  pods.sort((a, b) => byText(a.metadata!.name!, b.metadata!.name!));
  const input = { o, ctx, r, pods, base, valid, gen, nowIso };
  if (config.capturePods === 'per-node') return r.schedule !== undefined ? planNodeScheduled(input) : planNodeOneShot(input);
  return r.schedule !== undefined ? planScheduled(input) : planOneShot(input);
}

/** What the one-shot and scheduled plans start from. */
export interface RunPlanInput {
  o: SnoopyJobObservation;
  ctx: PlanContext;
  r: ResolvedSpec;
  /** The target pods: selected, capturable, by name. */
  pods: V1Pod[];
  /** The status to build on (what this process last wrote, else the API's). */
  base: SnoopyJobStatus;
  /** A copy of base with observedGeneration and the Valid condition set. */
  valid: () => SnoopyJobStatus;
  gen: { observedGeneration?: number };
  nowIso: string;
}

function statusOnly(settle: () => Settlement): WritePlan {
  return { kind: 'write', steps: [], settle: () => settle() };
}
