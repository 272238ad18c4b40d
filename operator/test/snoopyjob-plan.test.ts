// The SnoopyJob plan as a table of cases, without a server: each case is an observation (the
// SnoopyJob and what the caches show), optionally how the writes went, and what the plan must
// decide — lifecycle steps, writes, status, Kubernetes Events, CloudEvents.
import { describe, expect, test } from '@jest/globals';
import type { V1CronJob, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { loadConfig } from '../config.js';
import type { SnoopyJob, SnoopyJobStatus } from '../../lib/api/schema.js';
import { FINALIZER, Labels, assignmentSecretName, captureCronJobName, captureJobName, nodeCaptureCronJobName, nodeCaptureJobName, targetTokenKey, tokenSecretName } from '../../lib/api/names.js';
import { ASSIGNMENT_KEY, NODE_TOKEN_KEY, encodeNodeReport, parseAssignment, type NodeTargetReport } from '../../lib/contracts/node-capture.js';
import { verifyNodeToken, verifyToken } from '../../lib/token.js';
import { EventType } from '../../lib/events.js';
import { cronTargetToken } from '../tokens.js';
import { NO_OUTCOME, planSnoopyJob, type PlanContext, type SecretWrite, type Settlement, type SnoopyJobObservation, type SnoopyJobPlan, type WriteOutcome, type WritePlan } from '../snoopyjob/plan.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');
const NOW_SEC = NOW.getTime() / 1000;
const KEY = 'test-key';
// the per-target design (SNOOPY_CAPTURE_PODS=per-target); per-node cases use nodeCtx
const config = loadConfig({ SNOOPY_CAPTURE_PODS: 'per-target' }, 'host');
const ctx: PlanContext = { config, tokenKey: KEY, now: NOW };
const nodeConfig = loadConfig({ SNOOPY_STATUS_TARGETS: '3' }, 'host');
const nodeCtx: PlanContext = { config: nodeConfig, tokenKey: KEY, now: NOW };
const UID = 'uid-1';
const SPEC = { command: 'tcpdump', args: '-i eth0', labelSelector: { app: 'cnf' }, targetNamespace: 'cnf-telco', timer: '1m', dataServiceIP: '10.0.0.9', dataServicePort: '51001' };

function snoopyJob(over: { spec?: Record<string, unknown>; status?: SnoopyJobStatus; finalizers?: string[]; deleting?: boolean; namespace?: string } = {}): SnoopyJob {
  return {
    apiVersion: 'job.fennecproject.io/v1alpha1',
    kind: 'SnoopyJob',
    metadata: {
      name: 'sj',
      namespace: over.namespace ?? 'snoopy-operator',
      uid: UID,
      generation: 1,
      finalizers: over.finalizers ?? [FINALIZER],
      ...(over.deleting ? { deletionTimestamp: NOW.toISOString() } : {}),
    },
    spec: { ...SPEC, ...(over.spec ?? {}) },
    ...(over.status ? { status: over.status } : {}),
  } as SnoopyJob;
}

function pod(name: string, over: { labels?: Record<string, string>; phase?: string; node?: string } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'cnf-telco', uid: `pod-${name}`, labels: over.labels ?? { app: 'cnf' } },
    spec: { ...(over.node !== '' ? { nodeName: over.node ?? 'node-a' } : {}), containers: [{ name: 'main', image: 'x' }] },
    status: { phase: over.phase ?? 'Running' },
  };
}

const jobName = (p: string) => captureJobName({ name: 'sj', uid: UID }, { namespace: 'cnf-telco', name: p });
const cronName = (p: string) => captureCronJobName({ name: 'sj', uid: UID }, { namespace: 'cnf-telco', name: p });

function observe(sj: SnoopyJob, over: Partial<SnoopyJobObservation> = {}): SnoopyJobObservation {
  return { sj, pods: [], jobs: [], cronJobs: [], capturePods: [], expected: new Map(), ...over };
}

/** The Jobs (or CronJobs) a plan creates, as the cache would show them afterwards. */
function createdBy(plan: SnoopyJobPlan): { jobs: V1Job[]; cronJobs: V1CronJob[] } {
  const w = asWrite(plan);
  return {
    jobs: w.steps.flatMap((s) => (s.kind === 'createJobs' ? s.jobs : [])),
    cronJobs: w.steps.flatMap((s) => (s.kind === 'cronJobs' ? s.writes.flatMap((x) => ('create' in x ? [x.create] : [])) : [])),
  };
}

function asWrite(plan: SnoopyJobPlan): WritePlan {
  if (plan.kind !== 'write') throw new Error(`expected writes, got ${plan.kind}`);
  return plan;
}

/** Every write of the plan succeeded (created, or patched). */
function allWent(plan: WritePlan): WriteOutcome {
  const created = new Set<string>();
  const updated = new Set<string>();
  for (const s of plan.steps) {
    if (s.kind === 'createJobs') for (const j of s.jobs) created.add(j.metadata!.name!);
    if (s.kind === 'secrets') for (const w of s.writes) (w.exists ? updated : created).add(w.name);
    if (s.kind === 'cronJobs') {
      for (const w of s.writes) {
        if ('create' in w) created.add(w.create.metadata!.name!);
        else updated.add(w.name);
      }
    }
  }
  return { ...NO_OUTCOME, created, updated };
}

function finished(job: V1Job, outcome: 'Complete' | 'Failed'): V1Job {
  return { ...job, status: { conditions: [{ type: outcome, status: 'True', ...(outcome === 'Failed' ? { reason: 'BackoffLimitExceeded' } : {}) }], ...(outcome === 'Complete' ? { completionTime: NOW } : {}) } } as V1Job;
}

const stepKinds = (plan: SnoopyJobPlan) => asWrite(plan).steps.map((s) => s.kind);
const reasons = (s: Settlement) => s.events.map((e) => e.reason);
const condition = (s: Settlement, type: string) => s.status?.value.conditions?.find((c) => c.type === type);

