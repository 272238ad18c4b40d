// Knative Service stand-in (serving.knative.dev/v1, when its CRD is installed): each Service runs
// as a one-replica Deployment "<name>-deployment" from spec.template (the container port named
// h2c or http1, default 8080, exported as PORT as Knative does, plus K_SERVICE/K_CONFIGURATION/
// K_REVISION, and a TCP readiness probe on that port unless one is given) and a ClusterIP
// Service "<name>" mapping port 80 to the container port. Status gets url/address.url
// (http://<name>.<ns>.svc.cluster.local) and Ready/ConfigurationsReady/RoutesReady conditions,
// True once the pod is ready. No scale-to-zero, no revisions history, no traffic splitting.
import type { V1Container, V1Deployment, V1Service } from '@kubernetes/client-node';
import { apiPath, KubeError } from './kube-client.js';
import type { ControllerContext } from './context.js';
import { isoNow, ownerReference, setCondition, splitKey, type Condition } from './runtime.js';

export const KSVC_API = 'serving.knative.dev/v1';

export interface KnativeService {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; name?: string }; spec?: { containers?: V1Container[]; [k: string]: unknown } } };
  status?: { conditions?: Condition[]; url?: string; [k: string]: unknown };
}

export function servingPort(c: V1Container | undefined): { port: number; h2c: boolean } {
  const p = c?.ports?.[0];
  return { port: p?.containerPort ?? 8080, h2c: p?.name === 'h2c' };
}

export function knativeChildren(ks: KnativeService): { deployment: Record<string, unknown>; service: Record<string, unknown>; revision: string } {
  const name = ks.metadata!.name!;
  const ns = ks.metadata!.namespace!;
  const revision = ks.spec?.template?.metadata?.name ?? `${name}-${String(ks.metadata?.generation ?? 1).padStart(5, '0')}`;
  const tspec = structuredClone(ks.spec?.template?.spec ?? {}) as { containers?: V1Container[]; [k: string]: unknown };
  const containers = tspec.containers ?? [];
  const { port, h2c } = servingPort(containers[0]);
  const labels = { ...(ks.spec?.template?.metadata?.labels ?? {}), 'serving.knative.dev/service': name, 'serving.knative.dev/configuration': name };
  if (containers[0]) {
    const c = containers[0];
    c.name ??= 'user-container'; // Knative's name for an unnamed container
    const env = (c.env ?? []).filter((e) => !['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'].includes(e.name));
    c.env = [...env, { name: 'PORT', value: String(port) }, { name: 'K_SERVICE', value: name }, { name: 'K_CONFIGURATION', value: name }, { name: 'K_REVISION', value: revision }];
    c.ports = [{ name: h2c ? 'h2c' : 'http1', containerPort: port, protocol: 'TCP' }];
    // the model types IntOrString as an object; the API takes the number
    c.readinessProbe ??= { tcpSocket: { port }, periodSeconds: 1, initialDelaySeconds: 0 } as unknown as V1Container['readinessProbe'];
  }
  const owner = [ownerReference(ks as never, KSVC_API, 'Service')];
  return {
    revision,
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${name}-deployment`, namespace: ns, labels, ownerReferences: owner },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'serving.knative.dev/service': name } },
        template: { metadata: { labels: { ...labels, 'serving.knative.dev/revision': revision }, annotations: ks.spec?.template?.metadata?.annotations }, spec: { ...tspec, containers } },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels: { 'serving.knative.dev/service': name }, ownerReferences: owner },
      spec: {
        type: 'ClusterIP',
        selector: { 'serving.knative.dev/service': name },
        ports: [{ name: h2c ? 'http2' : 'http', port: 80, targetPort: port, protocol: 'TCP', ...(h2c ? { appProtocol: 'kubernetes.io/h2c' } : {}) }],
      },
    },
  };
}

export async function reconcileKnative(ctx: ControllerContext, ksvcs: { get(name: string, ns?: string): KnativeService | undefined }, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const ks = ksvcs.get(name, ns);
  if (!ks || ks.metadata?.deletionTimestamp) return;
  const { deployment, service, revision } = knativeChildren(ks);
  const depName = `${name}-deployment`;
  const existing = ctx.deployments.get(depName, ns);
  if (!existing) {
    try {
      await ctx.kube.create(apiPath('apps/v1', 'deployments', ns), deployment);
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 409)) throw e;
    }
  } else if (JSON.stringify(existing.spec?.template?.spec?.containers?.map((c) => [c.image, c.env, c.args, c.command])) !==
    JSON.stringify((deployment.spec as V1Deployment['spec'])!.template.spec!.containers.map((c) => [c.image, c.env, c.args, c.command]))) {
    await ctx.kube.mergePatch(apiPath('apps/v1', 'deployments', ns, depName), { spec: deployment.spec });
  }
  const svc = ctx.services.get(name, ns) as V1Service | undefined;
  if (!svc) {
    try {
      await ctx.kube.create(apiPath('v1', 'services', ns), service);
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 409)) throw e;
    }
  }
  const ready = (existing?.status?.readyReplicas ?? 0) >= 1 && !!svc;
  const now = isoNow(ctx.clock);
  const url = `http://${name}.${ns}.svc.cluster.local`;
  let conditions = ks.status?.conditions;
  for (const type of ['ConfigurationsReady', 'RoutesReady', 'Ready']) {
    conditions = setCondition(conditions, ready ? { type, status: 'True' } : { type, status: 'Unknown', reason: 'Deploying', message: 'waiting for the pod to become ready' }, now);
  }
  const status = {
    observedGeneration: ks.metadata?.generation,
    url,
    address: { url },
    latestCreatedRevisionName: revision,
    latestReadyRevisionName: ready ? revision : ks.status?.latestReadyRevisionName,
    traffic: [{ revisionName: revision, latestRevision: true, percent: 100 }],
    conditions,
  };
  const prev = ks.status ?? {};
  if (prev.url !== url || prev.observedGeneration !== status.observedGeneration || JSON.stringify((prev.conditions ?? []).map((c) => c.status)) !== JSON.stringify(conditions!.map((c) => c.status))) {
    await ctx.kube.mergePatch(apiPath(KSVC_API, 'services', ns, name, 'status'), { status });
  }
}
