// The SnoopyDataEndpoint reconciler: keeps the collector workload (Knative Service when Knative
// serves its API and the mode allows, else Deployment + Service) as rendered, removes the other
// mode's objects, and reports address, url, mode and readiness. The workload lives in the
// endpoint's own namespace (a secretKeyRef and the storage credentials cannot cross namespaces);
// outside the operator's namespace that needs the opt-in RoleBinding of ClusterRole
// snoopy-operator-endpoint-workloads (infra/rbac/operator-endpoint-cluster-role.yaml); a 403
// becomes a Forbidden condition saying so. An object of the collector's name that the
// endpoint does not own is never adopted or changed: the endpoint reports NameInUse instead.
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import type { OperatorConfig } from '../config.js';
import type { SnoopyDataEndpoint, SnoopyDataEndpointStatus } from '../../lib/api/schema.js';
import { DATAENDPOINTS, DEPLOYMENTS, KSERVICES, MERGE_PATCH, createObject, deleteObject, errorText, getObject, isConflict, isNotFound, patchObject, patchStatus, statusCode, type Kube } from '../../lib/kube/client.js';
import type { ResilientCache } from '../kube/informer.js';
import type { EventRecorder } from '../kube/recorder.js';
import { collectorAddress, collectorServiceName, ownerReference, renderCollectorDeployment, renderKnativeService, type KnativeService } from '../render/collector.js';
import { Annotations } from '../../lib/api/names.js';
import { jsonEqual, setCondition } from '../snoopyjob/status.js';
import { TOKEN_KEY_FIELD, TOKEN_KEY_SECRET } from '../tokens.js';

export interface DataEndpointDeps {
  kube: Kube;
  config: OperatorConfig;
  logger: Logger;
  recorder: EventRecorder;
  cache: ResilientCache<SnoopyDataEndpoint>;
  tokenKey: () => string;
}

const KNATIVE_CHECK_MS = 60_000;
/** The ClusterRole an admin binds in a namespace to allow SnoopyDataEndpoints there (infra/rbac). */
export const ENDPOINT_WORKLOADS_ROLE = 'snoopy-operator-endpoint-workloads';

/** An object of the collector's name exists and the endpoint does not own it. */
export class NameInUseError extends Error {
  override name = 'NameInUseError';
}

const ownedBy = (o: { metadata?: object } | undefined, de: SnoopyDataEndpoint) =>
  !!(o?.metadata as { ownerReferences?: Array<{ uid?: string }> } | undefined)?.ownerReferences?.some((r) => r.uid === de.metadata.uid);

function kindName(r: typeof DEPLOYMENTS | 'services' | 'secrets'): string {
  if (r === 'services') return 'Service';
  if (r === 'secrets') return 'Secret';
  return r === KSERVICES ? 'Knative Service' : 'Deployment';
}

export class DataEndpointReconciler {
  private knative: { served: boolean; at: number } | undefined;

  constructor(private readonly d: DataEndpointDeps) {}

