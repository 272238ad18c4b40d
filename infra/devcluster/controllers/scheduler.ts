// The scheduler: binds pending pods without a node to a Ready node that passes nodeSelector,
// required node affinity (matchExpressions In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields on
// metadata.name) and taints vs tolerations, preferring the node with the fewest pods. A pod that
// fits nowhere gets PodScheduled=False/Unschedulable and is retried when nodes change.
import type { V1Node, V1NodeSelectorRequirement, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { apiPath, KubeError } from './kube-client.js';
import type { ControllerContext } from './context.js';
import { isoNow, splitKey } from './runtime.js';

function requirementMatches(r: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(value);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(value) > Number(r.values?.[0]);
    case 'Lt':
      return has && Number(value) < Number(r.values?.[0]);
    default:
      return false;
  }
}

export function tolerates(tolerations: V1Toleration[] | undefined, taint: V1Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

export function nodeReady(n: V1Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Why the node does not fit the pod, or undefined when it fits. */
export function unfitReason(pod: V1Pod, node: V1Node): string | undefined {
  const labels = node.metadata?.labels ?? {};
  if (!nodeReady(node)) return 'node(s) were not ready';
  if (node.spec?.unschedulable && !tolerates(pod.spec?.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return 'node(s) were unschedulable';
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length) {
    const anyTerm = terms.some(
      (t) =>
        (t.matchExpressions?.length || t.matchFields?.length) &&
        (t.matchExpressions ?? []).every((r) => requirementMatches(r, labels[r.key])) &&
        (t.matchFields ?? []).every((r) => r.key === 'metadata.name' && requirementMatches(r, node.metadata?.name)),
    );
    if (!anyTerm) return "node(s) didn't match Pod's node affinity/selector";
  }
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!tolerates(pod.spec?.tolerations, taint)) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
  }
  return undefined;
}

export type Decision = { node: string } | { unschedulable: string };

/** Picks a node: fits, then fewest pods, then name. */
export function schedule(pod: V1Pod, nodes: ReadonlyArray<V1Node>, podsPerNode: Map<string, number>): Decision {
  const reasons = new Map<string, number>();
  const fit: V1Node[] = [];
  for (const n of nodes) {
    const r = unfitReason(pod, n);
    if (r) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    else fit.push(n);
  }
  if (fit.length === 0) {
    const detail = [...reasons].sort(([a], [b]) => a.localeCompare(b)).map(([r, c]) => `${c} ${r}`).join(', ');
    return { unschedulable: `0/${nodes.length} nodes are available${detail ? `: ${detail}` : ''}.` };
  }
  fit.sort((a, b) => (podsPerNode.get(a.metadata!.name!) ?? 0) - (podsPerNode.get(b.metadata!.name!) ?? 0) || a.metadata!.name!.localeCompare(b.metadata!.name!));
  return { node: fit[0]!.metadata!.name! };
}

/** pod uid → node it was just bound to (the scheduler's "assume" cache) */
const assumed = new Map<string, string>();

export async function reconcileScheduling(ctx: ControllerContext, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const pod = ctx.pods.get(name, ns);
  if (!pod || pod.spec?.nodeName || pod.metadata?.deletionTimestamp || isTerminal(pod)) return;
  if ((pod.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return;
  const counts = new Map<string, number>();
  for (const p of ctx.pods.list()) {
    const n = p.spec?.nodeName ?? assumed.get(p.metadata?.uid ?? '');
    if (n && !isTerminal(p)) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const decision = schedule(pod, ctx.nodes.list(), counts);
  const now = isoNow(ctx.clock);
  if ('node' in decision) {
    try {
      await ctx.kube.create(apiPath('v1', 'pods', ns, name, 'binding'), {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: ns, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: decision.node },
      });
      // the informer shows the binding a little later: count the pod on its node meanwhile
      assumed.set(pod.metadata!.uid!, decision.node);
      setTimeout(() => assumed.delete(pod.metadata!.uid!), 30_000).unref();
      ctx.event('default-scheduler')({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${decision.node}`);
      ctx.log.debug({ pod: key, node: decision.node }, 'bound');
    } catch (e) {
      // already bound or gone: the cache catches up
      if (!(e instanceof KubeError && (e.code === 409 || e.code === 404))) throw e;
    }
    return;
  }
  const prev = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (prev?.status !== 'False' || prev.message !== decision.unschedulable) {
    ctx.event('default-scheduler')({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'FailedScheduling', decision.unschedulable);
    await ctx.kube.mergePatch(apiPath('v1', 'pods', ns, name, 'status'), {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: decision.unschedulable, lastProbeTime: null, lastTransitionTime: now }],
      },
    });
  }
  // retried when nodes change, and now and then in case a node's labels changed unseen
  ctx.queues.scheduler.addAfter(key, 5000);
}

function isTerminal(p: V1Pod): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}
