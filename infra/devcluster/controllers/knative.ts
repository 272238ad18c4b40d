// Knative Service stand-in (serving.knative.dev/v1, when its CRD is installed): each Service runs
// as a one-replica Deployment "<name>-deployment" from spec.template (the container port named
// h2c or http1, default 8080, exported as PORT as Knative does, plus K_SERVICE/K_CONFIGURATION/
// K_REVISION, and a TCP readiness probe on that port unless one is given) and a ClusterIP
// Service "<name>" mapping port 80 to the pod. Status gets url/address.url
// (http://<name>.<ns>.svc.cluster.local) and Ready/ConfigurationsReady/RoutesReady conditions,
// True once the pod is ready. No scale-to-zero, no revisions history, no traffic splitting.
// Where Snoopy depends on Knative's behaviour, the stand-in behaves the same way:
// - every pod gets a queue-proxy sidecar (../queue-proxy) holding 8012, 8013, 8022, 9090 and
//   9091, so a user container binding one of them fails; the port-80 Service leads to its 8012,
//   and it enforces timeoutSeconds, responseStartTimeoutSeconds and idleTimeoutSeconds;
// - what Knative's webhook refuses (a reserved container port, a timeout above
//   max-revision-timeout-seconds) fails the revision;
// - image tags are resolved to digests except for references by digest and registries in
//   config-deployment's registries-skipping-tag-resolving (default kind.local, ko.local,
//   dev.local): the dev cluster has no registry, so any other image fails the revision, as an
//   unreachable registry does on a real cluster;
// - a user container that exits fails the revision (Ready False, reason RevisionFailed).
import type { V1Container, V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { DEFAULT_SKIP_TAG_RESOLVING, isReservedPort, KNATIVE_DEFAULT_TIMEOUTS, KNATIVE_MAX_REVISION_TIMEOUT_SECONDS, needsTagResolution, QUEUE_PROXY_PORTS, RESERVED_PORTS } from '../../../lib/knative-serving.js';
import { apiPath, KubeError } from './kube-client.js';
import type { ControllerContext } from './context.js';
import { isoNow, ownerReference, setCondition, splitKey, type Condition } from './runtime.js';

export const KSVC_API = 'serving.knative.dev/v1';

/** A CRD that makes the API server serve Knative Services (schema open), as installing Knative
 *  Serving would; the stand-in then runs them. */
export const KNATIVE_SERVICE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'services.serving.knative.dev' },
  spec: {
    group: 'serving.knative.dev',
    names: { kind: 'Service', plural: 'services', singular: 'service', shortNames: ['ksvc', 'kservice'] },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

export interface KnativeService {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: {
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; name?: string };
      spec?: { containers?: V1Container[]; timeoutSeconds?: number; responseStartTimeoutSeconds?: number; idleTimeoutSeconds?: number; [k: string]: unknown };
    };
  };
  status?: { conditions?: Condition[]; url?: string; [k: string]: unknown };
}

export function servingPort(c: V1Container | undefined): { port: number; h2c: boolean } {
  const p = c?.ports?.[0];
  return { port: p?.containerPort ?? 8080, h2c: p?.name === 'h2c' };
}

export const QUEUE_PROXY_IMAGE = 'knative/queue-proxy';
/** Where the stand-in reads registries-skipping-tag-resolving, as Knative does. */
export const CONFIG_DEPLOYMENT_PATH = '/api/v1/namespaces/knative-serving/configmaps/config-deployment';

export function revisionName(ks: KnativeService): string {
  return ks.spec?.template?.metadata?.name ?? `${ks.metadata!.name!}-${String(ks.metadata?.generation ?? 1).padStart(5, '0')}`;
}

export function revisionTimeouts(ks: KnativeService): { timeoutSeconds: number; responseStartTimeoutSeconds: number; idleTimeoutSeconds: number } {
  const t = ks.spec?.template?.spec ?? {};
  return {
    timeoutSeconds: t.timeoutSeconds ?? KNATIVE_DEFAULT_TIMEOUTS.timeoutSeconds,
    responseStartTimeoutSeconds: t.responseStartTimeoutSeconds ?? KNATIVE_DEFAULT_TIMEOUTS.responseStartTimeoutSeconds,
    idleTimeoutSeconds: t.idleTimeoutSeconds ?? KNATIVE_DEFAULT_TIMEOUTS.idleTimeoutSeconds,
  };
}

