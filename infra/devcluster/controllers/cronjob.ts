// CronJob controller (batch/v1): creates a Job at each scheduled time (cron-parser, optional
// timeZone), named "<cronjob>-<scheduled time in minutes since the epoch>" as Kubernetes names
// them, honouring suspend, startingDeadlineSeconds and concurrencyPolicy Allow/Forbid/Replace;
// keeps successfulJobsHistoryLimit/failedJobsHistoryLimit finished Jobs; status lastScheduleTime,
// active and lastSuccessfulTime.
// Test clock: with `cronSeconds` (option, or env DEVCLUSTER_CRON_SECONDS=true) a 6-field schedule
// whose first field is seconds is accepted, and such Jobs are named by seconds since the epoch
// (several runs a minute must not share a name). 5-field schedules behave as in Kubernetes.
import { CronExpressionParser } from 'cron-parser';
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { apiPath, KubeError } from './kube-client.js';
import { ownedBy, type ControllerContext } from './context.js';
import { jobFinished } from './job.js';
import { ownerReference, splitKey } from './runtime.js';

/** Kubernetes' macros. */
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface ParsedSchedule {
  seconds: boolean;
  /** scheduled times in (after, upTo], newest last, at most `max` */
  timesBetween(after: number, upTo: number, max?: number): number[];
  next(after: number): number;
}

export function parseSchedule(schedule: string, timeZone: string | undefined, allowSeconds: boolean): ParsedSchedule {
  let expr = schedule.trim();
  let tz = timeZone;
  const m = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(expr);
  if (m) {
    tz = m[1];
    expr = m[2]!;
  }
  expr = MACROS[expr] ?? expr;
  const fields = expr.split(/\s+/).length;
  if (fields === 6 && !allowSeconds) throw new Error(`schedule "${schedule}": 6 fields (seconds) need the dev cluster's test clock (DEVCLUSTER_CRON_SECONDS=true)`);
  if (fields !== 5 && fields !== 6) throw new Error(`schedule "${schedule}": expected 5 fields`);
  // cron-parser reads 5 fields as minute-first; validate once
  CronExpressionParser.parse(expr, { tz: tz ?? 'UTC' });
  const seconds = fields === 6;
  const iter = (from: number) => CronExpressionParser.parse(expr, { currentDate: new Date(from), tz: tz ?? 'UTC' });
  return {
    seconds,
    timesBetween(after, upTo, max = 100) {
      const it = iter(after);
      const out: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const t = it.next().getTime();
        if (t > upTo) break;
        out.push(t);
        if (out.length > max) out.shift();
      }
      return out;
    },
    next(after) {
      return iter(after).next().getTime();
    },
  };
}

export function cronJobName(cj: string, scheduled: number, seconds: boolean): string {
  return `${cj}-${Math.floor(scheduled / (seconds ? 1000 : 60_000))}`;
}

export function jobFromCronJob(cj: V1CronJob, scheduled: number, seconds: boolean): Record<string, unknown> {
  const jt = cj.spec!.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: cronJobName(cj.metadata!.name!, scheduled, seconds),
      namespace: cj.metadata!.namespace,
      labels: { ...(jt.metadata?.labels ?? {}) },
      annotations: { ...(jt.metadata?.annotations ?? {}), 'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(scheduled).toISOString().replace(/\.\d+Z$/, 'Z') },
      ownerReferences: [ownerReference(cj, 'batch/v1', 'CronJob')],
    },
    spec: jt.spec,
  };
}

const ts = (v: unknown) => (v ? Date.parse(String(v)) : NaN);
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