// The one-shot run of two target pods, once its Jobs were created: the base of later cases.
const running = (() => {
  const o = observe(snoopyJob(), { pods: [pod('p1'), pod('p2')] });
  const plan = asWrite(planSnoopyJob(o, ctx));
  const s = plan.settle(allWent(plan));
  return { jobs: createdBy(plan).jobs, status: s.status!.value };
})();

interface Case {
  name: string;
  o: SnoopyJobObservation;
  outcome?: (plan: WritePlan) => WriteOutcome;
  check: (plan: SnoopyJobPlan, settled: Settlement | undefined) => void;
}

const cases: Case[] = [
  {
    name: 'new SnoopyJob: the finalizer first, its own namespace pods listed meanwhile',
    o: observe(snoopyJob({ finalizers: [], namespace: 'cnf-telco' })),
    check: (plan) => expect(plan).toEqual({ kind: 'addFinalizer', podNamespace: 'cnf-telco' }),
  },
  {
    name: 'new SnoopyJob aiming at another namespace (cross-namespace not allowed): no pod cache started early',
    o: observe(snoopyJob({ finalizers: [], namespace: 'team-a' })),
    check: (plan) => expect(plan).toEqual({ kind: 'addFinalizer' }),
  },
  {
    name: 'deleted with the finalizer: clean up',
    o: observe(snoopyJob({ deleting: true })),
    check: (plan) => expect(plan).toEqual({ kind: 'finalize' }),
  },
  {
    name: 'deleted without the finalizer: nothing',
    o: observe(snoopyJob({ deleting: true, finalizers: [] })),
    check: (plan) => expect(plan).toEqual({ kind: 'none' }),
  },
  {
    name: 'valid, pods not listed yet: list the target namespace',
    o: { ...observe(snoopyJob()), pods: undefined } as SnoopyJobObservation,
    check: (plan) => expect(plan).toEqual({ kind: 'listPods', namespace: 'cnf-telco' }),
  },
  {
    name: 'invalid spec: Invalid condition, a Warning, no Jobs; CronJobs of a schedule go',
    o: observe(snoopyJob({ spec: { command: 'bash' } }), { pods: [pod('p1')], cronJobs: [{ metadata: { name: 'old-cron', labels: { 'snoopy.fennecproject.io/job-uid': UID } } }] }),
    check: (plan, s) => {
      expect(asWrite(plan).steps).toEqual([{ kind: 'deleteCronJobs', names: ['old-cron'] }]);
      expect(s!.status!.value.phase).toBe('Invalid');
      expect(condition(s!, 'Valid')).toMatchObject({ status: 'False', reason: 'ToolNotAllowed', observedGeneration: 1 });
      expect(condition(s!, 'Ready')).toMatchObject({ status: 'False', reason: 'Invalid' });
      expect(s!.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ToolNotAllowed' })]);
      expect(s!.cloudEvents).toEqual([]);
    },
  },
  {
    name: 'invalid spec already reported with the same message: no second Warning, no status write',
    o: (() => {
      const sj = snoopyJob({ spec: { command: 'bash' } });
      const first = asWrite(planSnoopyJob(observe(sj), ctx)).settle(NO_OUTCOME);
      return observe(sj, { lastWritten: first.status!.value });
    })(),
    check: (_plan, s) => {
      expect(s!.events).toEqual([]);
      expect(s!.status).toBeUndefined();
    },
  },
  {
    name: 'CronJobs of an invalid spec cannot be deleted: the reconcile fails before anything else',
    o: observe(snoopyJob({ spec: { command: 'bash' } }), { cronJobs: [{ metadata: { name: 'old-cron', labels: { 'snoopy.fennecproject.io/job-uid': UID } } }] }),
    outcome: () => ({ ...NO_OUTCOME, deleteError: new Error('HTTP 500') }),
    check: (_plan, s) => expect(s).toEqual({ events: [], cloudEvents: [], expect: [], error: new Error('HTTP 500') }),
  },
  {
    name: 'endpoint named but missing: Invalid, EndpointNotFound',
    o: observe(snoopyJob({ spec: { dataServiceIP: undefined, dataServicePort: undefined, dataEndpointRef: { name: 'de' } } }), { endpoint: { found: false } }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(condition(s!, 'Valid')).toMatchObject({ status: 'False', reason: 'EndpointNotFound' });
    },
  },
  {
    name: 'endpoint without an address yet: Pending, waiting, nothing created',
    o: observe(snoopyJob({ spec: { dataServiceIP: undefined, dataServicePort: undefined, dataEndpointRef: { name: 'de' } } }), { endpoint: { found: true }, pods: [pod('p1')] }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value.phase).toBe('Pending');
      expect(condition(s!, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForEndpoint' });
    },
  },
  {
    name: 'suspended one-shot: Pending, no Jobs',
    o: observe(snoopyJob({ spec: { suspend: true } }), { pods: [pod('p1')] }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value.phase).toBe('Pending');
      expect(condition(s!, 'Ready')).toMatchObject({ reason: 'Suspended' });
    },
  },
  {
    name: 'one-shot, new: a token each and a Job per capturable matching pod; Running, started announced',
    o: observe(snoopyJob(), { pods: [pod('p2', { node: 'node-b' }), pod('p1'), pod('other', { labels: { app: 'x' } }), pod('starting', { phase: 'Pending' }), pod('unbound', { node: '' })] }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual(['tokens', 'createJobs']);
      const tokens = asWrite(plan).steps[0]!;
      expect(tokens).toMatchObject({ kind: 'tokens', exists: false, name: tokenSecretName({ name: 'sj', uid: UID }) });
      expect(Object.keys((tokens as { patch: { data: object } }).patch.data).sort()).toEqual([jobName('p1'), jobName('p2')].sort());
      expect(createdBy(plan).jobs.map((j) => j.metadata!.name)).toEqual([jobName('p1'), jobName('p2')]);
      expect(s!.status!.value).toMatchObject({ phase: 'Running', targetCount: 2, startTime: NOW.toISOString(), captureId: expect.stringMatching(/^run-/) });
      expect(s!.status!.value.targets!.map((t) => [t.pod, t.node, t.state])).toEqual([['p1', 'node-a', 'Pending'], ['p2', 'node-b', 'Pending']]);
      expect(reasons(s!)).toEqual(['JobsCreated', 'Started']);
      expect(s!.cloudEvents.map((e) => e.type)).toEqual([EventType.JobStarted]);
      expect(s!.expect.sort()).toEqual([jobName('p1'), jobName('p2')].sort());
      expect(s!.created).toEqual({ kind: 'Job', count: 2 });
    },
  },
  {
    name: 'one-shot, a create fails: the others count, CreateFailed, the reconcile fails after the status',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2')] }),
    outcome: (plan) => {
      const all = allWent(plan);
      return { ...all, created: new Set([jobName('p1')]), failed: new Map([[jobName('p2'), new Error('HTTP 500')]]) };
    },
    check: (_plan, s) => {
      expect(s!.status!.value.targets!.map((t) => t.pod)).toEqual(['p1']);
      expect(reasons(s!)).toEqual(['JobsCreated', 'CreateFailed', 'Started']);
      expect(s!.error).toEqual(new Error('HTTP 500'));
      expect(s!.expect).toEqual([jobName('p1')]);
    },
  },
  {
    name: 'one-shot, a pod appears during the run: its own Job only, no second start',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2'), pod('p3')], jobs: running.jobs, lastWritten: running.status, tokenSecret: { metadata: { name: tokenSecretName({ name: 'sj', uid: UID }) } } }),
    check: (plan, s) => {
      expect(createdBy(plan).jobs.map((j) => j.metadata!.name)).toEqual([jobName('p3')]);
      expect(asWrite(plan).steps[0]).toMatchObject({ kind: 'tokens', exists: true });
      expect(s!.status!.value.targetCount).toBe(3);
      expect(reasons(s!)).toEqual(['JobsCreated']);
      expect(s!.cloudEvents).toEqual([]);
    },
  },
  {
    name: 'one-shot, Jobs created a moment ago that the cache does not show yet: not created again, Pending (not Lost)',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2')], lastWritten: running.status, expected: new Map([[jobName('p1'), NOW.getTime() - 1_000], [jobName('p2'), NOW.getTime() - 1_000]]) }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      // the targets stay as last written (Pending): nothing to write
      expect(running.status.targets!.map((t) => t.state)).toEqual(['Pending', 'Pending']);
      expect(s!.status).toBeUndefined();
    },
  },
  {
    name: 'one-shot, every Job succeeded: Completed, job.completed',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2')], jobs: running.jobs.map((j) => finished(j, 'Complete')), lastWritten: running.status }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value).toMatchObject({ phase: 'Completed', completionTime: NOW.toISOString() });
      expect(condition(s!, 'Completed')).toMatchObject({ status: 'True', reason: 'Succeeded' });
      expect(reasons(s!)).toEqual(['Completed']);
      expect(s!.cloudEvents.map((e) => e.type)).toEqual([EventType.JobCompleted]);
    },
  },
  {
    name: 'one-shot, a Job failed: Failed, job.failed, a Warning naming the pod',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2')], jobs: [finished(running.jobs[0]!, 'Complete'), finished(running.jobs[1]!, 'Failed')], lastWritten: running.status }),
    check: (_plan, s) => {
      expect(s!.status!.value.phase).toBe('Failed');
      expect(s!.events).toEqual([{ type: 'Warning', reason: 'Failed', message: '1 of 2 target(s) failed: p2 (BackoffLimitExceeded)' }]);
      expect(s!.cloudEvents.map((e) => e.type)).toEqual([EventType.JobFailed]);
    },
  },
  {
    name: 'one-shot, a Job vanished before it finished: its target is Lost',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2')], jobs: [running.jobs[0]!], lastWritten: running.status }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value.targets!.map((t) => [t.pod, t.state])).toEqual([['p1', 'Pending'], ['p2', 'Lost']]);
    },
  },
  {
    name: 'one-shot run over (terminal phase): pods appearing later get no Job, the phase stays',
    o: observe(snoopyJob(), { pods: [pod('p1'), pod('p2'), pod('late')], jobs: running.jobs.map((j) => finished(j, 'Complete')), lastWritten: { ...running.status, phase: 'Completed' } }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value.phase).toBe('Completed');
      expect(s!.cloudEvents).toEqual([]);
    },
  },
  {
    name: 'one-shot, no matching pod: NoTargets, nothing announced',
    o: observe(snoopyJob(), { pods: [pod('other', { labels: { app: 'x' } })] }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value.phase).toBe('NoTargets');
      expect(s!.cloudEvents).toEqual([]);
    },
  },
  {
    name: 'scheduled, new: a CronJob and a prefix token per pod; Scheduled, next time, requeue before it',
    o: observe(snoopyJob({ spec: { schedule: '*/5 * * * *' } }), { pods: [pod('p1')] }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual(['tokens', 'cronJobs']);
      expect(createdBy(plan).cronJobs.map((c) => c.metadata!.name)).toEqual([cronName('p1')]);
      expect(s!.status!.value).toMatchObject({ phase: 'Scheduled', nextScheduleTime: '2026-03-01T10:05:00.000Z', targets: [expect.objectContaining({ pod: 'p1', state: 'Scheduled' })] });
      expect(reasons(s!)).toEqual(['CronJobsCreated']);
      expect(s!.requeueAfterMs).toBe(5 * 60_000 + 2_000);
    },
  },
  {
    name: 'scheduled, a pod moved node: its CronJob is patched, CronJobUpdated',
    o: (() => {
      const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' } });
      const cron = createdBy(planSnoopyJob(observe(sj, { pods: [pod('p1')] }), ctx)).cronJobs[0]!;
      return observe(sj, { pods: [pod('p1', { node: 'node-b' })], cronJobs: [cron] });
    })(),
    check: (plan, s) => {
      const step = asWrite(plan).steps.find((x) => x.kind === 'cronJobs');
      expect(step).toMatchObject({ kind: 'cronJobs', writes: [{ name: cronName('p1') }] });
      expect(reasons(s!)).toEqual(['CronJobUpdated']);
    },
  },
  {
    name: 'scheduled, a pod went: its CronJob is deleted and its token removed, CronJobsRemoved',
    o: (() => {
      const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' } });
      const first = asWrite(planSnoopyJob(observe(sj, { pods: [pod('p1'), pod('p2')] }), ctx));
      const tokens = first.steps[0] as { create: V1Secret };
      return observe(sj, { pods: [pod('p1')], cronJobs: createdBy(first).cronJobs, tokenSecret: tokens.create });
    })(),
    check: (plan, s) => {
      expect(asWrite(plan).steps).toEqual([
        expect.objectContaining({ kind: 'tokens', exists: true, patch: { data: { [cronName('p2')]: null } } }),
        { kind: 'deleteCronJobs', names: [cronName('p2')] },
      ]);
      expect(reasons(s!)).toEqual(['CronJobsRemoved']);
      expect(s!.status!.value.targetCount).toBe(1);
    },
  },
  {
    name: 'scheduled, tokens: a fresh one is kept, one with less than a third of its life left is renewed',
    o: (() => {
      const life = config.cronTokenLifetimeSeconds;
      const token = (p: string, issued: number) => Buffer.from(cronTargetToken(KEY, { cronJobName: cronName(p), namespace: 'cnf-telco', pod: p, job: 'snoopy-operator/sj' }, life, issued).token).toString('base64');
      const secret: V1Secret = { metadata: { name: tokenSecretName({ name: 'sj', uid: UID }) }, data: { [cronName('p1')]: token('p1', NOW_SEC - 60), [cronName('p2')]: token('p2', NOW_SEC - Math.ceil(life * 0.7)) } };
      const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' } });
      const crons = createdBy(planSnoopyJob(observe(sj, { pods: [pod('p1'), pod('p2')] }), ctx)).cronJobs;
      return observe(sj, { pods: [pod('p1'), pod('p2')], cronJobs: crons, tokenSecret: secret });
    })(),
    check: (plan) => {
      const steps = asWrite(plan).steps;
      expect(steps.map((x) => x.kind)).toEqual(['tokens']);
      expect(Object.keys((steps[0] as { patch: { data: object } }).patch.data)).toEqual([cronName('p2')]);
    },
  },
  {
    name: 'scheduled and suspended: CronJobs suspended, Ready reason Suspended, no next time',
    o: observe(snoopyJob({ spec: { schedule: '*/5 * * * *', suspend: true } }), { pods: [pod('p1')] }),
    check: (plan, s) => {
      expect(createdBy(plan).cronJobs[0]!.spec!.suspend).toBe(true);
      expect(condition(s!, 'Ready')).toMatchObject({ status: 'True', reason: 'Suspended' });
      expect(s!.status!.value.nextScheduleTime).toBeUndefined();
    },
  },
  {
    name: 'scheduled, a run of the CronJobs finished: job.completed for that scheduled time, once',
    o: (() => {
      const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' } });
      const first = asWrite(planSnoopyJob(observe(sj, { pods: [pod('p1')] }), ctx));
      const cron = createdBy(first).cronJobs[0]!;
      const run: V1Job = finished({ metadata: { name: `${cron.metadata!.name}-29538595`, labels: cron.spec!.jobTemplate.metadata?.labels ?? cron.metadata!.labels, annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-03-01T09:55:00Z' }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cron.metadata!.name!, uid: 'c' }] } }, 'Complete');
      return observe(sj, { pods: [pod('p1')], cronJobs: [cron], jobs: [run], tokenSecret: (first.steps[0] as { create: V1Secret }).create, lastWritten: { phase: 'Scheduled', lastRun: { scheduleTime: '2026-03-01T09:55:00.000Z', state: 'Running', jobs: 1, succeeded: 0, failed: 0 } } });
    })(),
    check: (_plan, s) => {
      expect(s!.status!.value.lastRun).toMatchObject({ scheduleTime: '2026-03-01T09:55:00.000Z', state: 'Succeeded', succeeded: 1 });
      expect(s!.cloudEvents.map((e) => e.type)).toEqual([EventType.JobCompleted]);
      expect(reasons(s!)).toEqual(['RunCompleted']);
    },
  },
];

describe('SnoopyJob plan', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const plan = planSnoopyJob(c.o, ctx);
    const settled = plan.kind === 'write' ? plan.settle((c.outcome ?? allWent)(plan)) : undefined;
    c.check(plan, settled);
  });

  test('a settled status fed back unchanged is not written again', () => {
    const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' } });
    const first = asWrite(planSnoopyJob(observe(sj, { pods: [pod('p1')] }), ctx));
    const s1 = first.settle(allWent(first));
    const again = asWrite(planSnoopyJob(observe(sj, { pods: [pod('p1')], cronJobs: createdBy(first).cronJobs, tokenSecret: (first.steps[0] as { create: V1Secret }).create, lastWritten: s1.status!.value }), ctx));
    expect(again.steps).toEqual([]);
    const s2 = again.settle(NO_OUTCOME);
    expect(s2.status).toBeUndefined();
    expect(s2.events).toEqual([]);
  });

  test('the status patch nulls what the status lost', () => {
    const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' }, status: { phase: 'Running', captureId: 'run-x' } });
    const plan = asWrite(planSnoopyJob(observe(sj, { pods: [pod('p1')] }), ctx));
    expect(plan.settle(allWent(plan)).status!.patch).toMatchObject({ captureId: null, phase: 'Scheduled' });
  });
});

