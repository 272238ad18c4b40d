// Kubernetes Events (core/v1) as the real components record them, so `kubectl describe` and
// `kubectl get events` tell what the dev cluster did. Fire and forget: a failed write is logged
// at debug level and never blocks the caller.
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';
import { apiPath, type Kube } from './kube-client.js';

export type EventRecorder = (obj: KubernetesObject & { apiVersion?: string; kind?: string }, type: 'Normal' | 'Warning', reason: string, message: string) => void;

export function eventRecorder(kube: Kube, component: string, log: Logger, host?: string): EventRecorder {
  return (obj, type, reason, message) => {
    const ns = obj.metadata?.namespace ?? 'default';
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata?.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name, namespace: obj.metadata?.namespace, uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion },
      reason,
      message,
      type,
      source: host ? { component, host } : { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: component,
      reportingInstance: host ?? component,
    };
    kube.create(apiPath('v1', 'events', ns), body).catch((e: Error) => log.debug({ err: e.message, reason }, 'event not recorded'));
  };
}