/**
 * Why Knative would not run this revision at all (its webhook's refusals and tag resolution), as
 * a condition message; undefined when it may run. Pure.
 */
export function revisionFailure(ks: KnativeService, skipTagResolving: readonly string[] = DEFAULT_SKIP_TAG_RESOLVING): string | undefined {
  const spec = ks.spec?.template?.spec ?? {};
  for (const [i, c] of (spec.containers ?? []).entries()) {
    for (const p of c.ports ?? []) {
      if (isReservedPort(p.containerPort)) return `spec.template.spec.containers[${i}].ports.containerPort: port ${p.containerPort} is reserved (queue-proxy holds ${RESERVED_PORTS.join(', ')})`;
    }
  }
  for (const k of ['timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const) {
    const v = spec[k];
    if (v !== undefined && (v < 0 || v > KNATIVE_MAX_REVISION_TIMEOUT_SECONDS)) return `expected 0 <= ${v} <= ${KNATIVE_MAX_REVISION_TIMEOUT_SECONDS}: spec.template.spec.${k}`;
  }
  for (const c of spec.containers ?? []) {
    if (c.image && needsTagResolution(c.image, skipTagResolving)) {
      return `Unable to fetch image "${c.image}": failed to resolve image to digest: its registry is not reachable from the dev cluster (it has none); use a kind.local/, ko.local/ or dev.local/ image, a digest, or list the registry in knative-serving/config-deployment registries-skipping-tag-resolving (now: ${skipTagResolving.join(', ')})`;
    }
  }
  return undefined;
}

/** A user container of the revision's pod that exited (what Knative reports as the revision's failure). */
export function containerFailure(pods: V1Pod[]): string | undefined {
  for (const p of pods) {
    for (const cs of p.status?.containerStatuses ?? []) {
      const t = cs.state?.terminated ?? cs.lastState?.terminated;
      if (!cs.ready && t && (t.exitCode ?? 0) !== 0) {
        // the termination message is the log's tail (FallbackToLogsOnError): its error line says
        // most. A thrown error's own line ("Error: listen EADDRINUSE …", an errno code) comes
        // first, before lines that only mention errors (node's "throw er; // Unhandled 'error'
        // event" stands above the error it threw).
        const lines = (t.message ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
        const text =
          lines.find((l) => /^[A-Za-z]*Error: |\bE[A-Z]{3,}\b/.test(l)) ??
          lines.find((l) => /error|cannot|refused/i.test(l)) ??
          (lines.slice(-3).join(' ') || t.reason || `exit code ${t.exitCode}`);
        return `Container failed with: ${text} (container ${cs.name}, exit code ${t.exitCode})`;
      }
    }
  }
  return undefined;
}

export function knativeChildren(ks: KnativeService): { deployment: Record<string, unknown>; service: Record<string, unknown>; revision: string } {
  const name = ks.metadata!.name!;
  const ns = ks.metadata!.namespace!;
  const revision = revisionName(ks);
  const tspec = structuredClone(ks.spec?.template?.spec ?? {}) as { containers?: V1Container[]; [k: string]: unknown };
  for (const k of ['timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds', 'containerConcurrency']) delete tspec[k];
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
    c.terminationMessagePolicy ??= 'FallbackToLogsOnError'; // Knative's default for the user container
    const t = revisionTimeouts(ks);
    containers.push({
      name: 'queue-proxy',
      image: QUEUE_PROXY_IMAGE,
      env: [
        { name: 'USER_PORT', value: String(port) },
        { name: 'SERVING_PROTOCOL', value: h2c ? 'h2c' : 'http1' },
        { name: 'TIMEOUT_SECONDS', value: String(t.timeoutSeconds) },
        { name: 'RESPONSE_START_TIMEOUT_SECONDS', value: String(t.responseStartTimeoutSeconds) },
        { name: 'IDLE_TIMEOUT_SECONDS', value: String(t.idleTimeoutSeconds) },
      ],
      ports: [{ name: 'http-queueadm', containerPort: QUEUE_PROXY_PORTS.admin, protocol: 'TCP' }, { name: 'queue-port', containerPort: QUEUE_PROXY_PORTS.http, protocol: 'TCP' }],
      readinessProbe: { tcpSocket: { port: QUEUE_PROXY_PORTS.http }, periodSeconds: 1, initialDelaySeconds: 0 } as unknown as V1Container['readinessProbe'],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    });
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
        // port 80, to queue-proxy: Knative's front door
        ports: [{ name: h2c ? 'http2' : 'http', port: 80, targetPort: QUEUE_PROXY_PORTS.http, protocol: 'TCP', ...(h2c ? { appProtocol: 'kubernetes.io/h2c' } : {}) }],
      },
    },
  };
}

