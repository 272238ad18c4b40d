// What the controllers share: the API client, the informer caches and each controller's queue.
import type { KubernetesObject, V1CronJob, V1Deployment, V1Endpoints, V1Job, V1Node, V1Pod, V1ReplicaSet, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';
import type { Informer, Kube } from './kube-client.js';
import type { Clock, Expectations, WorkQueue } from './runtime.js';
import type { EventRecorder } from './events.js';

export interface ControllerContext {
  kube: Kube;
  log: Logger;
  clock: Clock;
  /** 6-field cron schedules (with seconds) are accepted: for tests that cannot wait minutes */
  cronSeconds: boolean;
  pods: Informer<V1Pod>;
  nodes: Informer<V1Node>;
  jobs: Informer<V1Job>;
  cronjobs: Informer<V1CronJob>;
  deployments: Informer<V1Deployment>;
  replicasets: Informer<V1ReplicaSet>;
  services: Informer<V1Service>;
  endpoints: Informer<V1Endpoints>;
  expectations: Expectations;
  /** records Events as the named controller */
  event(component: string): EventRecorder;
  queues: Record<'job' | 'cronjob' | 'deployment' | 'replicaset' | 'scheduler' | 'endpoints' | 'knative', WorkQueue>;
}

/** Objects of a namespace whose controller reference is the owner's uid. */
export function ownedBy<T extends KubernetesObject>(inf: Informer<T>, ns: string, uid: string): T[] {
  return inf.list(ns).filter((o) => o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid));
}
