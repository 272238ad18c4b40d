// Pure readings of what the caches show about one SnoopyJob: its own Jobs and CronJobs, their
// capture pods, a target pod as a capture target, and each target's capture request.
import type { V1CronJob, V1Job, V1Pod } from '@kubernetes/client-node';
import type { SnoopyJob, TargetStatus } from '../../lib/api/schema.js';
import { evidenceEnabled } from '../../lib/api/schema.js';
import { Annotations, Labels, tokenSecretName } from '../../lib/api/names.js';
import type { ResolvedSpec } from '../../lib/api/validation.js';
import type { CaptureRequest, CaptureTarget } from '../render/capture.js';

/** Code-unit order: locale-independent (names are ASCII) and without ICU's collation cost. */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function targetNamespaceOf(sj: SnoopyJob): string {
  return sj.spec?.targetNamespace || sj.metadata.namespace;
}

export function selectorText(selector: Record<string, string>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The SnoopyJob's objects (by the job-uid label) that are not being deleted, by name. */
export function owned<T extends V1Job | V1CronJob>(objects: ReadonlyArray<T>, uid: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const o of objects) if (o.metadata?.labels?.[Labels.jobUid] === uid && !o.metadata.deletionTimestamp) out.set(o.metadata.name!, o);
  return out;
}

/** The scheduled time of a Job a CronJob created (annotation, else the "-<minutes>" name suffix). */
export function scheduledTimeOf(job: V1Job): string | undefined {
  const a = job.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'];
  if (a && !Number.isNaN(Date.parse(a))) return new Date(a).toISOString();
  if (!job.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob')) return undefined;
  const m = /-(\d{8,})$/.exec(job.metadata.name ?? '');
  return m ? new Date(Number(m[1]) * 60_000).toISOString() : undefined;
}

/** The pod as a capture target; undefined when it has no container to capture. */
export function targetOf(pod: V1Pod, r: ResolvedSpec): CaptureTarget | undefined {
  const container = r.spec.container ?? pod.spec?.containers?.[0]?.name;
  if (!container) return undefined;
  if (r.spec.container && !(pod.spec?.containers ?? []).some((c) => c.name === r.spec.container)) return undefined;
  return { pod: pod.metadata!.name!, namespace: pod.metadata!.namespace!, uid: pod.metadata!.uid ?? '', node: pod.spec!.nodeName!, container };
}

/**
 * Builds each target's capture request. What every target shares (among it the token Secret's
 * name, a hash) is computed once per reconcile, not once per target.
 */
export function requestFor(sj: SnoopyJob, r: ResolvedSpec, captureId?: string): (target: CaptureTarget, objectName: string) => CaptureRequest {
  const shared = { ...runRequest(sj, r, captureId), tokenSecret: tokenSecretName({ name: sj.metadata.name, uid: sj.metadata.uid! }) };
  return (target, objectName) => ({ ...shared, target, tokenKey: objectName });
}

/** What every capture workload of the run shares, per-target or per-node. */
export function runRequest(sj: SnoopyJob, r: ResolvedSpec, captureId?: string): Omit<CaptureRequest, 'target' | 'tokenSecret' | 'tokenKey'> {
  return {
    sj: { name: sj.metadata.name, namespace: sj.metadata.namespace, uid: sj.metadata.uid! },
    command: r.command,
    argv: r.argv,
    timer: r.timer,
    timerSeconds: r.timerSeconds,
    ...(r.spec.maxBytes !== undefined ? { maxBytes: r.spec.maxBytes } : {}),
    ...(evidenceEnabled(r.spec) ? { evidence: true } : {}),
    collector: r.collector!,
    ...(captureId !== undefined ? { captureId } : {}),
  };
}

/** A target's identity as its Job records it (annotation and node affinity). */
export function baseFromJob(job: V1Job, name: string, captureId: string): Pick<TargetStatus, 'pod' | 'namespace' | 'job' | 'captureId' | 'node'> {
  const [ns, pod] = (job.metadata?.annotations?.[Annotations.targetPod] ?? '/').split('/') as [string, string];
  const node = job.spec?.template?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];
  return { pod, namespace: ns, job: name, captureId, ...(node ? { node } : {}) };
}

/** The Job a capture pod belongs to: its job-name label (either spelling) — the name a CronJob run's pod carries. */
export function jobLabelOf(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.['job-name'] ?? pod.metadata?.labels?.['batch.kubernetes.io/job-name'];
}

/** A CronJob's last schedule time as ISO text (the client gives a Date or a string). */
export function lastScheduleOf(cj: V1CronJob | undefined): string | undefined {
  const last = cj?.status?.lastScheduleTime as unknown;
  return last instanceof Date ? last.toISOString() : typeof last === 'string' ? last : undefined;
}

/** The newest capture pod of each Job of this SnoopyJob. */
export function capturePodsByJob(pods: ReadonlyArray<V1Pod>, uid: string): Map<string, V1Pod> {
  const out = new Map<string, V1Pod>();
  for (const p of pods) {
    if (p.metadata?.labels?.[Labels.jobUid] !== uid) continue;
    const job = jobLabelOf(p) ?? p.metadata.ownerReferences?.find((o) => o.kind === 'Job')?.name;
    if (!job) continue;
    const prev = out.get(job);
    if (!prev || String(prev.metadata?.creationTimestamp ?? '') < String(p.metadata.creationTimestamp ?? '')) out.set(job, p);
  }
  return out;
}

/** The newest finished capture pod of each CronJob (its Jobs are "<cronjob>-<minutes>"). */
export function capturePodsByCronJob(pods: ReadonlyArray<V1Pod>, uid: string): Map<string, V1Pod> {
  const out = new Map<string, V1Pod>();
  for (const [job, p] of capturePodsByJob(pods, uid)) {
    if (!p.status?.containerStatuses?.some((c) => c.state?.terminated)) continue;
    const cron = job.replace(/-\d+$/, '');
    const prev = out.get(cron);
    if (!prev || String(prev.metadata?.creationTimestamp ?? '') < String(p.metadata?.creationTimestamp ?? '')) out.set(cron, p);
  }
  return out;
}
