// Job controller (batch/v1): creates pods from the template (generateName "<job>-", the labels
// and selector the API server defaulted, a controller ownerReference), keeps `parallelism` pods
// running until `completions` succeed, counts failures against backoffLimit, enforces
// activeDeadlineSeconds (DeadlineExceeded), honours suspend, sets status and the
// SuccessCriteriaMet/Complete or FailureTarget/Failed conditions as Kubernetes 1.31+ does, and
// deletes finished Jobs after ttlSecondsAfterFinished (background propagation).
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { apiPath } from './kube-client.js';
import { ownedBy, type ControllerContext } from './context.js';
import { hasCondition, isoNow, isPodActive, ownerReference, setCondition, splitKey, type Condition } from './runtime.js';

type JobStatus = {
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  terminating?: number;
  startTime?: string;
  completionTime?: string;
  conditions?: Condition[];
  uncountedTerminatedPods?: Record<string, unknown>;
};

const ts = (v: unknown) => (v ? Date.parse(String(v)) : NaN);

export function jobFinished(job: V1Job): 'Complete' | 'Failed' | undefined {
  const conds = job.status?.conditions as unknown as Condition[] | undefined;
  if (hasCondition(conds, 'Complete')) return 'Complete';
  if (hasCondition(conds, 'Failed')) return 'Failed';
  return undefined;
}

export function jobPod(job: V1Job): Record<string, unknown> {
  const tmpl = job.spec!.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${job.metadata!.name}-`,
      namespace: job.metadata!.namespace,
      labels: { ...(tmpl.metadata?.labels ?? {}) },
      annotations: { ...(tmpl.metadata?.annotations ?? {}) },
      ownerReferences: [ownerReference(job, 'batch/v1', 'Job')],
      finalizers: undefined,
    },
    spec: tmpl.spec,
  };
}

async function deletePods(ctx: ControllerContext, ownerKey: string, pods: V1Pod[]): Promise<void> {
  for (const p of pods) {
    ctx.expectations.expectDelete(ownerKey, p.metadata!.name!);
    await ctx.kube.delete(apiPath('v1', 'pods', p.metadata!.namespace, p.metadata!.name));
  }
}

export async function reconcileJob(ctx: ControllerContext, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const job = ctx.jobs.get(name, ns);
  if (!job || job.metadata?.deletionTimestamp) return;
  const now = ctx.clock();
  const nowIso = isoNow(ctx.clock);
  const status: JobStatus = { ...((job.status ?? {}) as JobStatus) };
  const finished = jobFinished(job);
  const pods = ownedBy(ctx.pods, ns, job.metadata!.uid!);

  if (finished) {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl !== undefined && ttl !== null) {
      const finishedAt = ts(status.completionTime) || ts((status.conditions ?? []).find((c) => c.type === finished)?.lastTransitionTime) || now;
      const due = finishedAt + ttl * 1000;
      if (due <= now) {
        ctx.log.info({ job: key }, 'deleting finished job after its TTL');
        await ctx.kube.delete(apiPath('batch/v1', 'jobs', ns, name), { propagationPolicy: 'Background', uid: job.metadata!.uid });
      } else ctx.queues.job.addAfter(key, due - now);
    }
    return;
  }
  if (!ctx.expectations.satisfied(key)) {
    ctx.queues.job.addAfter(key, 1000);
    return;
  }

  const active = pods.filter(isPodActive);
  const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
  const restartFailures = job.spec?.template.spec?.restartPolicy === 'OnFailure' ? active.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + (c.restartCount ?? 0), 0), 0) : 0;
  const failed = pods.filter((p) => p.status?.phase === 'Failed').length + restartFailures;
  const completions = job.spec?.completions ?? 1;
  const parallelism = job.spec?.parallelism ?? 1;
  const backoffLimit = job.spec?.backoffLimit ?? 6;
  status.startTime ??= nowIso;
  let conditions = status.conditions;

  let finishAs: { type: 'Complete' | 'Failed'; reason: string; message: string } | undefined;
  const deadline = job.spec?.activeDeadlineSeconds;
  if (job.spec?.suspend) {
    await deletePods(ctx, key, active);
    conditions = setCondition(conditions, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, nowIso, { lastProbeTime: nowIso });
    const st = { ...status, active: 0, ready: 0, conditions };
    delete st.startTime;
    await ctx.kube.mergePatch(apiPath('batch/v1', 'jobs', ns, name, 'status'), { status: { ...st, startTime: null } });
    return;
  }
  if (hasCondition(conditions, 'Suspended')) conditions = setCondition(conditions, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, nowIso, { lastProbeTime: nowIso });
  if (succeeded >= completions) finishAs = { type: 'Complete', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' };
  else if (failed > backoffLimit) finishAs = { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  else if (deadline !== undefined && deadline !== null && ts(status.startTime) + deadline * 1000 <= now) {
    finishAs = { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  }

  if (finishAs) {
    await deletePods(ctx, key, active);
    const interim = finishAs.type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    const extra = { lastProbeTime: nowIso };
    conditions = setCondition(conditions, { type: interim, status: 'True', reason: finishAs.reason, message: finishAs.message }, nowIso, extra);
    conditions = setCondition(conditions, { type: finishAs.type, status: 'True', reason: finishAs.reason, message: finishAs.message }, nowIso, extra);
    const st: JobStatus = { ...status, active: 0, ready: 0, succeeded, failed, conditions, uncountedTerminatedPods: {} };
    if (finishAs.type === 'Complete') st.completionTime = nowIso;
    await ctx.kube.mergePatch(apiPath('batch/v1', 'jobs', ns, name, 'status'), { status: st });
    ctx.log.info({ job: key, result: finishAs.type, reason: finishAs.reason }, 'job finished');
    const jobRef = { ...job, apiVersion: 'batch/v1', kind: 'Job' };
    if (finishAs.type === 'Complete') ctx.event('job-controller')(jobRef, 'Normal', 'Completed', 'Job completed');
    else ctx.event('job-controller')(jobRef, 'Warning', finishAs.reason, finishAs.message);
    if (job.spec?.ttlSecondsAfterFinished !== undefined) ctx.queues.job.addAfter(key, (job.spec.ttlSecondsAfterFinished ?? 0) * 1000);
    return;
  }

  const want = Math.min(parallelism, completions - succeeded);
  let created = 0;
  for (let i = active.length; i < want; i++) {
    const body = jobPod(job);
    const p = await ctx.kube.create<V1Pod>(apiPath('v1', 'pods', ns), body);
    ctx.expectations.expectCreate(key, p.metadata!.name!);
    ctx.event('job-controller')({ ...job, apiVersion: 'batch/v1', kind: 'Job' }, 'Normal', 'SuccessfulCreate', `Created pod: ${p.metadata!.name}`);
    created++;
  }
  const ready = active.filter((p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).length;
  const st: JobStatus = { ...status, active: active.length + created, succeeded, failed, ready, conditions, uncountedTerminatedPods: {} };
  if (JSON.stringify(st) !== JSON.stringify({ ...status, uncountedTerminatedPods: {} })) {
    await ctx.kube.mergePatch(apiPath('batch/v1', 'jobs', ns, name, 'status'), { status: st });
  }
  if (deadline !== undefined && deadline !== null) ctx.queues.job.addAfter(key, ts(st.startTime) + deadline * 1000 - now);
}
