// Deployment → ReplicaSet → Pods (apps/v1). A Deployment owns one ReplicaSet per pod template
// (named "<deployment>-<pod-template-hash>", the hash also a label on the RS selector and its
// pods). The current template's RS is scaled to spec.replicas; older ones are scaled to zero once
// the new one has all replicas ready (RollingUpdate, simplified) or at once (Recreate).
// ReplicaSets keep exactly spec.replicas active pods, deleting not-ready and newest pods first.
import { createHash } from 'node:crypto';
import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { apiPath, KubeError } from './kube-client.js';
import { ownedBy, type ControllerContext } from './context.js';
import { isoNow, isPodActive, isPodReady, ownerReference, setCondition, splitKey, type Condition } from './runtime.js';

/** Stable hash of a pod template (without the hash label), in the alphabet Kubernetes uses. */
export function podTemplateHash(template: unknown): string {
  const canon = JSON.stringify(sortKeys(template));
  const h = createHash('sha256').update(canon).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[h[i]! % alphabet.length];
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

export function replicaSetFor(d: V1Deployment, hash: string, replicas: number, revision: number): Record<string, unknown> {
  const tmpl = d.spec!.template;
  const labels = { ...(tmpl.metadata?.labels ?? {}), 'pod-template-hash': hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata!.name}-${hash}`,
      namespace: d.metadata!.namespace,
      labels,
      annotations: { 'deployment.kubernetes.io/revision': String(revision), 'deployment.kubernetes.io/desired-replicas': String(d.spec?.replicas ?? 1) },
      ownerReferences: [ownerReference(d, 'apps/v1', 'Deployment')],
    },
    spec: {
      replicas,
      selector: { ...(d.spec!.selector ?? {}), matchLabels: { ...(d.spec!.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
      template: { ...tmpl, metadata: { ...(tmpl.metadata ?? {}), labels } },
    },
  };
}

function templateHashOf(d: V1Deployment): string {
  const t = structuredClone(d.spec!.template) as { metadata?: { labels?: Record<string, string> } };
  if (t.metadata?.labels) delete t.metadata.labels['pod-template-hash'];
  return podTemplateHash(t);
}

export async function reconcileDeployment(ctx: ControllerContext, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const d = ctx.deployments.get(name, ns);
  if (!d || d.metadata?.deletionTimestamp) return;
  const desired = d.spec?.replicas ?? 1;
  const rss = ownedBy<V1ReplicaSet>(ctx.replicasets, ns, d.metadata!.uid!);
  const hash = templateHashOf(d);
  let current = rss.find((r) => r.metadata?.labels?.['pod-template-hash'] === hash);
  const revisions = rss.map((r) => Number(r.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
  const maxRevision = Math.max(0, ...revisions);
  const depRef = { ...d, apiVersion: 'apps/v1', kind: 'Deployment' };
  const patchRs = (r: V1ReplicaSet, replicas: number) => {
    ctx.event('deployment-controller')(depRef, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > (r.spec?.replicas ?? 0) ? 'up' : 'down'} replica set ${r.metadata!.name} from ${r.spec?.replicas ?? 0} to ${replicas}`);
    return ctx.kube.mergePatch(apiPath('apps/v1', 'replicasets', ns, r.metadata!.name), { spec: { replicas }, metadata: { annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired) } } });
  };
  if (!current) {
    try {
      current = await ctx.kube.create<V1ReplicaSet>(apiPath('apps/v1', 'replicasets', ns), replicaSetFor(d, hash, desired, maxRevision + 1));
      ctx.event('deployment-controller')(depRef, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${current.metadata!.name} from 0 to ${desired}`);
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 409)) throw e;
      return; // the cache will show it
    }
  } else if ((current.spec?.replicas ?? 0) !== desired) await patchRs(current, desired);
  const olds = rss.filter((r) => r !== current && r.metadata?.uid !== current!.metadata?.uid);
  const recreate = d.spec?.strategy?.type === 'Recreate';
  const newReady = current.status?.readyReplicas ?? 0;
  if (recreate || newReady >= desired) {
    for (const r of olds) if ((r.spec?.replicas ?? 0) !== 0) await patchRs(r, 0);
  }
  // old ReplicaSets beyond revisionHistoryLimit go
  const limit = d.spec?.revisionHistoryLimit ?? 10;
  const idleOlds = olds.filter((r) => (r.spec?.replicas ?? 0) === 0 && (r.status?.replicas ?? 0) === 0)
    .sort((a, b) => Number(a.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0) - Number(b.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
  for (const r of idleOlds.slice(0, Math.max(0, idleOlds.length - limit))) await ctx.kube.delete(apiPath('apps/v1', 'replicasets', ns, r.metadata!.name));

  const all = [current, ...olds];
  const replicas = all.reduce((n, r) => n + (r.status?.replicas ?? 0), 0);
  const ready = all.reduce((n, r) => n + (r.status?.readyReplicas ?? 0), 0);
  const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
  const updated = current.status?.replicas ?? 0;
  const now = isoNow(ctx.clock);
  let conditions = (d.status?.conditions ?? []) as unknown as Condition[];
  const isAvailable = available >= desired;
  conditions = setCondition(conditions, isAvailable
    ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
    : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, now, { lastUpdateTime: now });
  const complete = updated === desired && newReady >= desired && olds.every((r) => (r.status?.replicas ?? 0) === 0);
  conditions = setCondition(conditions, complete
    ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${current.metadata!.name}" has successfully progressed.` }
    : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${current.metadata!.name}" is progressing.` }, now, { lastUpdateTime: now });
  const status = {
    observedGeneration: d.metadata?.generation,
    replicas,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, desired - available) || undefined,
    conditions,
  };
  const prev = d.status ?? {};
  const same = ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'].every((k) => (prev as Record<string, unknown>)[k] === (status as Record<string, unknown>)[k]) &&
    JSON.stringify((prev.conditions ?? []).map((c) => [c.type, c.status, c.reason])) === JSON.stringify(conditions.map((c) => [c.type, c.status, c.reason]));
  if (!same) await ctx.kube.mergePatch(apiPath('apps/v1', 'deployments', ns, name, 'status'), { status: { ...status, unavailableReplicas: status.unavailableReplicas ?? null } });
}

