// The plan of a one-shot run (pure): a Job for every target pod that has none yet while the run
// is not over, the tokens they need, and the run's status and announcements from what the Jobs
// and their capture pods show.
import { EventType, snoopyJobSource, targetSubject } from '../../lib/events.js';
import type { TargetStatus } from '../../lib/api/schema.js';
import { captureJobName, oneShotCaptureId } from '../../lib/api/names.js';
import { errorText } from '../../lib/kube/client.js';
import { captureSettingsFrom, renderCaptureJob } from '../render/capture.js';
import type { CaptureTarget } from '../render/capture.js';
import { jobClaim, oneShotTargetToken } from '../tokens.js';
import { isTerminal, setCondition, targetFromJob } from './status.js';
import { baseFromJob, byText, capturePodsByJob, owned, requestFor, scheduledTimeOf, selectorText, targetOf } from './observed.js';
import { asError, tokenWrite, withStatus } from './writes.js';
import type { KubeEvent, RunPlanInput, Settlement, WritePlan, WriteStep } from './plan.js';
import type { EventInput } from '../../lib/event-sink.js';
import type { V1Job } from '@kubernetes/client-node';

/** How long a freshly created Job counts as existing before the cache shows it. */
export const EXPECTATION_MS = 120_000;

export function planOneShot({ o, ctx, r, pods, base, valid, gen, nowIso }: RunPlanInput): WritePlan {
  const { sj } = o;
  const { config, now } = ctx;
  const uid = sj.metadata.uid!;
  const captureId = base.captureId ?? oneShotCaptureId({ uid });
  const steps: WriteStep[] = [];
  const cronJobs = [...owned(o.cronJobs, uid).keys()];
  if (cronJobs.length > 0) steps.push({ kind: 'deleteCronJobs', names: cronJobs }); // a schedule that was removed

  // the SnoopyJob's one-shot Jobs (not those of CronJobs it had while it was scheduled)
  const jobs = new Map([...owned(o.jobs, uid)].filter(([, j]) => !scheduledTimeOf(j)));
  const recorded = new Map((base.targets ?? []).map((t) => [t.job, t]));
  const finished = base.phase === 'Completed' || base.phase === 'Failed';
  const wasExpected = (name: string) => {
    const at = o.expected.get(name);
    return at !== undefined && now.getTime() - at <= EXPECTATION_MS;
  };

  const fresh = new Map<string, { target: CaptureTarget; job: V1Job }>();
  if (!finished) {
    const request = requestFor(sj, r, captureId);
    const settings = captureSettingsFrom(config);
    for (const pod of pods) {
      const target = targetOf(pod, r);
      if (!target) continue;
      const name = captureJobName({ name: sj.metadata.name, uid }, { namespace: target.namespace, name: target.pod });
      if (jobs.has(name) || recorded.has(name) || wasExpected(name)) continue;
      fresh.set(name, { target, job: renderCaptureJob(name, request(target, name), settings) });
    }
  }
  if (fresh.size > 0) {
    const lifetime = r.timerSeconds + config.graceSeconds;
    const nowSec = Math.floor(now.getTime() / 1000);
    const claim = jobClaim(sj);
    const tokens = Object.fromEntries([...fresh].map(([name, f]) => [name, oneShotTargetToken(ctx.tokenKey, { captureId, namespace: f.target.namespace, pod: f.target.pod, job: claim }, lifetime, nowSec).token]));
    steps.push(tokenWrite(sj, config.namespace, o.tokenSecret !== undefined, tokens, []));
    steps.push({ kind: 'createJobs', jobs: [...fresh.values()].map((f) => f.job) });
  }

  return {
    kind: 'write',
    steps,
    settle(outcome): Settlement {
      if (outcome.deleteError !== undefined) return { events: [], cloudEvents: [], expect: [], error: asError(outcome.deleteError) };
      const events: KubeEvent[] = [];
      const cloudEvents: EventInput[] = [];
      const made = new Set<string>();
      let createError: unknown;
      let created = 0;
      for (const name of fresh.keys()) {
        if (outcome.failed.has(name)) createError ??= outcome.failed.get(name);
        else made.add(name);
        if (outcome.created.has(name)) created++;
      }
      if (created > 0) events.push({ type: 'Normal', reason: 'JobsCreated', message: `created ${created} capture Job(s) in ${config.namespace}` });
      if (createError !== undefined) events.push({ type: 'Warning', reason: 'CreateFailed', message: `could not create a capture Job: ${errorText(createError)}` });

      const status = valid();
      status.captureId = captureId;
      const capturePods = capturePodsByJob(o.capturePods, uid);
      const names = new Set([...recorded.keys(), ...jobs.keys(), ...made]);
      const targets: TargetStatus[] = [];
      for (const name of names) {
        const job = jobs.get(name);
        const rec = recorded.get(name);
        const f = made.has(name) ? fresh.get(name) : undefined;
        const b = rec
          ? { pod: rec.pod, namespace: rec.namespace, job: name, captureId, ...(rec.podUID ? { podUID: rec.podUID } : {}), ...(rec.node ? { node: rec.node } : {}) }
          : f
            ? { pod: f.target.pod, namespace: f.target.namespace, podUID: f.target.uid, node: f.target.node, job: name, captureId }
            : job
              ? baseFromJob(job, name, captureId)
              : undefined;
        if (!b) continue;
        if (job) targets.push({ ...(rec ?? {}), ...targetFromJob(b, job, capturePods.get(name)) });
        else if (rec && isTerminal(rec.state)) targets.push(rec);
        else if (f || wasExpected(name)) targets.push({ ...(rec ?? {}), ...b, state: 'Pending' });
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
        const source = snoopyJobSource(sj.metadata.namespace, sj.metadata.name);
        if (!status.startTime) {
          status.startTime = nowIso;
          cloudEvents.push({
            type: EventType.JobStarted,
            source,
            ...(subject ? { subject } : {}),
            data: { captureId, command: r.command, args: r.argv, timer: r.timer, targets: targets.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job })) },
            extensions,
          });
          events.push({ type: 'Normal', reason: 'Started', message: `capture ${captureId} started on ${targets.length} target(s)` });
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
          cloudEvents.push({
            type: failed.length > 0 ? EventType.JobFailed : EventType.JobCompleted,
            source,
            ...(subject ? { subject } : {}),
            data: {
              captureId,
              succeeded: targets.length - failed.length,
              failed: failed.length,
              targets: targets.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, state: t.state, ...(t.stopReason ? { stopReason: t.stopReason } : {}), bytes: t.bytes, segments: t.segments, objects: t.objects, message: t.message })),
            },
            extensions,
          });
          events.push({ type: failed.length > 0 ? 'Warning' : 'Normal', reason: failed.length > 0 ? 'Failed' : 'Completed', message: msg });
        } else {
          status.phase = 'Running';
          const running = targets.filter((t) => t.state === 'Running').length;
          status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'Running', message: `${targets.length} capture Job(s), ${running} running`, ...gen }, nowIso);
          status.conditions = setCondition(status.conditions, { type: 'Completed', status: 'False', reason: 'Running', message: 'the run is in progress', ...gen }, nowIso);
        }
      }
      return {
        events,
        cloudEvents,
        expect: [...made],
        ...(created > 0 ? { created: { kind: 'Job' as const, count: created } } : {}),
        ...withStatus(base, status),
        ...(createError !== undefined ? { error: asError(createError) } : {}),
      };
    },
  };
}