async function skipList(ctx: ControllerContext): Promise<readonly string[]> {
  try {
    const cm = await ctx.kube.get<{ data?: Record<string, string> }>(CONFIG_DEPLOYMENT_PATH);
    const raw = cm?.data?.['registries-skipping-tag-resolving'];
    if (raw !== undefined) return raw.split(',').map((r) => r.trim()).filter(Boolean);
  } catch (e) {
    if (!(e instanceof KubeError && e.code === 404)) throw e;
  }
  return DEFAULT_SKIP_TAG_RESOLVING;
}

export async function reconcileKnative(ctx: ControllerContext, ksvcs: { get(name: string, ns?: string): KnativeService | undefined }, key: string): Promise<void> {
  const [ns, name] = splitKey(key);
  const ks = ksvcs.get(name, ns);
  if (!ks || ks.metadata?.deletionTimestamp) return;
  const revision = revisionName(ks);
  const url = `http://${name}.${ns}.svc.cluster.local`;
  const now = isoNow(ctx.clock);
  const writeStatus = async (ready: boolean, failure: string | undefined) => {
    let conditions = ks.status?.conditions;
    for (const type of ['ConfigurationsReady', 'RoutesReady', 'Ready']) {
      const c: Condition = failure && type !== 'RoutesReady'
        ? { type, status: 'False', reason: 'RevisionFailed', message: `Revision "${revision}" failed with message: ${failure}.` }
        : ready
          ? { type, status: 'True' }
          : { type, status: 'Unknown', reason: 'Deploying', message: 'waiting for the pod to become ready' };
      conditions = setCondition(conditions, c, now);
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
    const sig = (cs: Condition[] | undefined) => JSON.stringify((cs ?? []).map((c) => [c.type, c.status, c.reason, c.message]));
    if (prev.url !== url || prev.observedGeneration !== status.observedGeneration || sig(prev.conditions) !== sig(conditions)) {
      await ctx.kube.mergePatch(apiPath(KSVC_API, 'services', ns, name, 'status'), { status });
    }
  };
  const refused = revisionFailure(ks, await skipList(ctx));
  if (refused) {
    await writeStatus(false, refused);
    return;
  }
  const { deployment, service } = knativeChildren(ks);
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
  } else if (svc.metadata?.ownerReferences?.some((r) => r.uid === ks.metadata?.uid) && svc.spec?.ports?.[0]?.targetPort !== QUEUE_PROXY_PORTS.http) {
    await ctx.kube.mergePatch(apiPath('v1', 'services', ns, name), { spec: { ports: (service.spec as V1Service['spec'])!.ports } });
  }
  const pods = ctx.pods.list(ns).filter((p) => p.metadata?.labels?.['serving.knative.dev/revision'] === revision && !p.metadata?.deletionTimestamp);
  // a Service of that name that is someone else's (e.g. on its way out): not routed yet
  const routed = !!svc && !svc.metadata?.deletionTimestamp && !!svc.metadata?.ownerReferences?.some((r) => r.uid === ks.metadata?.uid);
  const ready = (existing?.status?.readyReplicas ?? 0) >= 1 && routed;
  await writeStatus(ready, ready ? undefined : containerFailure(pods));
}