export function replicaSetPod(rs: V1ReplicaSet): Record<string, unknown> {
  const tmpl = rs.spec!.template!;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata!.name}-`,
      namespace: rs.metadata!.namespace,
      labels: { ...(tmpl.metadata?.labels ?? {}) },
      annotations: { ...(tmpl.metadata?.annotations ?? {}) },
      ownerReferences: [ownerReference(rs, 'apps/v1', 'ReplicaSet')],
    },
    spec: tmpl.spec,
  };
}

export async function reconcileReplicaSet(ctx: ControllerContext, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const rs = ctx.replicasets.get(name, ns);
  if (!rs || rs.metadata?.deletionTimestamp) return;
  if (!ctx.expectations.satisfied(`rs:${key}`)) {
    ctx.queues.replicaset.addAfter(key, 1000);
    return;
  }
  const pods = ownedBy<V1Pod>(ctx.pods, ns, rs.metadata!.uid!).filter(isPodActive);
  const want = rs.spec?.replicas ?? 1;
  if (pods.length < want) {
    for (let i = pods.length; i < want; i++) {
      const p = await ctx.kube.create<V1Pod>(apiPath('v1', 'pods', ns), replicaSetPod(rs));
      ctx.expectations.expectCreate(`rs:${key}`, p.metadata!.name!);
      ctx.event('replicaset-controller')({ ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' }, 'Normal', 'SuccessfulCreate', `Created pod: ${p.metadata!.name}`);
    }
  } else if (pods.length > want) {
    // unscheduled, then not ready, then newest first
    const rank = (p: V1Pod) => (p.spec?.nodeName ? 2 : 0) + (isPodReady(p) ? 4 : 0);
    const victims = [...pods]
      .sort((a, b) => rank(a) - rank(b) || Date.parse(String(b.metadata?.creationTimestamp)) - Date.parse(String(a.metadata?.creationTimestamp)))
      .slice(0, pods.length - want);
    for (const p of victims) {
      ctx.expectations.expectDelete(`rs:${key}`, p.metadata!.name!);
      await ctx.kube.delete(apiPath('v1', 'pods', ns, p.metadata!.name));
      ctx.event('replicaset-controller')({ ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' }, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
    }
  }
  const ready = pods.filter(isPodReady).length;
  const status = { replicas: pods.length, fullyLabeledReplicas: pods.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata?.generation };
  const prev = (rs.status ?? {}) as Record<string, unknown>;
  if (Object.entries(status).some(([k, v]) => (prev[k] ?? 0) !== (v ?? 0))) {
    await ctx.kube.mergePatch(apiPath('apps/v1', 'replicasets', ns, name, 'status'), { status });
  }
}