export async function reconcileCronJob(ctx: ControllerContext, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const cj = ctx.cronjobs.get(name, ns);
  if (!cj || cj.metadata?.deletionTimestamp) return;
  const now = ctx.clock();
  let sched: ParsedSchedule;
  try {
    sched = parseSchedule(cj.spec!.schedule, cj.spec?.timeZone, ctx.cronSeconds);
  } catch (e) {
    ctx.log.warn({ cronjob: key, err: (e as Error).message }, 'unparseable schedule');
    return;
  }
  const jobs = ownedBy<V1Job>(ctx.jobs, ns, cj.metadata!.uid!);
  const activeJobs = jobs.filter((j) => !jobFinished(j) && !j.metadata?.deletionTimestamp);
  const status = (cj.status ?? {}) as { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: unknown[] };
  let lastSchedule = ts(status.lastScheduleTime);
  let lastSuccessful = ts(status.lastSuccessfulTime);
  for (const j of jobs) {
    if (jobFinished(j) === 'Complete') {
      const done = ts(j.status?.completionTime);
      if (!Number.isNaN(done) && !(done <= lastSuccessful)) lastSuccessful = done;
    }
  }

  // history limits: oldest finished Jobs beyond the limits go (with their pods)
  const byStart = (a: V1Job, b: V1Job) => ts(a.metadata?.creationTimestamp) - ts(b.metadata?.creationTimestamp) || a.metadata!.name!.localeCompare(b.metadata!.name!);
  const prune = async (result: 'Complete' | 'Failed', limit: number) => {
    const done = jobs.filter((j) => jobFinished(j) === result && !j.metadata?.deletionTimestamp).sort(byStart);
    for (const j of done.slice(0, Math.max(0, done.length - limit))) {
      await ctx.kube.delete(apiPath('batch/v1', 'jobs', ns, j.metadata!.name), { propagationPolicy: 'Background' });
    }
  };
  await prune('Complete', cj.spec?.successfulJobsHistoryLimit ?? 3);
  await prune('Failed', cj.spec?.failedJobsHistoryLimit ?? 1);

  const earliest = Number.isNaN(lastSchedule) ? ts(cj.metadata?.creationTimestamp) || now : lastSchedule;
  const missed = sched.timesBetween(earliest, now);
  const scheduled = missed[missed.length - 1];
  const active = activeJobs.map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata!.name, namespace: ns, uid: j.metadata!.uid, resourceVersion: j.metadata!.resourceVersion }));

  if (scheduled !== undefined && !cj.spec?.suspend) {
    const deadline = cj.spec?.startingDeadlineSeconds;
    const tooLate = deadline !== undefined && deadline !== null && scheduled + deadline * 1000 < now;
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (tooLate) {
      ctx.log.info({ cronjob: key, scheduled: iso(scheduled) }, 'missed starting deadline; skipping');
    } else if (policy === 'Forbid' && activeJobs.length > 0) {
      // not started, and lastScheduleTime kept, so it is retried until the deadline passes
      ctx.queues.cronjob.addAfter(key, 1000);
    } else {
      if (policy === 'Replace') {
        for (const j of activeJobs) await ctx.kube.delete(apiPath('batch/v1', 'jobs', ns, j.metadata!.name), { propagationPolicy: 'Background' });
        active.length = 0;
      }
      try {
        const j = await ctx.kube.create<V1Job>(apiPath('batch/v1', 'jobs', ns), jobFromCronJob(cj, scheduled, sched.seconds));
        active.push({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata!.name, namespace: ns, uid: j.metadata!.uid, resourceVersion: j.metadata!.resourceVersion });
        ctx.log.info({ cronjob: key, job: j.metadata!.name }, 'created scheduled job');
        ctx.event('cronjob-controller')({ ...cj, apiVersion: 'batch/v1', kind: 'CronJob' }, 'Normal', 'SuccessfulCreate', `Created job ${j.metadata!.name}`);
      } catch (e) {
        if (!(e instanceof KubeError && e.code === 409)) throw e;
      }
      lastSchedule = scheduled;
    }
  }
  const next: Record<string, unknown> = { active: active.length ? active : null };
  if (!Number.isNaN(lastSchedule)) next.lastScheduleTime = iso(lastSchedule);
  if (!Number.isNaN(lastSuccessful)) next.lastSuccessfulTime = iso(lastSuccessful);
  const changed = JSON.stringify({ a: (status.active ?? []).map((x) => (x as { uid?: string }).uid), l: status.lastScheduleTime, s: status.lastSuccessfulTime }) !==
    JSON.stringify({ a: active.map((x) => x.uid), l: next.lastScheduleTime, s: next.lastSuccessfulTime });
  if (changed) await ctx.kube.mergePatch(apiPath('batch/v1', 'cronjobs', ns, name, 'status'), { status: next });
  // wake at the next scheduled time
  const nextRun = sched.next(Math.max(now, Number.isNaN(lastSchedule) ? 0 : lastSchedule));
  ctx.queues.cronjob.addAfter(key, Math.max(nextRun - ctx.clock(), 0) + 20);
}
