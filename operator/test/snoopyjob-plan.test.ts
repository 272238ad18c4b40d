// The SnoopyJob plan as a table of cases, without a server: each case is an observation (the
// SnoopyJob and what the caches show), optionally how the writes went, and what the plan must
// decide — lifecycle steps, writes, status, Kubernetes Events, CloudEvents.
import { describe, expect, test } from '@jest/globals';
import type { V1CronJob, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import { loadConfig } from '../config.js';
import type { SnoopyJob, SnoopyJobStatus } from '../../lib/api/schema.js';
import { FINALIZER, captureCronJobName, captureJobName, tokenSecretName } from '../../lib/api/names.js';
import { EventType } from '../../lib/events.js';
import { cronTargetToken } from '../tokens.js';
import { NO_OUTCOME, planSnoopyJob, type PlanContext, type Settlement, type SnoopyJobObservation, type SnoopyJobPlan, type WriteOutcome, type WritePlan } from '../snoopyjob/plan.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');
const NOW_SEC = NOW.getTime() / 1000;
const KEY = 'test-key';
const config = loadConfig({}, 'host');
const ctx: PlanContext = { config, tokenKey: KEY, now: NOW };
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