  /** Whether serving.knative.dev/v1 is served (asked at most once a minute). */
  async knativeServed(): Promise<boolean> {
    if (this.knative && Date.now() - this.knative.at < KNATIVE_CHECK_MS) return this.knative.served;
    const groups = await this.d.kube.apis.getAPIVersions();
    const served = (groups.groups ?? []).some((g) => g.name === 'serving.knative.dev' && g.versions.some((v) => v.version === 'v1'));
    this.knative = { served, at: Date.now() };
    return served;
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const de = this.d.cache.get(name, namespace);
    if (!de || de.metadata.deletionTimestamp) return; // owner references take the workload away
    const spec = de.spec ?? {};
    const nowIso = new Date().toISOString();
    const gen = de.metadata.generation !== undefined ? { observedGeneration: de.metadata.generation } : {};
    const status: SnoopyDataEndpointStatus = structuredClone(de.status ?? {});
    if (de.metadata.generation !== undefined) status.observedGeneration = de.metadata.generation;
    const want = spec.mode ?? 'auto';
    const served = await this.knativeServed();
    if (want === 'knative' && !served) {
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'KnativeNotServed', message: 'spec.mode is knative but serving.knative.dev/v1 is not served by this cluster', ...gen }, nowIso);
      await this.writeStatus(de, status);
      return { requeueAfterMs: KNATIVE_CHECK_MS };
    }
    const mode: 'knative' | 'deployment' = want === 'deployment' ? 'deployment' : served ? 'knative' : 'deployment';
    try {
      return await this.reconcileWorkload(de, status, mode, nowIso);
    } catch (err) {
      const forbidden = statusCode(err) === 403;
      if (!(err instanceof NameInUseError) && !forbidden) throw err;
      const message = forbidden
        ? `the operator may not manage the collector in namespace ${namespace} (${errorText(err)}); a cluster admin allows it with: kubectl create rolebinding snoopy-operator-endpoint -n ${namespace} --clusterrole=${ENDPOINT_WORKLOADS_ROLE} --serviceaccount=${this.d.config.namespace}:snoopy-operator`
        : (err as Error).message;
      const reason = forbidden ? 'Forbidden' : 'NameInUse';
      // no address to send captures to while the collector is not ours
      delete status.address;
      delete status.url;
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason, message, ...gen }, nowIso);
      const was = de.status?.conditions?.find((c) => c.type === 'Ready');
      if (was?.reason !== reason) this.d.recorder.emit(de, 'Warning', reason, message);
      await this.writeStatus(de, status);
      return { requeueAfterMs: KNATIVE_CHECK_MS };
    }
  }

  private async reconcileWorkload(de: SnoopyDataEndpoint, status: SnoopyDataEndpointStatus, mode: 'knative' | 'deployment', nowIso: string): Promise<{ requeueAfterMs?: number } | void> {
    const namespace = de.metadata.namespace;
    const spec = de.spec ?? {};
    const gen = de.metadata.generation !== undefined ? { observedGeneration: de.metadata.generation } : {};
    const tokenKeySecret = await this.ensureTokenKeyIn(de);
    const settings = { image: this.d.config.collectorImage, ...(this.d.config.sink ? { sink: this.d.config.sink } : {}), tokenKeySecret, tokenKeyField: TOKEN_KEY_FIELD };
    const svcName = collectorServiceName(de);
    let ready: boolean;
    let readyMessage: string;
    let url: string | undefined;
    if (mode === 'knative') {
      const ksvc = renderKnativeService(de, settings);
      const live = await this.apply(KSERVICES, ksvc, de);
      await this.removeOwned(DEPLOYMENTS, namespace, svcName, de);
      await this.removeOwnedService(namespace, svcName, de);
      const ksStatus = (live as KnativeService).status;
      const cond = ksStatus?.conditions?.find((c) => c.type === 'Ready');
      ready = cond?.status === 'True';
      readyMessage = ready ? 'the collector Knative Service is ready' : `waiting for the collector Knative Service${cond?.message ? `: ${cond.message}` : ''}`;
      url = ksStatus?.url ?? `http://${svcName}.${namespace}.svc.cluster.local`;
    } else {
      const { deployment, service } = renderCollectorDeployment(de, settings);
      const live = (await this.apply(DEPLOYMENTS, deployment, de)) as V1Deployment;
      await this.applyService(service, de);
      await this.removeOwned(KSERVICES, namespace, svcName, de);
      const available = live.status?.availableReplicas ?? live.status?.readyReplicas ?? 0;
      ready = available > 0;
      readyMessage = ready ? `${available} collector replica(s) available` : 'waiting for a collector replica to become available';
      url = `http://${svcName}.${namespace}.svc.cluster.local:${spec.servicePort ?? 8080}`;
    }
    status.mode = mode;
    status.address = collectorAddress(de, mode);
    status.url = url;
    status.conditions = setCondition(status.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'CollectorReady' : 'CollectorNotReady', message: readyMessage, ...gen }, nowIso);
    const wasReady = de.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (ready && !wasReady) this.d.recorder.emit(de, 'Normal', 'CollectorReady', `${readyMessage} at ${status.address} (${mode})`);
    await this.writeStatus(de, status);
    // no watch on the workloads: look again until ready, then at resync
    return ready ? undefined : { requeueAfterMs: 3_000 };
  }

  /**
   * Creates, or merge-patches when the rendered template changed; returns the live object. A live
   * object the endpoint does not own is left alone (NameInUseError).
   */
  private async apply<T extends { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> }; spec?: unknown }>(
    r: typeof DEPLOYMENTS,
    obj: T,
    de: SnoopyDataEndpoint,
  ): Promise<T> {
    const ns = obj.metadata!.namespace!;
    const name = obj.metadata!.name!;
    const live = await getObject<T & { apiVersion: string; kind: string }>(this.d.kube, r, ns, name);
    if (!live) {
      try {
        return (await createObject(this.d.kube, r, ns, obj as T & { apiVersion: string; kind: string })) as T;
      } catch (err) {
        if (!isConflict(err)) throw err;
        const raced = await getObject<T & { apiVersion: string; kind: string }>(this.d.kube, r, ns, name);
        if (!ownedBy(raced, de)) throw nameInUse(r, ns, name);
        return raced as T;
      }
    }
    if (!ownedBy(live, de)) throw nameInUse(r, ns, name);
    if (live.metadata?.annotations?.[Annotations.templateHash] === obj.metadata!.annotations![Annotations.templateHash]) return live;
    return (await patchObject(this.d.kube, r, ns, name, { metadata: obj.metadata, spec: obj.spec })) as T;
  }

  private async applyService(svc: ReturnType<typeof renderCollectorDeployment>['service'], de: SnoopyDataEndpoint): Promise<void> {
    const { core } = this.d.kube;
    const ns = svc.metadata!.namespace!;
    const name = svc.metadata!.name!;
    try {
      const live = await core.readNamespacedService({ namespace: ns, name });
      if (!ownedBy(live, de)) throw nameInUse('services', ns, name);
      if (live.metadata?.annotations?.[Annotations.templateHash] === svc.metadata!.annotations![Annotations.templateHash]) return;
      await core.patchNamespacedService({ namespace: ns, name, body: { metadata: svc.metadata, spec: svc.spec } }, MERGE_PATCH);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await core.createNamespacedService({ namespace: ns, body: svc });
      } catch (e) {
        if (!isConflict(e)) throw e;
        if (!ownedBy(await core.readNamespacedService({ namespace: ns, name }), de)) throw nameInUse('services', ns, name);
      }
    }
  }

  private async removeOwned(r: typeof DEPLOYMENTS, ns: string, name: string, de: SnoopyDataEndpoint): Promise<void> {
    if (r === KSERVICES && !(await this.knativeServed())) return;
    const live = await getObject<V1Deployment>(this.d.kube, r, ns, name);
    if (live?.metadata?.ownerReferences?.some((o) => o.uid === de.metadata.uid)) await deleteObject(this.d.kube, r, ns, name);
  }

  private async removeOwnedService(ns: string, name: string, de: SnoopyDataEndpoint): Promise<void> {
    try {
      const live = await this.d.kube.core.readNamespacedService({ namespace: ns, name });
      if (live.metadata?.ownerReferences?.some((o) => o.uid === de.metadata.uid)) await this.d.kube.core.deleteNamespacedService({ namespace: ns, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * The collector verifies tokens with the operator's key; a secretKeyRef cannot cross
   * namespaces, so an endpoint outside the operator namespace gets its own copy (owned by it).
   */
  private async ensureTokenKeyIn(de: SnoopyDataEndpoint): Promise<string> {
    const ns = de.metadata.namespace;
    if (ns === this.d.config.namespace) return TOKEN_KEY_SECRET;
    const name = `${TOKEN_KEY_SECRET}-${de.metadata.name}`.slice(0, 253);
    const data = { [TOKEN_KEY_FIELD]: Buffer.from(this.d.tokenKey()).toString('base64') };
    try {
      const live = await this.d.kube.core.readNamespacedSecret({ namespace: ns, name });
      if (!ownedBy(live, de)) throw nameInUse('secrets', ns, name);
      if (live.data?.[TOKEN_KEY_FIELD] !== data[TOKEN_KEY_FIELD]) await this.d.kube.core.patchNamespacedSecret({ namespace: ns, name, body: { data } }, MERGE_PATCH);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body: V1Secret = { metadata: { name, namespace: ns, ownerReferences: [ownerReference(de)] }, type: 'Opaque', data };
      await this.d.kube.core.createNamespacedSecret({ namespace: ns, body }).catch((e: unknown) => {
        if (!isConflict(e)) throw e;
      });
    }
    return name;
  }

  private async writeStatus(de: SnoopyDataEndpoint, status: SnoopyDataEndpointStatus): Promise<void> {
    if (jsonEqual(de.status ?? {}, status)) return;
    await patchStatus(this.d.kube, DATAENDPOINTS, de.metadata.namespace, de.metadata.name, status);
  }
}

function nameInUse(r: typeof DEPLOYMENTS | 'services' | 'secrets', ns: string, name: string): NameInUseError {
  return new NameInUseError(`${kindName(r)} ${ns}/${name} exists and was not created for this endpoint; it is left alone: set spec.serviceName to a free name, or remove that object`);
}
