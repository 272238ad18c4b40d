// The SnoopyJob reconciler's edges: it observes (the caches: the SnoopyJob, its target pods, its
// Jobs/CronJobs/capture pods/token or assignment Secrets, the data endpoint), asks plan.ts what to do, and
// applies that plan against the API: the writes in order, then the Kubernetes Events, CloudEvents
// and status the plan settles on. Level-triggered and idempotent; names are deterministic, so a
// restarted operator finds what a previous one created instead of duplicating it.
import type { V1CronJob, V1Job, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { EventSink } from '../../lib/event-sink.js';
import type { Logger } from '../../lib/log.js';
import type { OperatorConfig } from '../config.js';
import type { SnoopyDataEndpoint, SnoopyJob, SnoopyJobStatus } from '../../lib/api/schema.js';
import {
  CRONJOBS,
  JOBS,
  MERGE_PATCH,
  SNOOPYJOBS,
  createIfAbsent,
  deleteObject,
  deleteSecret,
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
import { FINALIZER, Labels, tokenSecretName } from '../../lib/api/names.js';
import { selectorMatches } from './target-pods.js';
import type { TargetPodCaches } from './target-pods.js';
import { targetNamespaceOf } from './observed.js';
import { planSnoopyJob, type SecretWrite, type SnoopyJobObservation, type WritePlan } from './plan.js';
import type { AssignedTarget } from '../../lib/contracts/node-capture.js';
import { EXPECTATION_MS } from './plan-oneshot.js';

export { targetNamespaceOf, scheduledTimeOf } from './observed.js';

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

export class SnoopyJobReconciler {
  /** Jobs created by this process that the cache may not show yet: name → creation time. */
  private readonly expected = new Map<string, number>();
  /**
   * The status this process last wrote, per SnoopyJob uid. The cache can lag behind our own
   * writes; only the leader writes status, so its last write is the truth to build on (without
   * this, a reconcile right after a write would e.g. announce a run's start twice).
   */
  private readonly written = new Map<string, SnoopyJobStatus>();
  /**
   * Per-node capture: the assignments this process last wrote, per SnoopyJob uid and Secret name,
   * for the same reason (a plan on a stale Secret would hand a target a second token).
   */
  private readonly assigned = new Map<string, Map<string, AssignedTarget[]>>();

  constructor(private readonly d: SnoopyJobReconcilerDeps) {}

  async reconcile(key: string): Promise<Result> {
    const [namespace, name] = key.split('/') as [string, string];
    let sj = this.d.caches.snoopyJobs.get(name, namespace);
    if (!sj) return;
    const now = this.d.now?.() ?? new Date();
    const ctx = { config: this.d.config, tokenKey: this.d.tokenKey(), now };
    let pods: ReadonlyArray<V1Pod> | undefined;
    // at most: add the finalizer, list the target pods, write
    for (let round = 0; round < 3; round++) {
      const plan = planSnoopyJob(this.observe(sj, pods), ctx);
      switch (plan.kind) {
        case 'none':
          return;
        case 'finalize':
          return this.finalize(sj);
        case 'addFinalizer': {
          // A new SnoopyJob: its target pods' cache (a LIST) is started while the finalizer is
          // added, and the reconcile goes on with the patched object rather than waiting for the watch.
          if (plan.podNamespace !== undefined) this.d.targetPods.ensure(plan.podNamespace).catch(() => undefined);
          const patched = await this.addFinalizer(sj);
          if (!patched) return;
          sj = patched;
          break;
        }
        case 'listPods':
          pods = (await this.d.targetPods.ensure(plan.namespace)).list(plan.namespace);
          break;
        case 'write':
          return this.apply(sj, plan, now);
      }
    }
    throw new Error(`no plan settled for SnoopyJob ${key}`);
  }

  private observe(sj: SnoopyJob, pods: ReadonlyArray<V1Pod> | undefined): SnoopyJobObservation {
    const { caches, config } = this.d;
    const ref = sj.spec?.dataEndpointRef;
    let endpoint: SnoopyJobObservation['endpoint'];
    if (ref) {
      const de = caches.dataEndpoints.get(ref.name, ref.namespace || sj.metadata.namespace);
      endpoint = de ? { found: true, ...(de.status?.address ? { address: de.status.address } : {}) } : { found: false };
    }
    const secret = sj.metadata.uid ? caches.secrets.get(tokenSecretName({ name: sj.metadata.name, uid: sj.metadata.uid }), config.namespace) : undefined;
    const lastWritten = sj.metadata.uid ? this.written.get(sj.metadata.uid) : undefined;
    const assigned = sj.metadata.uid ? this.assigned.get(sj.metadata.uid) : undefined;
    return {
      sj,
      ...(endpoint ? { endpoint } : {}),
      ...(pods ? { pods } : {}),
      jobs: caches.jobs.list(config.namespace),
      cronJobs: caches.cronJobs.list(config.namespace),
      capturePods: caches.capturePods.list(config.namespace),
      ...(secret ? { tokenSecret: secret } : {}),
      ...(lastWritten ? { lastWritten } : {}),
      expected: this.expected,
      ...(config.capturePods === 'per-node' ? { secrets: caches.secrets.list(config.namespace) } : {}),
      ...(assigned ? { assigned } : {}),
    };
  }

  /** Makes the plan's writes in order, then emits what it settles on and writes the status. */
  private async apply(sj: SnoopyJob, plan: WritePlan, now: Date): Promise<Result> {
    const { kube, config } = this.d;
    const ns = config.namespace;
    for (const [name, at] of this.expected) if (now.getTime() - at > EXPECTATION_MS) this.expected.delete(name);
    const created = new Set<string>();
    const existed = new Set<string>();
    const updated = new Set<string>();
    const failed = new Map<string, unknown>();
    let deleteError: unknown;
    steps: for (const step of plan.steps) {
      switch (step.kind) {
        case 'deleteCronJobs': {
          const results = await mapLimit(step.names, config.writeConcurrency, (n) => deleteObject(kube, CRONJOBS, ns, n));
          const rejected = results.find((r) => r.status === 'rejected');
          if (rejected) {
            deleteError = (rejected as PromiseRejectedResult).reason;
            break steps;
          }
          break;
        }
        case 'tokens':
          await this.writeSecret(step);
          break;
        case 'secrets': {
          const results = await mapLimit(step.writes, config.writeConcurrency, (w) => this.writeSecret(w));
          results.forEach((res, i) => {
            const w = step.writes[i]!;
            if (res.status === 'rejected') failed.set(w.name, res.reason);
            else (w.exists ? updated : created).add(w.name);
          });
          break;
        }
        case 'deleteSecrets': {
          const results = await mapLimit(step.names, config.writeConcurrency, (n) => deleteSecret(kube, ns, n));
          results.forEach((res, i) => {
            if (res.status === 'rejected') failed.set(step.names[i]!, res.reason);
          });
          break;
        }
        case 'createJobs': {
          // a Job whose assignment Secret could not be written would wait for it forever
          const blocked = (job: V1Job) => {
            const secret = step.needs?.[job.metadata!.name!];
            return secret !== undefined && failed.has(secret) ? failed.get(secret) : undefined;
          };
          for (const job of step.jobs) if (blocked(job) !== undefined) failed.set(job.metadata!.name!, blocked(job));
          const go = step.jobs.filter((job) => !failed.has(job.metadata!.name!));
          const results = await mapLimit(go, config.writeConcurrency, (job) => createIfAbsent(kube, JOBS, ns, job));
          results.forEach((res, i) => {
            const name = go[i]!.metadata!.name!;
            if (res.status === 'rejected') failed.set(name, res.reason);
            else (res.value === 'created' ? created : existed).add(name);
          });
          break;
        }
        case 'cronJobs': {
          const results = await mapLimit(step.writes, config.writeConcurrency, async (w) => {
            if ('create' in w) return createIfAbsent(kube, CRONJOBS, ns, w.create);
            await patchObject(kube, CRONJOBS, ns, w.name, w.patch);
            return 'updated' as const;
          });
          results.forEach((res, i) => {
            const w = step.writes[i]!;
            const name = 'create' in w ? w.create.metadata!.name! : w.name;
            if (res.status === 'rejected') failed.set(name, res.reason);
            else (res.value === 'created' ? created : res.value === 'updated' ? updated : existed).add(name);
          });
          break;
        }
      }
    }
    const s = plan.settle({ created, existed, updated, failed, ...(deleteError !== undefined ? { deleteError } : {}) });
    for (const name of s.expect) this.expected.set(name, now.getTime());
    if (s.assigned) {
      const mine = this.assigned.get(sj.metadata.uid!) ?? new Map<string, AssignedTarget[]>();
      for (const [name, targets] of s.assigned) {
        if (targets) mine.set(name, targets);
        else mine.delete(name);
      }
      this.assigned.set(sj.metadata.uid!, mine);
    }
    if (s.created) {
      this.d.metrics.jobsCreated.inc({ kind: s.created.kind }, s.created.count);
      if (s.created.kind === 'Job') this.d.logger.info({ snoopyjob: `${sj.metadata.namespace}/${sj.metadata.name}`, created: s.created.count }, 'capture Jobs created');
    }
    for (const e of s.events) this.d.recorder.emit(sj, e.type, e.reason, e.message);
    for (const ce of s.cloudEvents) this.d.sink.emit(ce);
    if (s.status) {
      await patchStatus(kube, SNOOPYJOBS, sj.metadata.namespace, sj.metadata.name, s.status.patch);
      this.written.set(sj.metadata.uid!, s.status.value);
    }
    if (s.error !== undefined) throw s.error;
    return s.requeueAfterMs !== undefined ? { requeueAfterMs: s.requeueAfterMs } : undefined;
  }

  /** Creates a Secret when the cache lacks it (a 409: someone did, patch it), else patches it. */
  private async writeSecret(w: SecretWrite): Promise<void> {
    const ns = this.d.config.namespace;
    if (!w.exists) {
      try {
        await this.d.kube.core.createNamespacedSecret({ namespace: ns, body: w.create });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    await this.d.kube.core.patchNamespacedSecret({ namespace: ns, name: w.name, body: w.patch }, MERGE_PATCH);
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
    this.assigned.delete(uid!);
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
