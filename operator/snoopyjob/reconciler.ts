// The SnoopyJob reconciler: level-triggered and idempotent. Each pass reads the caches (the
// SnoopyJob, its target pods, its Jobs/CronJobs/capture pods/token Secret), makes the cluster
// match (creates what is missing, updates what drifted, removes what is no longer wanted) and
// writes the status it observed. Names are deterministic, so a restarted operator finds what a
// previous one created instead of duplicating it.
import type { V1CronJob, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { EventSink } from '../../lib/event-sink.js';
import { EventType, snoopyJobSource, targetSubject } from '../../lib/events.js';
import type { Logger } from '../../lib/log.js';
import type { OperatorConfig } from '../config.js';
import type { SnoopyDataEndpoint, SnoopyJob, SnoopyJobStatus, TargetStatus } from '../../lib/api/schema.js';
import { evidenceEnabled } from '../../lib/api/schema.js';
import {
  CRONJOBS,
  JOBS,
  MERGE_PATCH,
  SNOOPYJOBS,
  createIfAbsent,
  deleteObject,
  deleteSecret,
  errorText,
  getObject,
  isConflict,
  mapLimit,
  patchObject,
  patchStatus,
  retryOnConflict,
  type Kube,
} from '../../lib/kube/client.js';
import type { ResilientCache } from '../kube/informer.js';
import type { EventRecorder } from '../kube/recorder.js';
import type { OperatorMetrics } from '../metrics.js';
import { captureSettingsFrom, renderCaptureCronJob, renderCaptureJob, type CaptureRequest, type CaptureSettings, type CaptureTarget } from '../render/capture.js';
import { Annotations, FINALIZER, Labels, captureCronJobName, captureJobName, oneShotCaptureId, snoopyLabels, tokenSecretName } from '../../lib/api/names.js';
import { cronTargetToken, jobClaim, oneShotTargetToken, tokenExpiry } from '../tokens.js';
import { describeProblems, nextScheduleTime, validateSnoopyJob, type ResolvedSpec } from '../../lib/api/validation.js';
import { getCondition, isTerminal, jsonEqual, setCondition, targetFromJob } from './status.js';
import { TargetPodCaches, isCapturable, selectorMatches } from './target-pods.js';

export interface SnoopyJobCaches {
  snoopyJobs: ResilientCache<SnoopyJob>;
  dataEndpoints: ResilientCache<SnoopyDataEndpoint>;
  jobs: ResilientCache<V1Job>;
  cronJobs: ResilientCache<V1CronJob>;
  capturePods: ResilientCache<V1Pod>;
  secrets: ResilientCache<V1Secret>;
}

export interface SnoopyJobReconcilerDeps {
  kube: Kube;
  config: OperatorConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  recorder: EventRecorder;
  sink: EventSink;
  caches: SnoopyJobCaches;
  targetPods: TargetPodCaches;
  tokenKey: () => string;
  now?: () => Date;
}

type Result = { requeueAfterMs?: number } | void;

/** How long a freshly created Job counts as existing before the cache shows it. */
const EXPECTATION_MS = 120_000;

/** Code-unit order: locale-independent (names are ASCII) and without ICU's collation cost. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function targetNamespaceOf(sj: SnoopyJob): string {
  return sj.spec?.targetNamespace || sj.metadata.namespace;
}

export class SnoopyJobReconciler {
  /** Jobs created by this process that the cache may not show yet: name → creation time. */
  private readonly expected = new Map<string, number>();
  /**
   * The status this process last wrote, per SnoopyJob uid. The cache can lag behind our own
   * writes; only the leader writes status, so its last write is the truth to build on (without
   * this, a reconcile right after a write would e.g. announce a run's start twice).
   */
  private readonly written = new Map<string, SnoopyJobStatus>();

  constructor(private readonly d: SnoopyJobReconcilerDeps) {}

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }

  private get settings(): CaptureSettings {
    return captureSettingsFrom(this.d.config);
  }

  async reconcile(key: string): Promise<Result> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.d.caches.snoopyJobs.get(name, namespace);
    if (!cached) return;
    if (cached.metadata.deletionTimestamp) return this.finalize(cached);
    let sj = cached;
    if (!(sj.metadata.finalizers ?? []).includes(FINALIZER)) {
      // A new SnoopyJob: its target pods' cache (a LIST) is started while the finalizer is added,
      // and the reconcile goes on with the patched object rather than waiting for the watch.
      // (Only where the spec may point: a refused cross-namespace target gets no cache.)
      const target = targetNamespaceOf(sj);
      if (target === namespace || this.d.config.allowCrossNamespace) this.d.targetPods.ensure(target).catch(() => undefined);
      const patched = await this.addFinalizer(sj);
      if (!patched) return;
      sj = patched;
    }

    const ref = sj.spec?.dataEndpointRef;
    let endpoint: { found: boolean; address?: string } | undefined;
    if (ref) {
      const de = this.d.caches.dataEndpoints.get(ref.name, ref.namespace || namespace);
      endpoint = de ? { found: true, ...(de.status?.address ? { address: de.status.address } : {}) } : { found: false };
    }
    const validation = validateSnoopyJob(sj, {
      operatorNamespace: this.d.config.namespace,
      allowCrossNamespace: this.d.config.allowCrossNamespace,
      policy: this.d.config.toolPolicy,
      ...(endpoint ? { endpoint } : {}),
    });
    const nowIso = this.now().toISOString();
    const status: SnoopyJobStatus = structuredClone(this.written.get(sj.metadata.uid!) ?? sj.status ?? {});
    if (sj.metadata.generation !== undefined) status.observedGeneration = sj.metadata.generation;
    const gen = sj.metadata.generation !== undefined ? { observedGeneration: sj.metadata.generation } : {};

    if (!validation.ok) {
      const message = describeProblems(validation.problems);
      const reason = validation.problems[0]!.reason;
      const prev = getCondition(status.conditions, 'Valid');
      // scheduled captures of a spec that turned invalid must not go on running
      await this.removeCronJobs(sj, new Set());
      status.phase = 'Invalid';
      status.conditions = setCondition(status.conditions, { type: 'Valid', status: 'False', reason, message, ...gen }, nowIso);
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Invalid', message: 'the spec is invalid; nothing was created', ...gen }, nowIso);
      if (prev?.status !== 'False' || prev.message !== message) this.d.recorder.emit(sj, 'Warning', reason, message);
      await this.writeStatus(sj, status);
      return;
    }
    const r = validation.resolved;
    status.conditions = setCondition(status.conditions, { type: 'Valid', status: 'True', reason: 'Valid', message: 'the spec is valid', ...gen }, nowIso);
    if (!r.collector) {
      status.phase = status.phase && status.phase !== 'Invalid' ? status.phase : 'Pending';
      status.conditions = setCondition(
        status.conditions,
        { type: 'Ready', status: 'False', reason: 'WaitingForEndpoint', message: `SnoopyDataEndpoint "${ref!.namespace || namespace}/${ref!.name}" has no address yet`, ...gen },
        nowIso,
      );
      await this.writeStatus(sj, status);
      return;
    }
    if (r.schedule === undefined && r.suspend && !status.startTime) {
      // a suspended one-shot SnoopyJob waits; once its run started, suspend no longer applies
      status.phase = 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true: the run starts when it is cleared', ...gen }, nowIso);
      await this.writeStatus(sj, status);
      return;
    }
    const podCache = await this.d.targetPods.ensure(r.targetNamespace);
    const pods = podCache.list(r.targetNamespace).filter((p) => selectorMatches(r.selector, p.metadata?.labels) && isCapturable(p));
    pods.sort((a, b) => byText(a.metadata!.name!, b.metadata!.name!));
    return r.schedule !== undefined ? this.reconcileScheduled(sj, r, pods, status) : this.reconcileOneShot(sj, r, pods, status);
  }

  // ------------------------------------------------------------------ one-shot runs

  private async reconcileOneShot(sj: SnoopyJob, r: ResolvedSpec, pods: V1Pod[], status: SnoopyJobStatus): Promise<Result> {
    const { config, metrics, logger } = this.d;
    const uid = sj.metadata.uid!;
    const now = this.now();
    const nowIso = now.toISOString();
    const gen = sj.metadata.generation !== undefined ? { observedGeneration: sj.metadata.generation } : {};
    const captureId = status.captureId ?? oneShotCaptureId({ uid });
    status.captureId = captureId;
    await this.removeCronJobs(sj, new Set()); // a schedule that was removed

    // the SnoopyJob's one-shot Jobs (not those of CronJobs it had while it was scheduled)
    const jobs = new Map([...this.owned(this.d.caches.jobs, uid)].filter(([, j]) => !scheduledTimeOf(j)));
    const recorded = new Map((status.targets ?? []).map((t) => [t.job, t]));
    const finished = status.phase === 'Completed' || status.phase === 'Failed';
    for (const [name, at] of this.expected) if (jobs.has(name) || now.getTime() - at > EXPECTATION_MS) this.expected.delete(name);

    const fresh = new Map<string, { target: CaptureTarget; req: CaptureRequest }>();
    if (!finished) {
      const request = this.requestFor(sj, r, captureId);
      for (const pod of pods) {
        const target = this.targetOf(pod, r);
        if (!target) continue;
        const name = captureJobName({ name: sj.metadata.name, uid }, { namespace: target.namespace, name: target.pod });
        if (jobs.has(name) || recorded.has(name) || this.expected.has(name)) continue;
        fresh.set(name, { target, req: request(target, name) });
      }
    }

    let createError: unknown;
    if (fresh.size > 0) {
      const lifetime = r.timerSeconds + config.graceSeconds;
      const key = this.d.tokenKey();
      const nowSec = Math.floor(now.getTime() / 1000);
      const job = jobClaim(sj);
      await this.ensureTokens(sj, Object.fromEntries([...fresh].map(([name, f]) => [name, oneShotTargetToken(key, { captureId, namespace: f.target.namespace, pod: f.target.pod, job }, lifetime, nowSec).token])), []);
      const entries = [...fresh];
      const settings = this.settings;
      const results = await mapLimit(entries, config.writeConcurrency, ([name, f]) => createIfAbsent(this.d.kube, JOBS, config.namespace, renderCaptureJob(name, f.req, settings)));
      let created = 0;
      results.forEach((res, i) => {
        const name = entries[i]![0];
        if (res.status === 'fulfilled') {
          this.expected.set(name, now.getTime());
          if (res.value === 'created') created++;
        } else {
          fresh.delete(name);
          createError ??= res.reason;
        }
      });
      if (created > 0) {
        metrics.jobsCreated.inc({ kind: 'Job' }, created);
        logger.info({ snoopyjob: `${sj.metadata.namespace}/${sj.metadata.name}`, created }, 'capture Jobs created');
        this.d.recorder.emit(sj, 'Normal', 'JobsCreated', `created ${created} capture Job(s) in ${config.namespace}`);
      }
      if (createError) this.d.recorder.emit(sj, 'Warning', 'CreateFailed', `could not create a capture Job: ${errorText(createError)}`);
    }

    const capturePods = this.capturePodsByJob(uid);
    const names = new Set([...recorded.keys(), ...jobs.keys(), ...fresh.keys()]);
    const targets: TargetStatus[] = [];
    for (const name of names) {
      const job = jobs.get(name);
      const rec = recorded.get(name);
      const f = fresh.get(name);
      const base = rec
        ? { pod: rec.pod, namespace: rec.namespace, job: name, captureId, ...(rec.podUID ? { podUID: rec.podUID } : {}), ...(rec.node ? { node: rec.node } : {}) }
        : f
          ? { pod: f.target.pod, namespace: f.target.namespace, podUID: f.target.uid, node: f.target.node, job: name, captureId }
          : job
            ? this.baseFromJob(job, name, captureId)
            : undefined;
      if (!base) continue;
      if (job) targets.push({ ...(rec ?? {}), ...targetFromJob(base, job, capturePods.get(name)) });
      else if (rec && isTerminal(rec.state)) targets.push(rec);
      else if (f || this.expected.has(name)) targets.push({ ...(rec ?? {}), ...base, state: 'Pending' });
      else targets.push({ ...rec!, state: 'Lost', message: 'the capture Job disappeared before it finished' });
    }
    targets.sort((a, b) => byText(a.namespace, b.namespace) || byText(a.pod, b.pod));
    status.targets = targets;
    status.targetCount = targets.length;
    status.cronJobList = targets.map((t) => t.job);

    if (targets.length === 0) {
      status.phase = 'NoTargets';
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoTargets', message: `no running pod in namespace "${r.targetNamespace}" matches ${selectorText(r.selector)}`, ...gen }, nowIso);
    } else {
      const extensions = { snoopyjob: sj.metadata.name, snoopyns: sj.metadata.namespace, targetns: r.targetNamespace, ...(targets.length === 1 ? { targetpod: targets[0]!.pod, node: targets[0]!.node } : {}) };
      const subject = targets.length === 1 ? targetSubject(targets[0]!.namespace, targets[0]!.pod) : undefined;
      if (!status.startTime) {
        status.startTime = nowIso;
        this.d.sink.emit({
          type: EventType.JobStarted,
          source: snoopyJobSource(sj.metadata.namespace, sj.metadata.name),
          ...(subject ? { subject } : {}),
          data: { captureId, command: r.command, args: r.argv, timer: r.timer, targets: targets.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job })) },
          extensions,
        });
        this.d.recorder.emit(sj, 'Normal', 'Started', `capture ${captureId} started on ${targets.length} target(s)`);
      }
      if (finished) {
        // the run is over: keep its phase, follow the Jobs' final details only
      } else if (targets.every((t) => isTerminal(t.state))) {
        const failed = targets.filter((t) => t.state !== 'Succeeded');
        status.phase = failed.length > 0 ? 'Failed' : 'Completed';
        status.completionTime = nowIso;
        const msg = failed.length > 0 ? `${failed.length} of ${targets.length} target(s) failed: ${failed.slice(0, 5).map((t) => `${t.pod} (${t.message ?? t.state})`).join(', ')}` : `all ${targets.length} target(s) succeeded`;
        status.conditions = setCondition(status.conditions, { type: 'Completed', status: 'True', reason: failed.length > 0 ? 'Failed' : 'Succeeded', message: msg, ...gen }, nowIso);
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'RunFinished', message: msg, ...gen }, nowIso);
        this.d.sink.emit({
          type: failed.length > 0 ? EventType.JobFailed : EventType.JobCompleted,
          source: snoopyJobSource(sj.metadata.namespace, sj.metadata.name),
          ...(subject ? { subject } : {}),
          data: {
            captureId,
            succeeded: targets.length - failed.length,
            failed: failed.length,
            targets: targets.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, state: t.state, bytes: t.bytes, segments: t.segments, objects: t.objects, message: t.message })),
          },
          extensions,
        });
        this.d.recorder.emit(sj, failed.length > 0 ? 'Warning' : 'Normal', failed.length > 0 ? 'Failed' : 'Completed', msg);
      } else {
        status.phase = 'Running';
        const running = targets.filter((t) => t.state === 'Running').length;
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'Running', message: `${targets.length} capture Job(s), ${running} running`, ...gen }, nowIso);
        status.conditions = setCondition(status.conditions, { type: 'Completed', status: 'False', reason: 'Running', message: 'the run is in progress', ...gen }, nowIso);
      }
    }
    await this.writeStatus(sj, status);
    if (createError) throw createError instanceof Error ? createError : new Error(JSON.stringify(createError));
    return undefined;
  }

  // ------------------------------------------------------------------ scheduled runs

  private async reconcileScheduled(sj: SnoopyJob, r: ResolvedSpec, pods: V1Pod[], status: SnoopyJobStatus): Promise<Result> {
    const { config, metrics } = this.d;
    const uid = sj.metadata.uid!;
    const now = this.now();
    const nowIso = now.toISOString();
    const nowSec = Math.floor(now.getTime() / 1000);
    const gen = sj.metadata.generation !== undefined ? { observedGeneration: sj.metadata.generation } : {};
    const existing = this.owned(this.d.caches.cronJobs, uid);

    const desired = new Map<string, { target: CaptureTarget; cronJob: V1CronJob }>();
    const request = this.requestFor(sj, r);
    const settings = this.settings;
    for (const pod of pods) {
      const target = this.targetOf(pod, r);
      if (!target) continue;
      const name = captureCronJobName({ name: sj.metadata.name, uid }, { namespace: target.namespace, name: target.pod });
      const req = { ...request(target, name), schedule: r.schedule!, suspend: r.suspend };
      desired.set(name, { target, cronJob: renderCaptureCronJob(name, req, settings) });
    }

    // tokens: a prefix claim per CronJob, renewed when a third of its lifetime is left
    const secret = this.d.caches.secrets.get(tokenSecretName({ name: sj.metadata.name, uid }), config.namespace);
    const key = this.d.tokenKey();
    const lifetime = config.cronTokenLifetimeSeconds;
    const job = jobClaim(sj);
    const add: Record<string, string> = {};
    let renewAt = Infinity;
    for (const [name, { target }] of desired) {
      const current = secret?.data?.[name] ? Buffer.from(secret.data[name]!, 'base64').toString('utf8') : undefined;
      const exp = current ? tokenExpiry(current) : undefined;
      if (exp === undefined || exp - nowSec < lifetime / 3) {
        add[name] = cronTargetToken(key, { cronJobName: name, namespace: target.namespace, pod: target.pod, job }, lifetime, nowSec).token;
        renewAt = Math.min(renewAt, nowSec + lifetime - lifetime / 3);
      } else renewAt = Math.min(renewAt, exp - lifetime / 3);
    }
    const removeKeys = Object.keys(secret?.data ?? {}).filter((k) => !desired.has(k));
    if (Object.keys(add).length > 0 || removeKeys.length > 0) await this.ensureTokens(sj, add, removeKeys);

    let created = 0;
    let firstError: unknown;
    const work = [...desired].map(([name, d]) => async () => {
      const have = existing.get(name);
      if (!have) {
        if ((await createIfAbsent(this.d.kube, CRONJOBS, config.namespace, d.cronJob)) === 'created') created++;
      } else if (have.metadata?.annotations?.[Annotations.templateHash] !== d.cronJob.metadata!.annotations![Annotations.templateHash]) {
        await patchObject(this.d.kube, CRONJOBS, config.namespace, name, { metadata: { labels: d.cronJob.metadata!.labels, annotations: d.cronJob.metadata!.annotations }, spec: d.cronJob.spec });
        this.d.recorder.emit(sj, 'Normal', 'CronJobUpdated', `updated CronJob ${name} for pod ${d.target.namespace}/${d.target.pod}`);
      }
    });
    for (const res of await mapLimit(work, config.writeConcurrency, (fn) => fn())) if (res.status === 'rejected') firstError ??= res.reason;
    const removed = await this.removeCronJobs(sj, new Set(desired.keys()));
    if (created > 0) {
      metrics.jobsCreated.inc({ kind: 'CronJob' }, created);
      this.d.recorder.emit(sj, 'Normal', 'CronJobsCreated', `created ${created} capture CronJob(s) in ${config.namespace}`);
    }
    if (removed > 0) this.d.recorder.emit(sj, 'Normal', 'CronJobsRemoved', `removed ${removed} CronJob(s) whose target pod is gone`);

    const capturePods = this.capturePodsByCronJob(uid);
    const targets: TargetStatus[] = [];
    let lastSchedule: string | undefined;
    for (const [name, { target }] of desired) {
      const cj = existing.get(name);
      const last = cj?.status?.lastScheduleTime as unknown;
      const lastIso = last instanceof Date ? last.toISOString() : typeof last === 'string' ? last : undefined;
      if (lastIso && (!lastSchedule || lastIso > lastSchedule)) lastSchedule = lastIso;
      const t: TargetStatus = { pod: target.pod, namespace: target.namespace, podUID: target.uid, node: target.node, job: name, state: (cj?.status?.active?.length ?? 0) > 0 ? 'Running' : 'Scheduled' };
      const runPod = capturePods.get(name);
      if (runPod) {
        const jobName = runPod.metadata?.labels?.['job-name'] ?? runPod.metadata?.labels?.['batch.kubernetes.io/job-name'];
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
    this.followLatestRun(sj, r, status, desired.size, now);
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
    await this.writeStatus(sj, status);
    if (firstError) throw firstError instanceof Error ? firstError : new Error(JSON.stringify(firstError));
    // come back to refresh next/last schedule times and to renew tokens in time
    const untilNext = next ? Date.parse(next) - now.getTime() + 2_000 : Infinity;
    const untilRenew = Number.isFinite(renewAt) ? renewAt * 1000 - now.getTime() : Infinity;
    const wait = Math.min(untilNext, untilRenew, 3_600_000);
    return { requeueAfterMs: Math.max(1_000, wait) };
  }

  /**
   * A scheduled run is the set of Jobs the CronJobs created for one scheduled time. Announces the
   * latest run's start (job.started) once its Jobs appear and its end (job.completed/failed) once
   * all of them finished; status.lastRun remembers what was announced across restarts.
   */
  private followLatestRun(sj: SnoopyJob, r: ResolvedSpec, status: SnoopyJobStatus, cronJobs: number, now: Date): void {
    const runs = new Map<string, V1Job[]>();
    for (const job of this.owned(this.d.caches.jobs, sj.metadata.uid!).values()) {
      const at = scheduledTimeOf(job);
      if (!at) continue;
      runs.set(at, [...(runs.get(at) ?? []), job]);
    }
    const latest = [...runs.keys()].sort().pop();
    if (!latest) return;
    const jobs = runs.get(latest)!;
    const capturePods = this.capturePodsByJob(sj.metadata.uid!);
    const results = jobs.map((j) => targetFromJob({ ...this.baseFromJob(j, j.metadata!.name!, j.metadata!.name!) }, j, capturePods.get(j.metadata!.name!)));
    const succeeded = results.filter((t) => t.state === 'Succeeded').length;
    const failed = results.filter((t) => t.state === 'Failed').length;
    const source = snoopyJobSource(sj.metadata.namespace, sj.metadata.name);
    const extensions = { snoopyjob: sj.metadata.name, snoopyns: sj.metadata.namespace, targetns: r.targetNamespace, ...(results.length === 1 ? { targetpod: results[0]!.pod, node: results[0]!.node } : {}) };
    let run = status.lastRun;
    if (!run || run.scheduleTime < latest) {
      run = { scheduleTime: latest, state: 'Running', jobs: jobs.length, succeeded, failed };
      this.d.sink.emit({ type: EventType.JobStarted, source, data: { scheduleTime: latest, targets: results.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, captureId: t.job })) }, extensions });
      this.d.recorder.emit(sj, 'Normal', 'RunStarted', `scheduled run of ${latest} started on ${jobs.length} target(s)`);
    }
    if (run.scheduleTime !== latest) return;
    run = { ...run, jobs: jobs.length, succeeded, failed };
    // every CronJob has made its Job (or the starting deadline is past) and all of them finished
    const complete = jobs.length >= cronJobs || now.getTime() - Date.parse(latest) > 300_000;
    if (run.state === 'Running' && complete && results.every((t) => isTerminal(t.state))) {
      run.state = failed > 0 ? 'Failed' : 'Succeeded';
      this.d.sink.emit({
        type: failed > 0 ? EventType.JobFailed : EventType.JobCompleted,
        source,
        data: { scheduleTime: latest, succeeded, failed, targets: results.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, captureId: t.job, state: t.state, bytes: t.bytes, segments: t.segments, objects: t.objects, message: t.message })) },
        extensions,
      });
      this.d.recorder.emit(sj, failed > 0 ? 'Warning' : 'Normal', failed > 0 ? 'RunFailed' : 'RunCompleted', `scheduled run of ${latest}: ${succeeded} succeeded, ${failed} failed`);
    }
    status.lastRun = run;
  }

  // ------------------------------------------------------------------ helpers

  private targetOf(pod: V1Pod, r: ResolvedSpec): CaptureTarget | undefined {
    const container = r.spec.container ?? pod.spec?.containers?.[0]?.name;
    if (!container) return undefined;
    if (r.spec.container && !(pod.spec?.containers ?? []).some((c) => c.name === r.spec.container)) return undefined;
    return { pod: pod.metadata!.name!, namespace: pod.metadata!.namespace!, uid: pod.metadata!.uid ?? '', node: pod.spec!.nodeName!, container };
  }

  /**
   * Builds each target's capture request. What every target shares (among it the token Secret's
   * name, a hash) is computed once per reconcile, not once per target.
   */
  private requestFor(sj: SnoopyJob, r: ResolvedSpec, captureId?: string): (target: CaptureTarget, objectName: string) => CaptureRequest {
    const shared = {
      sj: { name: sj.metadata.name, namespace: sj.metadata.namespace, uid: sj.metadata.uid! },
      command: r.command,
      argv: r.argv,
      timer: r.timer,
      timerSeconds: r.timerSeconds,
      ...(r.spec.maxBytes !== undefined ? { maxBytes: r.spec.maxBytes } : {}),
      ...(evidenceEnabled(r.spec) ? { evidence: true } : {}),
      collector: r.collector!,
      tokenSecret: tokenSecretName({ name: sj.metadata.name, uid: sj.metadata.uid! }),
      ...(captureId !== undefined ? { captureId } : {}),
    };
    return (target, objectName) => ({ ...shared, target, tokenKey: objectName });
  }

  private owned<T extends V1Job | V1CronJob>(cache: ResilientCache<T>, uid: string): Map<string, T> {
    const out = new Map<string, T>();
    for (const o of cache.list(this.d.config.namespace)) if (o.metadata?.labels?.[Labels.jobUid] === uid && !o.metadata.deletionTimestamp) out.set(o.metadata.name!, o);
    return out;
  }

  private baseFromJob(job: V1Job, name: string, captureId: string): Pick<TargetStatus, 'pod' | 'namespace' | 'job' | 'captureId' | 'node'> {
    const [ns, pod] = (job.metadata?.annotations?.[Annotations.targetPod] ?? '/').split('/') as [string, string];
    const node = job.spec?.template?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];
    return { pod, namespace: ns, job: name, captureId, ...(node ? { node } : {}) };
  }

  /** The newest capture pod of each Job of this SnoopyJob. */
  private capturePodsByJob(uid: string): Map<string, V1Pod> {
    const out = new Map<string, V1Pod>();
    for (const p of this.d.caches.capturePods.list(this.d.config.namespace)) {
      if (p.metadata?.labels?.[Labels.jobUid] !== uid) continue;
      const job = p.metadata.labels['job-name'] ?? p.metadata.labels['batch.kubernetes.io/job-name'] ?? p.metadata.ownerReferences?.find((o) => o.kind === 'Job')?.name;
      if (!job) continue;
      const prev = out.get(job);
      if (!prev || String(prev.metadata?.creationTimestamp ?? '') < String(p.metadata.creationTimestamp ?? '')) out.set(job, p);
    }
    return out;
  }

  /** The newest finished capture pod of each CronJob (its Jobs are "<cronjob>-<minutes>"). */
  private capturePodsByCronJob(uid: string): Map<string, V1Pod> {
    const out = new Map<string, V1Pod>();
    for (const [job, p] of this.capturePodsByJob(uid)) {
      if (!p.status?.containerStatuses?.some((c) => c.state?.terminated)) continue;
      const cron = job.replace(/-\d+$/, '');
      const prev = out.get(cron);
      if (!prev || String(prev.metadata?.creationTimestamp ?? '') < String(p.metadata?.creationTimestamp ?? '')) out.set(cron, p);
    }
    return out;
  }

  private async removeCronJobs(sj: SnoopyJob, keep: Set<string>): Promise<number> {
    const gone = [...this.owned(this.d.caches.cronJobs, sj.metadata.uid!).keys()].filter((n) => !keep.has(n));
    const results = await mapLimit(gone, this.d.config.writeConcurrency, (n) => deleteObject(this.d.kube, CRONJOBS, this.d.config.namespace, n));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return gone.length;
  }

  /** Adds tokens to (and removes keys from) the SnoopyJob's token Secret, creating it when missing. */
  private async ensureTokens(sj: SnoopyJob, add: Record<string, string>, remove: string[]): Promise<void> {
    const ns = this.d.config.namespace;
    const name = tokenSecretName({ name: sj.metadata.name, uid: sj.metadata.uid! });
    const data: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(add)) data[k] = Buffer.from(v).toString('base64');
    for (const k of remove) data[k] = null;
    const labels = snoopyLabels({ name: sj.metadata.name, namespace: sj.metadata.namespace, uid: sj.metadata.uid! });
    if (!this.d.caches.secrets.get(name, ns)) {
      try {
        await this.d.kube.core.createNamespacedSecret({
          namespace: ns,
          body: { metadata: { name, namespace: ns, labels, annotations: { [Annotations.jobName]: sj.metadata.name } }, type: 'Opaque', data: Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)) as Record<string, string> },
        });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    await this.d.kube.core.patchNamespacedSecret({ namespace: ns, name, body: { data } }, MERGE_PATCH);
  }

  /** Adds the finalizer; resolves with the updated object, or undefined when it is gone or being deleted. */
  private async addFinalizer(sj: SnoopyJob): Promise<SnoopyJob | undefined> {
    const { namespace, name } = sj.metadata;
    // The cached copy first; a 409 means it was stale, and the retry reads the object afresh.
    let base: SnoopyJob | undefined = sj;
    return retryOnConflict(async () => {
      const current = base ?? (await getObject<SnoopyJob>(this.d.kube, SNOOPYJOBS, namespace, name));
      base = undefined;
      if (!current || current.metadata.deletionTimestamp) return undefined;
      const finalizers = current.metadata.finalizers ?? [];
      if (finalizers.includes(FINALIZER)) return current;
      return patchObject<SnoopyJob>(this.d.kube, SNOOPYJOBS, namespace, name, { metadata: { finalizers: [...finalizers, FINALIZER], resourceVersion: current.metadata.resourceVersion } });
    });
  }

  /** Deletes everything the SnoopyJob owns in the operator namespace, then lets it go. */
  private async finalize(sj: SnoopyJob): Promise<Result> {
    const { kube, config } = this.d;
    const { namespace, name, uid } = sj.metadata;
    if (!(sj.metadata.finalizers ?? []).includes(FINALIZER)) return;
    const selector = `${Labels.jobUid}=${uid}`;
    const ns = config.namespace;
    // the API, not the caches: nothing created a moment ago may survive
    const [jobs, crons, secrets] = await Promise.all([
      kube.custom.listNamespacedCustomObject({ ...JOBS, namespace: ns, labelSelector: selector }) as Promise<{ items: V1Job[] }>,
      kube.custom.listNamespacedCustomObject({ ...CRONJOBS, namespace: ns, labelSelector: selector }) as Promise<{ items: V1CronJob[] }>,
      kube.core.listNamespacedSecret({ namespace: ns, labelSelector: selector }),
    ]);
    const deletes: (() => Promise<void>)[] = [
      ...crons.items.map((c) => () => deleteObject(kube, CRONJOBS, ns, c.metadata!.name!)),
      ...jobs.items.map((j) => () => deleteObject(kube, JOBS, ns, j.metadata!.name!)),
      ...secrets.items.map((s) => () => deleteSecret(kube, ns, s.metadata!.name!)),
    ];
    const results = await mapLimit(deletes, config.writeConcurrency, (fn) => fn());
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const j of jobs.items) this.expected.delete(j.metadata!.name!);
    this.written.delete(uid!);
    await retryOnConflict(async () => {
      const fresh = await getObject<SnoopyJob>(kube, SNOOPYJOBS, namespace, name);
      if (!fresh || !(fresh.metadata.finalizers ?? []).includes(FINALIZER)) return;
      await patchObject(kube, SNOOPYJOBS, namespace, name, {
        metadata: { finalizers: fresh.metadata.finalizers!.filter((f) => f !== FINALIZER), resourceVersion: fresh.metadata.resourceVersion },
      });
    });
    this.d.logger.info({ snoopyjob: `${namespace}/${name}`, jobs: jobs.items.length, cronJobs: crons.items.length, secrets: secrets.items.length }, 'cleaned up and released the SnoopyJob');
    return;
  }

  /** Writes status through the /status subresource when it changed (a merge patch; removed keys are nulled). */
  private async writeStatus(sj: SnoopyJob, status: SnoopyJobStatus): Promise<void> {
    const uid = sj.metadata.uid!;
    const current = this.written.get(uid) ?? sj.status ?? {};
    if (jsonEqual(current, status)) return;
    const patch: Record<string, unknown> = { ...status };
    for (const k of Object.keys(current)) if (!(k in status) || (status as Record<string, unknown>)[k] === undefined) patch[k] = null;
    await patchStatus(this.d.kube, SNOOPYJOBS, sj.metadata.namespace, sj.metadata.name, patch);
    this.written.set(uid, structuredClone(status));
  }

  /** SnoopyJobs whose targets a pod change may concern. */
  static keysForPod(pod: V1Pod, snoopyJobs: ReadonlyArray<SnoopyJob>): string[] {
    const keys: string[] = [];
    for (const sj of snoopyJobs) {
      if (targetNamespaceOf(sj) !== pod.metadata?.namespace) continue;
      if (!sj.spec?.labelSelector || Object.keys(sj.spec.labelSelector).length === 0) continue;
      if (selectorMatches(sj.spec.labelSelector, pod.metadata?.labels)) keys.push(`${sj.metadata.namespace}/${sj.metadata.name}`);
    }
    return keys;
  }
}

/** The scheduled time of a Job a CronJob created (annotation, else the "-<minutes>" name suffix). */
export function scheduledTimeOf(job: V1Job): string | undefined {
  const a = job.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'];
  if (a && !Number.isNaN(Date.parse(a))) return new Date(a).toISOString();
  if (!job.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob')) return undefined;
  const m = /-(\d{8,})$/.exec(job.metadata.name ?? '');
  return m ? new Date(Number(m[1]) * 60_000).toISOString() : undefined;
}

function selectorText(selector: Record<string, string>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
}
