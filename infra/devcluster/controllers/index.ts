// The dev cluster's controllers, as ordinary API clients: informers on the objects they watch,
// one work queue per controller. Scheduler, Job (with TTL-after-finished), CronJob, Deployment,
// ReplicaSet, Endpoints and the Knative Service stand-in (started when serving.knative.dev is
// served, checked every few seconds). Garbage collection by ownerReferences is the API server's.
import type { KubeConfig, KubernetesObject, V1CronJob, V1Deployment, V1Endpoints, V1Job, V1Node, V1Pod, V1ReplicaSet, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';
import type { ControllerContext } from './context.js';
import { eventRecorder, type EventRecorder } from './events.js';
import { reconcileCronJob } from './cronjob.js';
import { reconcileDeployment, reconcileReplicaSet } from './deployment.js';
import { reconcileEndpoints } from './endpoints.js';
import { reconcileJob } from './job.js';
import { KSVC_API, reconcileKnative, type KnativeService } from './knative.js';
import { Kube, KubeError, startInformer, type Informer } from './kube-client.js';
import { controllerRef, Expectations, keyOf, WorkQueue, type Clock } from './runtime.js';
import { reconcileScheduling } from './scheduler.js';

export interface ControllersOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** milliseconds since the epoch; default Date.now */
  clock?: Clock;
  /** accept 6-field (seconds) cron schedules; default: env DEVCLUSTER_CRON_SECONDS=true */
  cronSeconds?: boolean;
}

export interface Controllers {
  stop(): Promise<void>;
}

