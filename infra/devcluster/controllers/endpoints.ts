// Endpoints controller: for each Service with a selector, an Endpoints object of the same name
// listing the matching pods' IPs (ready ones in `addresses`, others in `notReadyAddresses`) with
// the Service's target ports resolved against each pod (named container ports too). Pods whose
// resolved ports differ land in separate subsets, as Kubernetes groups them.
import type { V1EndpointSubset, V1Pod, V1Service } from '@kubernetes/client-node';
import { apiPath, KubeError } from './kube-client.js';
import type { ControllerContext } from './context.js';
import { isPodActive, isPodReady, splitKey } from './runtime.js';

export function endpointSubsets(svc: V1Service, pods: ReadonlyArray<V1Pod>): V1EndpointSubset[] {
  const sel = svc.spec?.selector;
  if (!sel) return [];
  const groups = new Map<string, V1EndpointSubset>();
  for (const p of pods) {
    if (!isPodActive(p) || !p.status?.podIP) continue;
    const labels = p.metadata?.labels ?? {};
    if (!Object.entries(sel).every(([k, v]) => labels[k] === v)) continue;
    const ports = (svc.spec?.ports ?? []).map((sp) => {
      let port: number | undefined;
      const tp = sp.targetPort as unknown as number | string | undefined;
      if (tp === undefined || tp === null) port = sp.port;
      else if (typeof tp === 'number' || /^\d+$/.test(String(tp))) port = Number(tp);
      else {
        for (const c of p.spec?.containers ?? []) {
          const cp = c.ports?.find((x) => x.name === tp);
          if (cp) port = cp.containerPort;
        }
      }
      return port === undefined ? undefined : { name: sp.name, port, protocol: sp.protocol ?? 'TCP', appProtocol: sp.appProtocol };
    });
    if (ports.some((x) => x === undefined)) continue; // a named port the pod does not have
    const sig = JSON.stringify(ports);
    let g = groups.get(sig);
    if (!g) groups.set(sig, (g = { addresses: [], notReadyAddresses: [], ports: ports as V1EndpointSubset['ports'] }));
    const addr = { ip: p.status.podIP, nodeName: p.spec?.nodeName, targetRef: { kind: 'Pod', name: p.metadata!.name!, namespace: p.metadata!.namespace, uid: p.metadata!.uid } };
    (isPodReady(p) ? g.addresses! : g.notReadyAddresses!).push(addr);
  }
  const out = [...groups.values()].map((g) => {
    const s: V1EndpointSubset = { ports: g.ports };
    if (g.addresses!.length) s.addresses = g.addresses!.sort((a, b) => a.ip.localeCompare(b.ip));
    if (g.notReadyAddresses!.length) s.notReadyAddresses = g.notReadyAddresses!.sort((a, b) => a.ip.localeCompare(b.ip));
    return s;
  });
  return out.sort((a, b) => JSON.stringify(a.ports).localeCompare(JSON.stringify(b.ports)));
}

export async function reconcileEndpoints(ctx: ControllerContext, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const svc = ctx.services.get(name, ns);
  const existing = ctx.endpoints.get(name, ns);
  if (!svc) {
    // Endpoints we manage (no selector-less Services' hand-made ones) go with their Service
    if (existing?.metadata?.labels?.['endpoints.kubernetes.io/managed-by'] === 'endpoint-controller') {
      await ctx.kube.delete(apiPath('v1', 'endpoints', ns, name));
    }
    return;
  }
  if (!svc.spec?.selector) return;
  const subsets = endpointSubsets(svc, ctx.pods.list(ns));
  const body = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: ns, labels: { ...(svc.metadata?.labels ?? {}), 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' } },
    subsets,
  };
  if (!existing) {
    try {
      await ctx.kube.create(apiPath('v1', 'endpoints', ns), body);
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 409)) throw e;
      ctx.queues.endpoints.addAfter(key, 200);
    }
    return;
  }
  if (JSON.stringify(existing.subsets ?? []) === JSON.stringify(subsets)) return;
  await ctx.kube.replace(apiPath('v1', 'endpoints', ns, name), { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } });
}
