// The plan of a scheduled SnoopyJob (pure): a CronJob per target pod, created when missing,
// patched when its template changed, deleted when its pod went; prefix tokens renewed when a
// third of their lifetime is left; the status, and the latest run's start and end announced.
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import type { EventInput } from '../../lib/event-sink.js';
import { EventType, snoopyJobSource } from '../../lib/events.js';
import type { SnoopyJob, SnoopyJobStatus, TargetStatus } from '../../lib/api/schema.js';
import { Annotations, captureCronJobName, tokenSecretName } from '../../lib/api/names.js';
import { nextScheduleTime, type ResolvedSpec } from '../../lib/api/validation.js';
import { captureSettingsFrom, renderCaptureCronJob, type CaptureTarget } from '../render/capture.js';
import { cronTargetToken, jobClaim, tokenExpiry } from '../tokens.js';
import { isTerminal, setCondition, targetFromJob } from './status.js';
import { baseFromJob, byText, capturePodsByCronJob, capturePodsByJob, jobLabelOf, lastScheduleOf, owned, requestFor, scheduledTimeOf, selectorText, targetOf } from './observed.js';
import { asError, tokenWrite, withStatus } from './writes.js';
import type { KubeEvent, RunPlanInput, SnoopyJobObservation, WritePlan, WriteStep } from './plan.js';

export function planScheduled({ o, ctx, r, pods, base, valid, gen, nowIso }: RunPlanInput): WritePlan {
  const { sj } = o;
  const { config, now } = ctx;
  const uid = sj.metadata.uid!;
  const nowSec = Math.floor(now.getTime() / 1000);
  const existing = owned(o.cronJobs, uid);

  const desired = new Map<string, { target: CaptureTarget; cronJob: V1CronJob }>();
  const request = requestFor(sj, r);
  const settings = captureSettingsFrom(config);
  for (const pod of pods) {
    const target = targetOf(pod, r);
    if (!target) continue;
    const name = captureCronJobName({ name: sj.metadata.name, uid }, { namespace: target.namespace, name: target.pod });
    const req = { ...request(target, name), schedule: r.schedule!, suspend: r.suspend };
    desired.set(name, { target, cronJob: renderCaptureCronJob(name, req, settings) });
  }

  // tokens: a prefix claim per CronJob, renewed when a third of its lifetime is left
  const secret = o.tokenSecret?.metadata?.name === tokenSecretName({ name: sj.metadata.name, uid }) ? o.tokenSecret : undefined;
  const lifetime = config.cronTokenLifetimeSeconds;
  const claim = jobClaim(sj);
  const add: Record<string, string> = {};
  let renewAt = Infinity;
  for (const [name, { target }] of desired) {
    const current = secret?.data?.[name] ? Buffer.from(secret.data[name]!, 'base64').toString('utf8') : undefined;
    const exp = current ? tokenExpiry(current) : undefined;
    if (exp === undefined || exp - nowSec < lifetime / 3) {
      add[name] = cronTargetToken(ctx.tokenKey, { cronJobName: name, namespace: target.namespace, pod: target.pod, job: claim }, lifetime, nowSec).token;
      renewAt = Math.min(renewAt, nowSec + lifetime - lifetime / 3);
    } else renewAt = Math.min(renewAt, exp - lifetime / 3);
  }
  const removeKeys = Object.keys(secret?.data ?? {}).filter((k) => !desired.has(k));

  const steps: WriteStep[] = [];
  if (Object.keys(add).length > 0 || removeKeys.length > 0) steps.push(tokenWrite(sj, config.namespace, secret !== undefined, add, removeKeys));
  const writes: ({ create: V1CronJob } | { name: string; patch: Record<string, unknown> })[] = [];
  const patched: string[] = [];
  for (const [name, d] of desired) {
    const have = existing.get(name);
    if (!have) writes.push({ create: d.cronJob });
    else if (have.metadata?.annotations?.[Annotations.templateHash] !== d.cronJob.metadata!.annotations![Annotations.templateHash]) {
      writes.push({ name, patch: { metadata: { labels: d.cronJob.metadata!.labels, annotations: d.cronJob.metadata!.annotations }, spec: d.cronJob.spec } });
      patched.push(name);
    }
  }
  if (writes.length > 0) steps.push({ kind: 'cronJobs', writes });
  const gone = [...existing.keys()].filter((n) => !desired.has(n));
  if (gone.length > 0) steps.push({ kind: 'deleteCronJobs', names: gone });

  return {
    kind: 'write',
    steps,
    settle(outcome) {
      const events: KubeEvent[] = [];
      for (const name of patched) {
        const d = desired.get(name)!;
        if (outcome.updated.has(name)) events.push({ type: 'Normal', reason: 'CronJobUpdated', message: `updated CronJob ${name} for pod ${d.target.namespace}/${d.target.pod}` });
      }
      if (outcome.deleteError !== undefined) return { events, cloudEvents: [], expect: [], error: asError(outcome.deleteError) };
      let firstError: unknown;
      let created = 0;
      for (const name of desired.keys()) {
        if (outcome.failed.has(name)) firstError ??= outcome.failed.get(name);
        if (outcome.created.has(name)) created++;
      }
      if (created > 0) events.push({ type: 'Normal', reason: 'CronJobsCreated', message: `created ${created} capture CronJob(s) in ${config.namespace}` });
      if (gone.length > 0) events.push({ type: 'Normal', reason: 'CronJobsRemoved', message: `removed ${gone.length} CronJob(s) whose target pod is gone` });

      const status = valid();
      const capturePods = capturePodsByCronJob(o.capturePods, uid);
      const targets: TargetStatus[] = [];
      let lastSchedule: string | undefined;
      for (const [name, { target }] of desired) {
        const cj = existing.get(name);
        const lastIso = lastScheduleOf(cj);
        if (lastIso && (!lastSchedule || lastIso > lastSchedule)) lastSchedule = lastIso;
        const t: TargetStatus = { pod: target.pod, namespace: target.namespace, podUID: target.uid, node: target.node, job: name, state: (cj?.status?.active?.length ?? 0) > 0 ? 'Running' : 'Scheduled' };
        const runPod = capturePods.get(name);
        if (runPod) {
          const jobName = jobLabelOf(runPod);
          const fake: V1Job = { status: {} };
          const summary = targetFromJob({ ...t, ...(jobName ? { captureId: jobName } : {}) }, fake, runPod);
          const { state: _s, ...details } = summary;
          void _s;
          Object.assign(t, details);
        }
        targets.push(t);
      }
      targets.sort((a, b) => byText(a.namespace, b.namespace) || byText(a.pod, b.pod));
      status.targets = targets;
      status.targetCount = targets.length;
      status.cronJobList = targets.map((t) => t.job);
      if (lastSchedule) status.lastScheduleTime = lastSchedule;
      const cloudEvents: EventInput[] = [];
      followLatestRun(o, sj, r, status, desired.size, now, cloudEvents, events);
      const next = r.suspend ? undefined : nextScheduleTime(r.schedule!, now);
      if (next) status.nextScheduleTime = next;
      else delete status.nextScheduleTime;
      delete status.captureId;
      if (targets.length === 0) {
        status.phase = 'NoTargets';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoTargets', message: `no running pod in namespace "${r.targetNamespace}" matches ${selectorText(r.selector)}`, ...gen }, nowIso);
      } else {
        status.phase = 'Scheduled';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: r.suspend ? 'Suspended' : 'Scheduled', message: `${targets.length} CronJob(s) on "${r.schedule}"${r.suspend ? ' (suspended)' : ''}`, ...gen }, nowIso);
      }
      // come back to refresh next/last schedule times and to renew tokens in time
      const untilNext = next ? Date.parse(next) - now.getTime() + 2_000 : Infinity;
      const untilRenew = Number.isFinite(renewAt) ? renewAt * 1000 - now.getTime() : Infinity;
      const wait = Math.min(untilNext, untilRenew, 3_600_000);
      return {
        events,
        cloudEvents,
        expect: [],
        ...(created > 0 ? { created: { kind: 'CronJob' as const, count: created } } : {}),
        ...withStatus(base, status),
        ...(firstError !== undefined ? { error: asError(firstError) } : { requeueAfterMs: Math.max(1_000, wait) }),
      };
    },
  };
}