export async function startControllers(o: ControllersOptions): Promise<Controllers> {
  const log = o.logger;
  const kube = new Kube(o.kubeConfig);
  const inf = <T extends KubernetesObject>(path: string) => startInformer<T>(kube, path, {}, log);
  const informers = {
    pods: inf<V1Pod>('/api/v1/pods'),
    nodes: inf<V1Node>('/api/v1/nodes'),
    jobs: inf<V1Job>('/apis/batch/v1/jobs'),
    cronjobs: inf<V1CronJob>('/apis/batch/v1/cronjobs'),
    deployments: inf<V1Deployment>('/apis/apps/v1/deployments'),
    replicasets: inf<V1ReplicaSet>('/apis/apps/v1/replicasets'),
    services: inf<V1Service>('/api/v1/services'),
    endpoints: inf<V1Endpoints>('/api/v1/endpoints'),
  };
  let ksvcs: Informer<KubernetesObject> | undefined;
  const queues = {} as ControllerContext['queues'];
  const recorders = new Map<string, EventRecorder>();
  const ctx: ControllerContext = {
    kube,
    log,
    clock: o.clock ?? Date.now,
    cronSeconds: o.cronSeconds ?? process.env.DEVCLUSTER_CRON_SECONDS === 'true',
    ...informers,
    expectations: new Expectations(),
    event: (component) => {
      let r = recorders.get(component);
      if (!r) recorders.set(component, (r = eventRecorder(kube, component, log)));
      return r;
    },
    queues,
  };
  queues.scheduler = new WorkQueue('scheduler', (k) => reconcileScheduling(ctx, k), log);
  queues.job = new WorkQueue('job', (k) => reconcileJob(ctx, k), log);
  queues.cronjob = new WorkQueue('cronjob', (k) => reconcileCronJob(ctx, k), log);
  queues.deployment = new WorkQueue('deployment', (k) => reconcileDeployment(ctx, k), log);
  queues.replicaset = new WorkQueue('replicaset', (k) => reconcileReplicaSet(ctx, k), log);
  queues.endpoints = new WorkQueue('endpoints', (k) => reconcileEndpoints(ctx, k), log);
  queues.knative = new WorkQueue('knative', (k) => reconcileKnative(ctx, { get: (n, ns) => ksvcs?.get(n, ns) as KnativeService | undefined }, k), log);

  const ownerKey = (o2: KubernetesObject, kind: string): string | undefined => {
    const r = controllerRef(o2);
    return r && r.kind === kind ? `${o2.metadata?.namespace ?? ''}/${r.name}` : undefined;
  };
  const onPod = (p: V1Pod, deleted = false) => {
    const ns = p.metadata?.namespace ?? '';
    if (!p.spec?.nodeName && !deleted) queues.scheduler.add(keyOf(p));
    const job = ownerKey(p, 'Job');
    if (job) {
      if (deleted) ctx.expectations.observedDelete(job, p.metadata!.name!);
      else ctx.expectations.observedCreate(job, p.metadata!.name!);
      queues.job.add(job);
    }
    const rs = ownerKey(p, 'ReplicaSet');
    if (rs) {
      if (deleted) ctx.expectations.observedDelete(`rs:${rs}`, p.metadata!.name!);
      else ctx.expectations.observedCreate(`rs:${rs}`, p.metadata!.name!);
      queues.replicaset.add(rs);
    }
    // the Knative stand-in reports a revision whose container fails
    const ksvc = p.metadata?.labels?.['serving.knative.dev/service'];
    if (ksvc) queues.knative.add(`${ns}/${ksvc}`);
    for (const s of informers.services.list(ns)) {
      const sel = s.spec?.selector;
      const labels = p.metadata?.labels ?? {};
      if (sel && Object.entries(sel).every(([k, v]) => labels[k] === v)) queues.endpoints.add(keyOf(s));
    }
  };
  informers.pods.on('add', (p) => onPod(p));
  informers.pods.on('update', (p) => onPod(p));
  informers.pods.on('delete', (p) => onPod(p, true));
  const requeueUnscheduled = () => {
    for (const p of informers.pods.list()) if (!p.spec?.nodeName) queues.scheduler.add(keyOf(p));
  };
  for (const v of ['add', 'update'] as const) informers.nodes.on(v, requeueUnscheduled);
  for (const v of ['add', 'update', 'delete'] as const) {
    informers.jobs.on(v, (j) => {
      queues.job.add(keyOf(j));
      const cj = ownerKey(j, 'CronJob');
      if (cj) queues.cronjob.add(cj);
    });
    informers.cronjobs.on(v, (c) => queues.cronjob.add(keyOf(c)));
    informers.deployments.on(v, (d) => {
      queues.deployment.add(keyOf(d));
      const ks = ownerKey(d, 'Service');
      if (ks) queues.knative.add(ks);
    });
    informers.replicasets.on(v, (r) => {
      queues.replicaset.add(keyOf(r));
      const d = ownerKey(r, 'Deployment');
      if (d) queues.deployment.add(d);
    });
    informers.services.on(v, (s) => {
      queues.endpoints.add(keyOf(s));
      const ks = ownerKey(s, 'Service');
      if (ks) queues.knative.add(ks);
      // a Knative Service waiting for its name to be free
      else if (ksvcs?.get(s.metadata!.name!, s.metadata?.namespace)) queues.knative.add(keyOf(s));
    });
    informers.endpoints.on(v, (e) => queues.endpoints.add(keyOf(e)));
  }
  await Promise.all(Object.values(informers).map((i) => i.started));

  // Knative Services: only when the CRD is served
  let stopped = false;
  let knTimer: NodeJS.Timeout | undefined;
  const watchKnative = async () => {
    if (stopped || ksvcs) return;
    try {
      const groups = await kube.get<{ resources?: Array<{ name: string }> }>(`/apis/${KSVC_API}`);
      if (groups?.resources?.some((r) => r.name === 'services')) {
        const i = inf<KubernetesObject>(`/apis/${KSVC_API}/services`);
        for (const v of ['add', 'update'] as const) i.on(v, (k) => queues.knative.add(keyOf(k)));
        ksvcs = i;
        await i.started;
        log.info('Knative Service stand-in started');
        return;
      }
    } catch (e) {
      if (!(e instanceof KubeError)) log.debug({ err: (e as Error).message }, 'knative discovery failed');
    }
    knTimer = setTimeout(() => void watchKnative(), 2000);
  };
  await watchKnative();
  log.info('controllers started');

  return {
    async stop() {
      stopped = true;
      if (knTimer) clearTimeout(knTimer);
      for (const q of Object.values(queues)) q.stop();
      await Promise.all([...Object.values(informers), ...(ksvcs ? [ksvcs] : [])].map((i) => i.stop()));
      log.info('controllers stopped');
    },
  };
}
