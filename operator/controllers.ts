// The controllers a leader runs: informer caches, the two work queues and their reconcilers, a
// periodic resync and the orphan sweep. A fresh instance is started each time leadership is won.
// Every write goes through this instance's own API client, which stop() fences: once stopped
// and drained (or the drain bound passed), no write of these controllers leaves the process.
import type { V1CronJob, V1Job, V1Pod, V1Secret, KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { EventSink } from '../lib/event-sink.js';
import type { Logger } from '../lib/log.js';
import type { OperatorConfig } from './config.js';
import { compileSpecValidators } from '../lib/api/crd-definitions.js';
import type { SnoopyDataEndpoint, SnoopyJob } from '../lib/api/schema.js';
import { DataEndpointReconciler } from './dataendpoint/reconciler.js';
import { CRONJOBS, DATAENDPOINTS, JOBS, SNOOPYJOBS, deleteObject, deleteSecret, errorText, makeKube, plain, resourcePath, type GroupResource, type Kube } from '../lib/kube/client.js';
import { ResilientCache } from './kube/informer.js';
import { EventRecorder } from './kube/recorder.js';
import { WorkQueue } from './kube/workqueue.js';
import type { OperatorMetrics } from './metrics.js';
import { Labels } from '../lib/api/names.js';
import { SnoopyJobReconciler, targetNamespaceOf } from './snoopyjob/reconciler.js';
import { TargetPodCaches } from './snoopyjob/target-pods.js';

export interface ControllerDeps {
  kc: KubeConfig;
  config: OperatorConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  sink: EventSink;
  tokenKey: string;
}

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

export class Controllers {
  private readonly caches;
  private readonly targetPods: TargetPodCaches;
  readonly sjQueue: WorkQueue;
  readonly deQueue: WorkQueue;
  private resyncTimer: NodeJS.Timeout | undefined;
  private synced = false;
  /** SnoopyJob uid → key, to route events of owned objects (labels carry the uid). */
  private readonly uidIndex = new Map<string, string>();
  /** Aborted by stop(): from then on the API client refuses writes. */
  private readonly fence = new AbortController();
  private readonly kube: Kube;
  private readonly recorder: EventRecorder;
  /** The orphan sweep in progress, if any (its deletes are writes stop() waits for). */
  private sweeping: Promise<void> | undefined;

  constructor(private readonly d: ControllerDeps) {
    const { kc, config, logger, metrics } = d;
    const kube = makeKube(kc, { writesUntil: this.fence.signal });
    this.kube = kube;
    const recorder = new EventRecorder(kube, 'snoopy-operator', logger, config.identity);
    this.recorder = recorder;
    const watchError = (resource: string) => () => metrics.errors.inc({ controller: resource, kind: 'watch' });
    const custom = <T extends KubernetesObject>(name: string, r: GroupResource, onChange: (o: T) => void, namespace?: string, labelSelector?: string) =>
      new ResilientCache<T>({
        kc,
        path: resourcePath(r, namespace),
        // CustomObjectsApi types its lists as `any`; they are KubernetesListObject<T> on the wire
        list: async () =>
          (namespace
            ? await kube.custom.listNamespacedCustomObject({ ...r, namespace, ...(labelSelector ? { labelSelector } : {}) })
            : await kube.custom.listClusterCustomObject({ ...r, ...(labelSelector ? { labelSelector } : {}) })) as KubernetesListObject<T>,
        ...(labelSelector ? { labelSelector } : {}),
        logger,
        name,
        onChange,
        onError: watchError(name),
      });
    const owned = Labels.jobUid; // "has the label" selector
    const routeOwned = (o: KubernetesObject) => {
      const uid = o.metadata?.labels?.[Labels.jobUid];
      const key = uid ? this.uidIndex.get(uid) : undefined;
      if (key) this.sjQueue.add(key);
    };
    this.caches = {
      snoopyJobs: custom<SnoopyJob>('snoopyjobs', SNOOPYJOBS, (sj) => {
        if (sj.metadata.uid) this.uidIndex.set(sj.metadata.uid, keyOf(sj));
        this.sjQueue.add(keyOf(sj));
      }),
      dataEndpoints: custom<SnoopyDataEndpoint>('snoopydataendpoints', DATAENDPOINTS, (de) => {
        this.deQueue.add(keyOf(de));
        for (const sj of this.caches.snoopyJobs.list()) {
          const ref = sj.spec?.dataEndpointRef;
          if (ref && ref.name === de.metadata.name && (ref.namespace || sj.metadata.namespace) === de.metadata.namespace) this.sjQueue.add(keyOf(sj));
        }
      }),
      jobs: custom<V1Job>('jobs', JOBS, routeOwned, config.namespace, owned),
      cronJobs: custom<V1CronJob>('cronjobs', CRONJOBS, routeOwned, config.namespace, owned),
      capturePods: new ResilientCache<V1Pod>({
        kc,
        path: `/api/v1/namespaces/${config.namespace}/pods`,
        list: async () => plain(await kube.core.listNamespacedPod({ namespace: config.namespace, labelSelector: owned })),
        labelSelector: owned,
        logger,
        name: 'capture-pods',
        onChange: routeOwned,
        onError: watchError('capture-pods'),
      }),
      secrets: new ResilientCache<V1Secret>({
        kc,
        path: `/api/v1/namespaces/${config.namespace}/secrets`,
        list: async () => plain(await kube.core.listNamespacedSecret({ namespace: config.namespace, labelSelector: owned })),
        labelSelector: owned,
        logger,
        name: 'token-secrets',
        onChange: () => undefined, // tokens are written by the reconciler itself; no reason to react
        onError: watchError('token-secrets'),
      }),
    };
    this.targetPods = new TargetPodCaches(
      kube,
      kc,
      logger,
      (pod) => {
        for (const key of SnoopyJobReconciler.keysForPod(pod, this.caches.snoopyJobs.list())) this.sjQueue.add(key);
      },
      watchError('pods'),
    );
    const sjReconciler = new SnoopyJobReconciler({ kube, config, logger, metrics, recorder, sink: d.sink, caches: this.caches, targetPods: this.targetPods, tokenKey: () => d.tokenKey });
    const deReconciler = new DataEndpointReconciler({ kube, config, logger, recorder, cache: this.caches.dataEndpoints, tokenKey: () => d.tokenKey });
    const queue = (controller: string, fn: (key: string) => Promise<{ requeueAfterMs?: number } | void>) =>
      new WorkQueue(
        async (key) => {
          const result = await fn(key);
          metrics.reconciles.inc({ controller, result: 'success' });
          return result;
        },
        { workers: config.workers, onDepth: (n) => metrics.queueDepth.set({ controller }, n) },
        (key, err) => {
          metrics.reconciles.inc({ controller, result: 'error' });
          metrics.errors.inc({ controller, kind: 'reconcile' });
          logger.warn({ controller, key, err: errorText(err) }, 'reconcile failed; will retry');
        },
      );
    this.sjQueue = queue('snoopyjob', (k) => sjReconciler.reconcile(k));
    this.deQueue = queue('snoopydataendpoint', (k) => deReconciler.reconcile(k));
  }

  get isSynced(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    compileSpecValidators();
    const all = Object.values(this.caches) as ResilientCache<KubernetesObject>[];
    for (const c of all) void c.start();
    await Promise.all(all.map((c) => c.synced));
    this.synced = true;
    this.d.logger.info({ snoopyJobs: this.caches.snoopyJobs.list().length, jobs: this.caches.jobs.list().length }, 'caches synced; reconciling');
    this.resync();
    this.resyncTimer = setInterval(() => this.resync(), this.d.config.resyncSeconds * 1000);
    this.resyncTimer.unref();
  }

  /** Queues every object again, drops unused pod caches, removes orphans, updates gauges. */
  private resync(): void {
    const sjs = this.caches.snoopyJobs.list();
    for (const sj of sjs) this.sjQueue.add(keyOf(sj));
    for (const de of this.caches.dataEndpoints.list()) this.deQueue.add(keyOf(de));
    const uids = new Set(sjs.map((s) => s.metadata.uid));
    this.targetPods
      .retain(new Set(sjs.filter((s) => !s.metadata.deletionTimestamp).map(targetNamespaceOf)))
      .catch((err: unknown) => this.d.logger.warn({ err: errorText(err) }, 'could not stop an unused pod cache'));
    this.sweeping ??= this.sweepOrphans(uids).finally(() => (this.sweeping = undefined));
    const m = this.d.metrics.cachedObjects;
    m.set({ resource: 'snoopyjobs' }, sjs.length);
    m.set({ resource: 'jobs' }, this.caches.jobs.list().length);
    m.set({ resource: 'cronjobs' }, this.caches.cronJobs.list().length);
    m.set({ resource: 'pods' }, this.targetPods.size());
  }

  /** Objects labelled with the uid of a SnoopyJob that no longer exists (e.g. force-deleted). */
  private async sweepOrphans(uids: Set<string | undefined>): Promise<void> {
    const { config, logger } = this.d;
    const kube = this.kube;
    const ns = config.namespace;
    const orphan = (o: KubernetesObject) => !uids.has(o.metadata?.labels?.[Labels.jobUid]) && !o.metadata?.deletionTimestamp;
    try {
      for (const c of this.caches.cronJobs.list(ns).filter(orphan)) await deleteObject(kube, CRONJOBS, ns, c.metadata!.name!);
      for (const j of this.caches.jobs.list(ns).filter(orphan)) await deleteObject(kube, JOBS, ns, j.metadata!.name!);
      for (const s of this.caches.secrets.list(ns).filter(orphan)) await deleteSecret(kube, ns, s.metadata!.name!);
    } catch (err) {
      logger.warn({ err: errorText(err) }, 'orphan sweep failed');
    }
  }

  /**
   * Stops taking work, lets the reconciles in flight finish (their writes, the Events they
   * recorded, an orphan sweep) for at most `drainMs`, then refuses any further write and stops
   * the caches. The caller releases the lease only after this: a write that lands after the
   * successor's first one could undo what the successor decided.
   */
  async stop(drainMs: number): Promise<void> {
    clearInterval(this.resyncTimer);
    this.sjQueue.stop();
    this.deQueue.stop();
    let timer: NodeJS.Timeout | undefined;
    const drained = (async () => {
      await Promise.all([this.sjQueue.drain(), this.deQueue.drain(), this.sweeping]);
      await this.recorder.flush();
      return true;
    })();
    const bound = new Promise<false>((r) => (timer = setTimeout(() => r(false), drainMs)));
    const inTime = await Promise.race([drained, bound]);
    clearTimeout(timer);
    this.fence.abort();
    if (!inTime) this.d.logger.warn({ drainMs }, 'reconciles still running after the drain bound; their further writes are refused');
    await Promise.all([...(Object.values(this.caches) as ResilientCache<KubernetesObject>[]).map((c) => c.stop()), this.targetPods.stop()]);
  }
}