// ---------------------------------------------------------------- per-node capture (the default)

const nodeJob = (n: string) => nodeCaptureJobName({ name: 'sj', uid: UID }, n);
const nodeCron = (n: string) => nodeCaptureCronJobName({ name: 'sj', uid: UID }, n);
const nodeSecret = (n: string) => assignmentSecretName({ name: 'sj', uid: UID }, n);
const secretWrites = (plan: SnoopyJobPlan): SecretWrite[] => asWrite(plan).steps.flatMap((x) => (x.kind === 'secrets' ? x.writes : []));
const decoded = (w: SecretWrite) => Object.fromEntries(Object.entries(w.patch.data).map(([k, v]) => [k, v === null ? null : Buffer.from(v, 'base64').toString('utf8')]));
/** The Secret as the cache shows it after the write. */
const asSecret = (w: SecretWrite, over: Record<string, string> = {}): V1Secret => ({ ...w.create, data: { ...w.create.data, ...Object.fromEntries(Object.entries(over).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } });
/** A node capture pod that ended with `report` as its termination message. */
function nodePod(job: V1Job, report: NodeTargetReport[], node: string, phase = 'Succeeded'): V1Pod {
  return {
    metadata: { name: `${job.metadata!.name}-x`, labels: { ...job.spec!.template.metadata!.labels, 'job-name': job.metadata!.name! }, creationTimestamp: NOW },
    status: { phase, containerStatuses: [{ name: 'podtracer', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: 0, message: encodeNodeReport(node, report) } } }] },
  } as V1Pod;
}
const runningPod = (job: V1Job): V1Pod => ({ metadata: { name: `${job.metadata!.name}-x`, labels: { ...job.spec!.template.metadata!.labels, 'job-name': job.metadata!.name! } }, status: { phase: 'Running' } }) as V1Pod;
const activeJob = (job: V1Job): V1Job => ({ ...job, status: { active: 1 } });