/**
 * A scheduled run is the set of Jobs the CronJobs created for one scheduled time. Announces the
 * latest run's start (job.started) once its Jobs appear and its end (job.completed/failed) once
 * all of them finished; status.lastRun remembers what was announced across restarts.
 */
function followLatestRun(o: SnoopyJobObservation, sj: SnoopyJob, r: ResolvedSpec, status: SnoopyJobStatus, cronJobs: number, now: Date, cloudEvents: EventInput[], events: KubeEvent[]): void {
  const runs = new Map<string, V1Job[]>();
  for (const job of owned(o.jobs, sj.metadata.uid!).values()) {
    const at = scheduledTimeOf(job);
    if (!at) continue;
    runs.set(at, [...(runs.get(at) ?? []), job]);
  }
  const latest = [...runs.keys()].sort().pop();
  if (!latest) return;
  const jobs = runs.get(latest)!;
  const capturePods = capturePodsByJob(o.capturePods, sj.metadata.uid!);
  const results = jobs.map((j) => targetFromJob({ ...baseFromJob(j, j.metadata!.name!, j.metadata!.name!) }, j, capturePods.get(j.metadata!.name!)));
  const succeeded = results.filter((t) => t.state === 'Succeeded').length;
  const failed = results.filter((t) => t.state === 'Failed').length;
  const source = snoopyJobSource(sj.metadata.namespace, sj.metadata.name);
  const extensions = { snoopyjob: sj.metadata.name, snoopyns: sj.metadata.namespace, targetns: r.targetNamespace, ...(results.length === 1 ? { targetpod: results[0]!.pod, node: results[0]!.node } : {}) };
  let run = status.lastRun;
  if (!run || run.scheduleTime < latest) {
    run = { scheduleTime: latest, state: 'Running', jobs: jobs.length, succeeded, failed };
    cloudEvents.push({ type: EventType.JobStarted, source, data: { scheduleTime: latest, targets: results.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, captureId: t.job })) }, extensions });
    events.push({ type: 'Normal', reason: 'RunStarted', message: `scheduled run of ${latest} started on ${jobs.length} target(s)` });
  }
  if (run.scheduleTime !== latest) return;
  run = { ...run, jobs: jobs.length, succeeded, failed };
  // every CronJob has made its Job (or the starting deadline is past) and all of them finished
  const complete = jobs.length >= cronJobs || now.getTime() - Date.parse(latest) > 300_000;
  if (run.state === 'Running' && complete && results.every((t) => isTerminal(t.state))) {
    run.state = failed > 0 ? 'Failed' : 'Succeeded';
    cloudEvents.push({
      type: failed > 0 ? EventType.JobFailed : EventType.JobCompleted,
      source,
      data: { scheduleTime: latest, succeeded, failed, targets: results.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, captureId: t.job, state: t.state, bytes: t.bytes, segments: t.segments, objects: t.objects, message: t.message })) },
      extensions,
    });
    events.push({ type: failed > 0 ? 'Warning' : 'Normal', reason: failed > 0 ? 'RunFailed' : 'RunCompleted', message: `scheduled run of ${latest}: ${succeeded} succeeded, ${failed} failed` });
  }
  status.lastRun = run;
}
