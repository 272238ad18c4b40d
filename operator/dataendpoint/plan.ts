// What the SnoopyDataEndpoint reconciler decides, as pure functions: the mode, the objects the
// collector needs (the token key copy, a Knative Service or a Deployment + Service) and those of
// the other mode to remove, what to do with each object given its live copy (create, keep,
// patch, or leave alone because the endpoint does not own it), and the status and Events once
// the workload was applied or refused. reconciler.ts reads the live objects and applies.
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config.js';
import type { SnoopyDataEndpoint, SnoopyDataEndpointStatus } from '../../lib/api/schema.js';
import { Annotations } from '../../lib/api/names.js';
import { collectorAddress, collectorServiceName, ownerReference, renderCollectorDeployment, renderKnativeService, type KnativeService } from '../render/collector.js';
import { jsonEqual, setCondition } from '../snoopyjob/status.js';
import { TOKEN_KEY_FIELD, TOKEN_KEY_SECRET } from '../tokens.js';

/** How often Knative's presence is asked, and a refused endpoint looked at again. */
export const KNATIVE_CHECK_MS = 60_000;
/** A collector not ready yet is looked at again after this (no watch on the workloads). */
export const NOT_READY_RECHECK_MS = 3_000;
/** The ClusterRole an admin binds in a namespace to allow SnoopyDataEndpoints there (infra/rbac). */
export const ENDPOINT_WORKLOADS_ROLE = 'snoopy-operator-endpoint-workloads';

export type Mode = 'knative' | 'deployment';
export type WorkloadKind = 'kservice' | 'deployment' | 'service';

export interface EndpointContext {
  config: OperatorConfig;
  tokenKey: string;
  knativeServed: boolean;
  now: Date;
}

export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface EndpointSettlement {
  /** undefined: unchanged, nothing to write. */
  status?: SnoopyDataEndpointStatus;
  events: KubeEvent[];
  requeueAfterMs?: number;
}

/** The copy of the token key Secret an endpoint outside the operator namespace gets. */
export interface TokenKeyCopy {
  name: string;
  namespace: string;
  data: Record<string, string>;
  create: V1Secret;
}

export type DesiredObject = { kind: 'kservice'; object: KnativeService } | { kind: 'deployment'; object: V1Deployment } | { kind: 'service'; object: V1Service };

/** How applying the workload went: its live object, or a refusal. */
export type WorkloadResult = { live: KnativeService | V1Deployment } | { forbidden: string } | { nameInUse: string };

export type EndpointPlan =
  | { kind: 'none' }
  /** Only a status to write (e.g. Knative asked for but not served). */
  | { kind: 'status'; settle: () => EndpointSettlement }
  | {
      kind: 'workload';
      mode: Mode;
      tokenKeyCopy?: TokenKeyCopy;
      /** Created or patched in this order; the first one's live copy tells readiness. */
      apply: DesiredObject[];
      /** The other mode's objects: deleted when the endpoint owns them. */
      remove: { kind: WorkloadKind; name: string }[];
      settle(result: WorkloadResult): EndpointSettlement;
    };

const ownedBy = (o: { metadata?: object } | undefined, de: SnoopyDataEndpoint) =>
  !!(o?.metadata as { ownerReferences?: Array<{ uid?: string }> } | undefined)?.ownerReferences?.some((r) => r.uid === de.metadata.uid);

/** What to do with a desired object given its live copy. */
export function applyAction(live: { metadata?: { annotations?: Record<string, string> } } | undefined, desired: { metadata?: { annotations?: Record<string, string> } }, de: SnoopyDataEndpoint): 'create' | 'keep' | 'patch' | 'nameInUse' {
  if (!live) return 'create';
  if (!ownedBy(live, de)) return 'nameInUse';
  return live.metadata?.annotations?.[Annotations.templateHash] === desired.metadata?.annotations?.[Annotations.templateHash] ? 'keep' : 'patch';
}

/** Whether a live object of the other mode is the endpoint's to delete. */
export const removable = (live: { metadata?: object } | undefined, de: SnoopyDataEndpoint): boolean => ownedBy(live, de);

/** The token key copy's action given its live copy. */
export function tokenKeyAction(live: V1Secret | undefined, copy: TokenKeyCopy, de: SnoopyDataEndpoint): 'create' | 'keep' | 'patch' | 'nameInUse' {
  if (!live) return 'create';
  if (!ownedBy(live, de)) return 'nameInUse';
  return live.data?.[TOKEN_KEY_FIELD] === copy.data[TOKEN_KEY_FIELD] ? 'keep' : 'patch';
}

export function nameInUseMessage(kind: WorkloadKind | 'secret', ns: string, name: string): string {
  const what = kind === 'service' ? 'Service' : kind === 'secret' ? 'Secret' : kind === 'kservice' ? 'Knative Service' : 'Deployment';
  return `${what} ${ns}/${name} exists and was not created for this endpoint; it is left alone: set spec.serviceName to a free name, or remove that object`;
}