// six targets on two nodes, once their Secrets and Jobs were created: the base of later cases
const SIX = ['a1', 'a2', 'a3'].map((p) => pod(p, { node: 'node-a' })).concat(['b1', 'b2', 'b3'].map((p) => pod(p, { node: 'node-b' })));
const nodeRun = (() => {
  const o = observe(snoopyJob(), { pods: SIX });
  const plan = asWrite(planSnoopyJob(o, nodeCtx));
  const s = plan.settle(allWent(plan));
  return { jobs: createdBy(plan).jobs, secrets: secretWrites(plan).map((w) => asSecret(w)), status: s.status!.value, assigned: new Map(s.assigned!.map(([k, v]) => [k, v!])) };
})();
const jobOf = (n: string) => nodeRun.jobs.find((j) => j.metadata!.name === nodeJob(n))!;

const nodeCases: Case[] = [
  {
    name: 'per-node, new: one assignment Secret and one capture Job per node with targets; tokens per target and per node',
    o: observe(snoopyJob(), { pods: [...SIX, pod('other', { labels: { app: 'x' }, node: 'node-c' })] }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual(['secrets', 'createJobs']);
      const writes = secretWrites(plan);
      expect(writes.map((w) => [w.name, w.exists])).toEqual([[nodeSecret('node-a'), false], [nodeSecret('node-b'), false]]);
      const a = decoded(writes[0]!);
      const assignment = parseAssignment(a[ASSIGNMENT_KEY]!);
      expect(assignment).toMatchObject({ node: 'node-a', captureId: s!.status!.value.captureId });
      expect(assignment.targets.map((t) => [t.pod, t.uid, t.container, t.tokenKey])).toEqual(['a1', 'a2', 'a3'].map((p) => [p, `pod-${p}`, 'main', targetTokenKey({ namespace: 'cnf-telco', name: p })]));
      // each target's token is its own pod's; the node's token is good for the node's manifest only
      const cid = s!.status!.value.captureId!;
      for (const t of assignment.targets) expect(verifyToken(KEY, a[t.tokenKey]!, { cid, ns: 'cnf-telco', pod: t.pod, job: 'snoopy-operator/sj' }, NOW_SEC).ok).toBe(true);
      expect(verifyToken(KEY, a[targetTokenKey({ namespace: 'cnf-telco', name: 'a1' })]!, { cid, ns: 'cnf-telco', pod: 'b1', job: 'snoopy-operator/sj' }, NOW_SEC).ok).toBe(false);
      expect(verifyNodeToken(KEY, a[NODE_TOKEN_KEY]!, { cid, job: 'snoopy-operator/sj', node: 'node-a' }, NOW_SEC).ok).toBe(true);
      expect(verifyNodeToken(KEY, a[NODE_TOKEN_KEY]!, { cid, job: 'snoopy-operator/sj', node: 'node-b' }, NOW_SEC).ok).toBe(false);
      expect(verifyToken(KEY, a[NODE_TOKEN_KEY]!, { cid, ns: 'cnf-telco', pod: 'b1', job: 'snoopy-operator/sj' }, NOW_SEC).ok).toBe(false);
      expect(writes[0]!.create.metadata!.labels).toMatchObject({ [Labels.jobUid]: UID, [Labels.node]: 'node-a', [Labels.component]: 'assignment' });
      const step = asWrite(plan).steps[1]!;
      expect(step).toMatchObject({ kind: 'createJobs', needs: { [nodeJob('node-a')]: nodeSecret('node-a'), [nodeJob('node-b')]: nodeSecret('node-b') } });
      expect(createdBy(plan).jobs.map((j) => j.metadata!.name)).toEqual([nodeJob('node-a'), nodeJob('node-b')]);
      expect(createdBy(plan).jobs[0]!.spec!.template.spec!.volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName: nodeSecret('node-a') }) }));
      // bounded status: 3 of 6 listed (SNOOPY_STATUS_TARGETS=3), counts and nodes whole
      expect(s!.status!.value).toMatchObject({ phase: 'Running', targetCount: 6, targetsOmitted: 3, targetStates: { Pending: 6 }, nodeCount: 2 });
      expect(s!.status!.value.targets!.map((t) => t.pod)).toEqual(['a1', 'a2', 'a3']);
      expect(s!.status!.value.nodes).toEqual([
        { node: 'node-a', job: nodeJob('node-a'), state: 'Pending', targets: 3, counts: { Pending: 3 } },
        { node: 'node-b', job: nodeJob('node-b'), state: 'Pending', targets: 3, counts: { Pending: 3 } },
      ]);
      expect(reasons(s!)).toEqual(['JobsCreated', 'Started']);
      expect(s!.cloudEvents.map((e) => e.type)).toEqual([EventType.JobStarted]);
      expect(s!.created).toEqual({ kind: 'Job', count: 2 });
      expect(s!.assigned!.map(([k, v]) => [k, v!.length])).toEqual([[nodeSecret('node-a'), 3], [nodeSecret('node-b'), 3]]);
    },
  },
  {
    name: 'per-node, a node\'s Secret cannot be written: its Job waits (needs), the other node goes on, CreateFailed',
    o: observe(snoopyJob(), { pods: SIX }),
    outcome: (plan) => {
      const all = allWent(plan);
      const created = new Set([...all.created].filter((n) => n !== nodeSecret('node-b') && n !== nodeJob('node-b')));
      return { ...all, created, failed: new Map([[nodeSecret('node-b'), new Error('HTTP 413')], [nodeJob('node-b'), new Error('HTTP 413')]]) };
    },
    check: (_plan, s) => {
      expect(s!.status!.value.nodes!.map((n) => n.node)).toEqual(['node-a']);
      expect(s!.status!.value.targetCount).toBe(3);
      expect(reasons(s!)).toEqual(['JobsCreated', 'CreateFailed', 'Started']);
      expect(s!.error).toEqual(new Error('HTTP 413'));
      expect(s!.assigned!.map(([k]) => k)).toEqual([nodeSecret('node-a')]);
    },
  },
  {
    name: 'per-node, a pod appears on a node with a capture pod: it joins that node\'s Secret (its token only), no new Job',
    o: observe(snoopyJob(), { pods: [...SIX, pod('a4', { node: 'node-a' })], jobs: nodeRun.jobs.map(activeJob), capturePods: nodeRun.jobs.map(runningPod), secrets: nodeRun.secrets, lastWritten: nodeRun.status }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual(['secrets']);
      const [w] = secretWrites(plan);
      expect(w).toMatchObject({ name: nodeSecret('node-a'), exists: true });
      const data = decoded(w!);
      expect(Object.keys(data).sort()).toEqual([ASSIGNMENT_KEY, targetTokenKey({ namespace: 'cnf-telco', name: 'a4' })].sort());
      expect(parseAssignment(data[ASSIGNMENT_KEY]!).targets.map((t) => t.pod)).toEqual(['a1', 'a2', 'a3', 'a4']);
      expect(reasons(s!)).toEqual(['TargetsJoined']);
      expect(s!.status!.value).toMatchObject({ targetCount: 7, targetStates: { Running: 7 }, phase: 'Running' });
      expect(s!.cloudEvents).toEqual([]);
    },
  },
  {
    name: 'per-node, a pod appears on a third node: a new Secret and Job for that node only',
    o: observe(snoopyJob(), { pods: [...SIX, pod('c1', { node: 'node-c' })], jobs: nodeRun.jobs.map(activeJob), capturePods: nodeRun.jobs.map(runningPod), secrets: nodeRun.secrets, lastWritten: nodeRun.status }),
    check: (plan, s) => {
      expect(secretWrites(plan).map((w) => [w.name, w.exists])).toEqual([[nodeSecret('node-c'), false]]);
      expect(Object.keys(decoded(secretWrites(plan)[0]!))).toContain(NODE_TOKEN_KEY);
      expect(createdBy(plan).jobs.map((j) => j.metadata!.name)).toEqual([nodeJob('node-c')]);
      expect(reasons(s!)).toEqual(['JobsCreated']);
      expect(s!.status!.value.nodeCount).toBe(3);
    },
  },
  {
    name: 'per-node, the Secret cache lags behind this process\'s writes: nothing is written twice',
    o: observe(snoopyJob(), { pods: SIX, lastWritten: nodeRun.status, assigned: nodeRun.assigned, expected: new Map(nodeRun.jobs.map((j) => [j.metadata!.name!, NOW.getTime() - 1_000])) }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status).toBeUndefined();
    },
  },
  {
    name: 'per-node, a target\'s tool failed on node-b: only that target fails; the run is Failed, job.failed names it',
    o: observe(snoopyJob(), {
      pods: SIX,
      jobs: nodeRun.jobs.map((j) => finished(j, 'Complete')),
      capturePods: [
        nodePod(jobOf('node-a'), ['a1', 'a2', 'a3'].map((p) => ({ namespace: 'cnf-telco', pod: p, state: 'Succeeded', bytes: 100, segments: 1, stopReason: 'timer' })), 'node-a'),
        nodePod(jobOf('node-b'), [
          { namespace: 'cnf-telco', pod: 'b1', state: 'Succeeded', bytes: 10, stopReason: 'timer' },
          { namespace: 'cnf-telco', pod: 'b2', state: 'Failed', toolExitCode: 137, stopReason: 'tool-exit', message: 'tcpdump killed by SIGKILL' },
          { namespace: 'cnf-telco', pod: 'b3', state: 'Succeeded', stopReason: 'target-gone' },
        ], 'node-b'),
      ],
      secrets: nodeRun.secrets,
      lastWritten: nodeRun.status,
    }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      const st = s!.status!.value;
      expect(st).toMatchObject({ phase: 'Failed', targetCount: 6, targetStates: { Succeeded: 5, Failed: 1 }, targetsOmitted: 3 });
      // the failed target is listed first whatever its name
      expect(st.targets!.map((t) => [t.pod, t.state])).toEqual([['a1', 'Succeeded'], ['a2', 'Succeeded'], ['b2', 'Failed']]);
      expect(st.targets![2]).toMatchObject({ toolExitCode: 137, stopReason: 'tool-exit', message: 'tcpdump killed by SIGKILL', node: 'node-b', job: nodeJob('node-b') });
      expect(st.nodes).toEqual([
        expect.objectContaining({ node: 'node-a', state: 'Succeeded', counts: { Succeeded: 3 }, bytes: 300 }),
        expect.objectContaining({ node: 'node-b', state: 'Succeeded', counts: { Succeeded: 2, Failed: 1 }, bytes: 10 }),
      ]);
      expect(s!.events).toEqual([{ type: 'Warning', reason: 'Failed', message: '1 of 6 target(s) failed: b2 (tcpdump killed by SIGKILL)' }]);
      expect(s!.cloudEvents.map((e) => [e.type, (e.data as { failed: number }).failed])).toEqual([[EventType.JobFailed, 1]]);
    },
  },
  {
    name: 'per-node, every target succeeded (one went away: target-gone): Completed, job.completed',
    o: observe(snoopyJob(), {
      pods: SIX,
      jobs: nodeRun.jobs.map((j) => finished(j, 'Complete')),
      capturePods: [
        nodePod(jobOf('node-a'), ['a1', 'a2', 'a3'].map((p) => ({ namespace: 'cnf-telco', pod: p, state: 'Succeeded', stopReason: p === 'a1' ? 'target-gone' : 'timer' })), 'node-a'),
        nodePod(jobOf('node-b'), ['b1', 'b2', 'b3'].map((p) => ({ namespace: 'cnf-telco', pod: p, state: 'Succeeded', stopReason: 'timer' })), 'node-b'),
      ],
      secrets: nodeRun.secrets,
      lastWritten: nodeRun.status,
    }),
    check: (_plan, s) => {
      expect(s!.status!.value).toMatchObject({ phase: 'Completed', targetStates: { Succeeded: 6 } });
      expect(s!.status!.value.targets![0]).toMatchObject({ pod: 'a1', state: 'Succeeded', stopReason: 'target-gone', message: expect.stringContaining('went away') });
      expect(s!.cloudEvents.map((e) => e.type)).toEqual([EventType.JobCompleted]);
      expect(reasons(s!)).toEqual(['Completed']);
    },
  },
  {
    name: 'per-node, a report with no room for every target: the unlisted ones succeeded when every failure is listed',
    o: (() => {
      const many = Array.from({ length: 60 }, (_, i) => pod(`p${String(i).padStart(2, '0')}-${'x'.repeat(40)}`, { node: 'node-a' }));
      const first = asWrite(planSnoopyJob(observe(snoopyJob(), { pods: many }), nodeCtx));
      const s1 = first.settle(allWent(first));
      const job = createdBy(first).jobs[0]!;
      const report: NodeTargetReport[] = many.map((p, i) => ({ namespace: 'cnf-telco', pod: p.metadata!.name!, state: i === 59 ? 'Failed' : 'Succeeded', bytes: 1, message: i === 59 ? 'no such device' : undefined }));
      return observe(snoopyJob(), { pods: many, jobs: [finished(job, 'Complete')], capturePods: [nodePod(job, report, 'node-a')], secrets: secretWrites(first).map((w) => asSecret(w)), lastWritten: s1.status!.value });
    })(),
    check: (_plan, s) => {
      const st = s!.status!.value;
      expect(st).toMatchObject({ phase: 'Failed', targetCount: 60, targetStates: { Succeeded: 59, Failed: 1 } });
      expect(st.nodes![0]).toMatchObject({ counts: { Succeeded: 59, Failed: 1 }, bytes: 60 });
    },
  },
  {
    name: 'per-node, the node\'s capture pod failed without a report (OOMKilled): its targets fail with the Job\'s reason',
    o: observe(snoopyJob(), { pods: SIX, jobs: [finished(jobOf('node-a'), 'Complete'), finished(jobOf('node-b'), 'Failed')], capturePods: [nodePod(jobOf('node-a'), ['a1', 'a2', 'a3'].map((p) => ({ namespace: 'cnf-telco', pod: p, state: 'Succeeded' })), 'node-a')], secrets: nodeRun.secrets, lastWritten: nodeRun.status }),
    check: (_plan, s) => {
      expect(s!.status!.value).toMatchObject({ phase: 'Failed', targetStates: { Succeeded: 3, Failed: 3 } });
      expect(s!.status!.value.nodes![1]).toMatchObject({ node: 'node-b', state: 'Failed', message: 'BackoffLimitExceeded', counts: { Failed: 3 } });
    },
  },
  {
    name: 'per-node, a node\'s Job vanished before it finished: its targets are Lost, not re-created',
    o: observe(snoopyJob(), { pods: SIX, jobs: [activeJob(jobOf('node-a'))], capturePods: [runningPod(jobOf('node-a'))], secrets: nodeRun.secrets, lastWritten: nodeRun.status }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual([]);
      expect(s!.status!.value.nodes!.map((n) => [n.node, n.state])).toEqual([['node-a', 'Running'], ['node-b', 'Lost']]);
      expect(s!.status!.value.targetStates).toEqual({ Running: 3, Lost: 3 });
    },
  },
  {
    name: 'per-node, a single target: the status and announcements a single-pod SnoopyJob always had',
    o: observe(snoopyJob(), { pods: [pod('p1')] }),
    check: (_plan, s) => {
      expect(s!.status!.value).toMatchObject({ phase: 'Running', targetCount: 1, targets: [expect.objectContaining({ pod: 'p1', namespace: 'cnf-telco', node: 'node-a', state: 'Pending', podUID: 'pod-p1' })] });
      expect(s!.status!.value.targetsOmitted).toBeUndefined();
      expect(s!.cloudEvents[0]).toMatchObject({ type: EventType.JobStarted, subject: 'cnf-telco/p1', extensions: expect.objectContaining({ targetpod: 'p1', node: 'node-a' }) });
    },
  },
  {
    name: 'per-node scheduled, new: a CronJob and an assignment Secret per node, prefix tokens for that CronJob\'s runs',
    o: observe(snoopyJob({ spec: { schedule: '*/5 * * * *' } }), { pods: SIX }),
    check: (plan, s) => {
      expect(stepKinds(plan)).toEqual(['secrets', 'cronJobs']);
      expect(createdBy(plan).cronJobs.map((c) => c.metadata!.name)).toEqual([nodeCron('node-a'), nodeCron('node-b')]);
      const a = decoded(secretWrites(plan)[0]!);
      expect(parseAssignment(a[ASSIGNMENT_KEY]!).captureId).toBeUndefined();
      const tok = a[targetTokenKey({ namespace: 'cnf-telco', name: 'a1' })]!;
      expect(verifyToken(KEY, tok, { cid: `${nodeCron('node-a')}-29538600`, ns: 'cnf-telco', pod: 'a1', job: 'snoopy-operator/sj' }, NOW_SEC).ok).toBe(true);
      expect(verifyNodeToken(KEY, a[NODE_TOKEN_KEY]!, { cid: `${nodeCron('node-a')}-29538600`, job: 'snoopy-operator/sj', node: 'node-a' }, NOW_SEC).ok).toBe(true);
      expect(s!.status!.value).toMatchObject({ phase: 'Scheduled', targetCount: 6, nodeCount: 2, targetStates: { Scheduled: 6 } });
      expect(reasons(s!)).toEqual(['CronJobsCreated']);
    },
  },
  {
    name: 'per-node scheduled, a node loses its last target: its CronJob and Secret go; a pod leaves another node: its token goes',
    o: (() => {
      const sj = snoopyJob({ spec: { schedule: '*/5 * * * *' } });
      const first = asWrite(planSnoopyJob(observe(sj, { pods: SIX }), nodeCtx));
      return observe(sj, { pods: SIX.filter((p) => p.metadata!.name!.startsWith('a') && p.metadata!.name !== 'a3'), cronJobs: createdBy(first).cronJobs, secrets: secretWrites(first).map((w) => asSecret(w)) });
    })(),
    check: (plan, s) => {
      const steps = asWrite(plan).steps;
      expect(steps.map((x) => x.kind)).toEqual(['secrets', 'cronJobs', 'deleteCronJobs', 'deleteSecrets']);
      const data = decoded(secretWrites(plan)[0]!);
      expect(data[targetTokenKey({ namespace: 'cnf-telco', name: 'a3' })]).toBeNull();
      expect(parseAssignment(data[ASSIGNMENT_KEY]!).targets.map((t) => t.pod)).toEqual(['a1', 'a2']);
      // node-a's CronJob is patched: its resources follow the target count
      expect(steps[1]).toMatchObject({ writes: [{ name: nodeCron('node-a') }] });
      expect(steps[2]).toEqual({ kind: 'deleteCronJobs', names: [nodeCron('node-b')] });
      expect(steps[3]).toEqual({ kind: 'deleteSecrets', names: [nodeSecret('node-b')] });
      expect(reasons(s!)).toEqual(['CronJobUpdated', 'CronJobsRemoved']);
      expect(s!.assigned).toEqual([[nodeSecret('node-a'), expect.any(Array)], [nodeSecret('node-b'), null]]);
    },
  },
];

