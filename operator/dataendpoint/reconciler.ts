// The SnoopyDataEndpoint reconciler's edges: asks plan.ts what the endpoint needs, reads each
// object's live copy and applies the plan's decision for it, then writes the status and Events
// the plan settles on. The workload lives in the endpoint's own namespace (a secretKeyRef and
// the storage credentials cannot cross namespaces); outside the operator's namespace that needs
// the opt-in RoleBinding of ClusterRole snoopy-operator-endpoint-workloads
// (infra/rbac/operator-endpoint-cluster-role.yaml); a 403 becomes a Forbidden condition saying
// so. An object of the collector's name that the endpoint does not own is never adopted or
// changed: the endpoint reports NameInUse instead.
import type { V1Deployment, V1Secret, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import type { OperatorConfig } from '../config.js';
import type { SnoopyDataEndpoint } from '../../lib/api/schema.js';
import { DATAENDPOINTS, DEPLOYMENTS, KSERVICES, MERGE_PATCH, createObject, deleteObject, errorText, getObject, isConflict, isNotFound, patchObject, patchStatus, statusCode, type GroupResource, type Kube } from '../../lib/kube/client.js';
import type { ResilientCache } from '../kube/informer.js';
import type { EventRecorder } from '../kube/recorder.js';
import type { KnativeService } from '../render/collector.js';
import { KNATIVE_CHECK_MS, applyAction, nameInUseMessage, planEndpoint, removable, tokenKeyAction, type DesiredObject, type EndpointSettlement, type TokenKeyCopy, type WorkloadKind } from './plan.js';

export { ENDPOINT_WORKLOADS_ROLE } from './plan.js';

export interface DataEndpointDeps {
  kube: Kube;
  config: OperatorConfig;
  logger: Logger;
  recorder: EventRecorder;
  cache: ResilientCache<SnoopyDataEndpoint>;
  tokenKey: () => string;
}

/** An object of the collector's name exists and the endpoint does not own it. */
export class NameInUseError extends Error {
  override name = 'NameInUseError';
}

type Live = KnativeService | V1Deployment;

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
    if (!de || de.metadata.deletionTimestamp) return;
    const plan = planEndpoint(de, { config: this.d.config, tokenKey: this.d.tokenKey(), knativeServed: await this.knativeServed(), now: new Date() });
    switch (plan.kind) {
      case 'none':
        return;
      case 'status':
        return this.settle(de, plan.settle());
      case 'workload': {
        let live: Live | undefined;
        try {
          if (plan.tokenKeyCopy) await this.applyTokenKeyCopy(plan.tokenKeyCopy, de);
          for (const o of plan.apply) {
            const result = await this.applyObject(o, de);
            live ??= result;
          }
          for (const r of plan.remove) await this.removeOwned(r.kind, namespace, r.name, de);
        } catch (err) {
          const forbidden = statusCode(err) === 403;
          if (!(err instanceof NameInUseError) && !forbidden) throw err;
          return this.settle(de, plan.settle(forbidden ? { forbidden: errorText(err) } : { nameInUse: (err as Error).message }));
        }
        return this.settle(de, plan.settle({ live: live! }));
      }
    }
  }

  private async settle(de: SnoopyDataEndpoint, s: EndpointSettlement): Promise<{ requeueAfterMs?: number } | void> {
    for (const e of s.events) this.d.recorder.emit(de, e.type, e.reason, e.message);
    if (s.status) await patchStatus(this.d.kube, DATAENDPOINTS, de.metadata.namespace, de.metadata.name, s.status);
    return s.requeueAfterMs !== undefined ? { requeueAfterMs: s.requeueAfterMs } : undefined;
  }

  /** Creates, patches or keeps one object as plan.ts decides from its live copy; returns the live object. */
  private async applyObject(o: DesiredObject, de: SnoopyDataEndpoint): Promise<Live | undefined> {
    if (o.kind === 'service') {
      await this.applyService(o.object, de);
      return undefined;
    }
    const r = o.kind === 'kservice' ? KSERVICES : DEPLOYMENTS;
    const obj = o.object as Live & { apiVersion: string; kind: string };
    const ns = obj.metadata!.namespace!;
    const name = obj.metadata!.name!;
    const live = await getObject<Live & { apiVersion: string; kind: string }>(this.d.kube, r, ns, name);
    switch (applyAction(live, obj, de)) {
      case 'nameInUse':
        throw new NameInUseError(nameInUseMessage(o.kind, ns, name));
      case 'keep':
        return live;
      case 'patch':
        return (await patchObject(this.d.kube, r, ns, name, { metadata: obj.metadata, spec: obj.spec })) as Live;
      case 'create':
        try {
          return (await createObject(this.d.kube, r, ns, obj)) as Live;
        } catch (err) {
          if (!isConflict(err)) throw err;
          const raced = await getObject<Live & { apiVersion: string; kind: string }>(this.d.kube, r, ns, name);
          if (!raced || applyAction(raced, obj, de) === 'nameInUse') throw new NameInUseError(nameInUseMessage(o.kind, ns, name));
          return raced;
        }
    }
  }

  private async applyService(svc: V1Service, de: SnoopyDataEndpoint): Promise<void> {
    const { core } = this.d.kube;
    const ns = svc.metadata!.namespace!;
    const name = svc.metadata!.name!;
    let live: V1Service | undefined;
    try {
      live = await core.readNamespacedService({ namespace: ns, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    switch (applyAction(live, svc, de)) {
      case 'nameInUse':
        throw new NameInUseError(nameInUseMessage('service', ns, name));
      case 'keep':
        return;
      case 'patch':
        await core.patchNamespacedService({ namespace: ns, name, body: { metadata: svc.metadata, spec: svc.spec } }, MERGE_PATCH);
        return;
      case 'create':
        try {
          await core.createNamespacedService({ namespace: ns, body: svc });
        } catch (e) {
          if (!isConflict(e)) throw e;
          if (applyAction(await core.readNamespacedService({ namespace: ns, name }), svc, de) === 'nameInUse') throw new NameInUseError(nameInUseMessage('service', ns, name));
        }
    }
  }

  private async removeOwned(kind: WorkloadKind, ns: string, name: string, de: SnoopyDataEndpoint): Promise<void> {
    if (kind === 'service') {
      try {
        const live = await this.d.kube.core.readNamespacedService({ namespace: ns, name });
        if (removable(live, de)) await this.d.kube.core.deleteNamespacedService({ namespace: ns, name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    const r: GroupResource = kind === 'kservice' ? KSERVICES : DEPLOYMENTS;
    const live = await getObject<V1Deployment>(this.d.kube, r, ns, name);
    if (removable(live, de)) await deleteObject(this.d.kube, r, ns, name);
  }

  private async applyTokenKeyCopy(copy: TokenKeyCopy, de: SnoopyDataEndpoint): Promise<void> {
    const { core } = this.d.kube;
    let live: V1Secret | undefined;
    try {
      live = await core.readNamespacedSecret({ namespace: copy.namespace, name: copy.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    switch (tokenKeyAction(live, copy, de)) {
      case 'nameInUse':
        throw new NameInUseError(nameInUseMessage('secret', copy.namespace, copy.name));
      case 'keep':
        return;
      case 'patch':
        await core.patchNamespacedSecret({ namespace: copy.namespace, name: copy.name, body: { data: copy.data } }, MERGE_PATCH);
        return;
      case 'create':
        await core.createNamespacedSecret({ namespace: copy.namespace, body: copy.create }).catch((e: unknown) => {
          if (!isConflict(e)) throw e;
        });
    }
  }
}