export function planEndpoint(de: SnoopyDataEndpoint | undefined, ctx: EndpointContext): EndpointPlan {
  if (!de || de.metadata.deletionTimestamp) return { kind: 'none' }; // owner references take the workload away
  const { config } = ctx;
  const namespace = de.metadata.namespace;
  const spec = de.spec ?? {};
  const nowIso = ctx.now.toISOString();
  const gen = de.metadata.generation !== undefined ? { observedGeneration: de.metadata.generation } : {};
  const start = (): SnoopyDataEndpointStatus => {
    const status = structuredClone(de.status ?? {});
    if (de.metadata.generation !== undefined) status.observedGeneration = de.metadata.generation;
    return status;
  };
  const changed = (status: SnoopyDataEndpointStatus) => (jsonEqual(de.status ?? {}, status) ? {} : { status });
  const want = spec.mode ?? 'auto';
  if (want === 'knative' && !ctx.knativeServed) {
    return {
      kind: 'status',
      settle: () => {
        const status = start();
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'KnativeNotServed', message: 'spec.mode is knative but serving.knative.dev/v1 is not served by this cluster', ...gen }, nowIso);
        return { ...changed(status), events: [], requeueAfterMs: KNATIVE_CHECK_MS };
      },
    };
  }
  const mode: Mode = want === 'deployment' ? 'deployment' : ctx.knativeServed ? 'knative' : 'deployment';

  // The collector verifies tokens with the operator's key; a secretKeyRef cannot cross
  // namespaces, so an endpoint outside the operator namespace gets its own copy (owned by it).
  let tokenKeySecret = TOKEN_KEY_SECRET;
  let tokenKeyCopy: TokenKeyCopy | undefined;
  if (namespace !== config.namespace) {
    tokenKeySecret = `${TOKEN_KEY_SECRET}-${de.metadata.name}`.slice(0, 253);
    const data = { [TOKEN_KEY_FIELD]: Buffer.from(ctx.tokenKey).toString('base64') };
    tokenKeyCopy = { name: tokenKeySecret, namespace, data, create: { metadata: { name: tokenKeySecret, namespace, ownerReferences: [ownerReference(de)] }, type: 'Opaque', data } };
  }
  const settings = { image: config.collectorImage, ...(config.sink ? { sink: config.sink } : {}), tokenKeySecret, tokenKeyField: TOKEN_KEY_FIELD };
  const svcName = collectorServiceName(de);
  let apply: DesiredObject[];
  let remove: { kind: WorkloadKind; name: string }[];
  if (mode === 'knative') {
    apply = [{ kind: 'kservice', object: renderKnativeService(de, settings) }];
    remove = [
      { kind: 'deployment', name: svcName },
      { kind: 'service', name: svcName },
    ];
  } else {
    const { deployment, service } = renderCollectorDeployment(de, settings);
    apply = [
      { kind: 'deployment', object: deployment },
      { kind: 'service', object: service },
    ];
    remove = ctx.knativeServed ? [{ kind: 'kservice', name: svcName }] : [];
  }

  return {
    kind: 'workload',
    mode,
    ...(tokenKeyCopy ? { tokenKeyCopy } : {}),
    apply,
    remove,
    settle(result) {
      const status = start();
      const wasReady = de.status?.conditions?.find((c) => c.type === 'Ready');
      if (!('live' in result)) {
        const forbidden = 'forbidden' in result;
        const message = forbidden
          ? `the operator may not manage the collector in namespace ${namespace} (${result.forbidden}); a cluster admin allows it with: kubectl create rolebinding snoopy-operator-endpoint -n ${namespace} --clusterrole=${ENDPOINT_WORKLOADS_ROLE} --serviceaccount=${config.namespace}:snoopy-operator`
          : result.nameInUse;
        const reason = forbidden ? 'Forbidden' : 'NameInUse';
        // no address to send captures to while the collector is not ours
        delete status.address;
        delete status.url;
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason, message, ...gen }, nowIso);
        return { ...changed(status), events: wasReady?.reason !== reason ? [{ type: 'Warning', reason, message }] : [], requeueAfterMs: KNATIVE_CHECK_MS };
      }
      let ready: boolean;
      let readyMessage: string;
      let url: string;
      if (mode === 'knative') {
        const ksStatus = (result.live as KnativeService).status;
        const cond = ksStatus?.conditions?.find((c) => c.type === 'Ready');
        ready = cond?.status === 'True';
        readyMessage = ready ? 'the collector Knative Service is ready' : `waiting for the collector Knative Service${cond?.message ? `: ${cond.message}` : ''}`;
        url = ksStatus?.url ?? `http://${svcName}.${namespace}.svc.cluster.local`;
      } else {
        const live = result.live as V1Deployment;
        const available = live.status?.availableReplicas ?? live.status?.readyReplicas ?? 0;
        ready = available > 0;
        readyMessage = ready ? `${available} collector replica(s) available` : 'waiting for a collector replica to become available';
        url = `http://${svcName}.${namespace}.svc.cluster.local:${spec.servicePort ?? 8080}`;
      }
      status.mode = mode;
      status.address = collectorAddress(de, mode);
      status.url = url;
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'CollectorReady' : 'CollectorNotReady', message: readyMessage, ...gen }, nowIso);
      const events: KubeEvent[] = ready && wasReady?.status !== 'True' ? [{ type: 'Normal', reason: 'CollectorReady', message: `${readyMessage} at ${status.address} (${mode})` }] : [];
      // no watch on the workloads: look again until ready, then at resync
      return { ...changed(status), events, ...(ready ? {} : { requeueAfterMs: NOT_READY_RECHECK_MS }) };
    },
  };
}