describe('SnoopyJob plan, per-node capture', () => {
  test.each(nodeCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const plan = planSnoopyJob(c.o, nodeCtx);
    const settled = plan.kind === 'write' ? plan.settle((c.outcome ?? allWent)(plan)) : undefined;
    c.check(plan, settled);
  });

  test('the status patch nulls a count that went to zero (a merge patch merges nested objects)', () => {
    const plan = asWrite(planSnoopyJob(observe(snoopyJob(), { pods: SIX, jobs: nodeRun.jobs.map(activeJob), capturePods: [runningPod(jobOf('node-a'))], secrets: nodeRun.secrets, lastWritten: nodeRun.status }), nodeCtx));
    const patch = plan.settle(allWent(plan)).status!.patch as { targetStates: Record<string, unknown> };
    expect(nodeRun.status.targetStates).toEqual({ Pending: 6 });
    expect(patch.targetStates).toEqual({ Pending: 3, Running: 3 });
    const done = asWrite(planSnoopyJob(observe(snoopyJob(), { pods: SIX, jobs: nodeRun.jobs.map((j) => finished(j, 'Complete')), secrets: nodeRun.secrets, lastWritten: nodeRun.status }), nodeCtx));
    expect((done.settle(allWent(done)).status!.patch as { targetStates: Record<string, unknown> }).targetStates).toEqual({ Succeeded: 6, Pending: null });
  });

  test('the status of 10,000 targets on 200 nodes stays under 256 KiB (100 targets listed)', () => {
    const cfg = loadConfig({}, 'host');
    const many = Array.from({ length: 10_000 }, (_, i) => pod(`target-pod-${i}-${'x'.repeat(30)}`, { node: `node-with-a-long-name-${i % 200}.eu-west-1.compute.internal` }));
    const plan = asWrite(planSnoopyJob(observe(snoopyJob(), { pods: many }), { ...nodeCtx, config: cfg }));
    const s = plan.settle(allWent(plan));
    const st = s.status!.value;
    expect(st).toMatchObject({ targetCount: 10_000, nodeCount: 200, targetsOmitted: 9_900 });
    expect(st.targets!.length).toBe(100);
    expect(Buffer.byteLength(JSON.stringify(st))).toBeLessThan(256 * 1024);
    expect(createdBy(plan).jobs.length).toBe(200);
    // each node's Secret is bounded by its own targets
    expect(Math.max(...secretWrites(plan).map((w) => Buffer.byteLength(JSON.stringify(w.create))))).toBeLessThan(64 * 1024);
  });
});
