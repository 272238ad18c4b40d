// The SnoopyDataEndpoint plan as a table of cases, without a server: the endpoint, whether
// Knative is served, how applying the workload went → objects, status, Events.
import { describe, expect, test } from '@jest/globals';
import type { V1Deployment } from '@kubernetes/client-node';
import { loadConfig } from '../config.js';
import type { SnoopyDataEndpoint } from '../../lib/api/schema.js';
import { Annotations } from '../../lib/api/names.js';
import { applyAction, planEndpoint, tokenKeyAction, type EndpointContext, type EndpointPlan, type EndpointSettlement, type WorkloadResult } from '../dataendpoint/plan.js';
import type { KnativeService } from '../render/collector.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');
const config = loadConfig({}, 'host');
const ctx = (knativeServed: boolean): EndpointContext => ({ config, tokenKey: 'the-key', knativeServed, now: NOW });

function endpoint(over: { spec?: Record<string, unknown>; namespace?: string; deleting?: boolean; ready?: { status: 'True' | 'False'; reason: string } } = {}): SnoopyDataEndpoint {
  return {
    apiVersion: 'data.fennecproject.io/v1alpha1',
    kind: 'SnoopyDataEndpoint',
    metadata: { name: 'de', namespace: over.namespace ?? 'snoopy-operator', uid: 'de-uid', generation: 2, ...(over.deleting ? { deletionTimestamp: NOW.toISOString() } : {}) },
    spec: { ...(over.spec ?? {}) },
    ...(over.ready ? { status: { conditions: [{ type: 'Ready', ...over.ready, message: 'before', lastTransitionTime: '2026-01-01T00:00:00Z' }] } } : {}),
  } as SnoopyDataEndpoint;
}

const workload = (plan: EndpointPlan) => {
  if (plan.kind !== 'workload') throw new Error(`expected a workload plan, got ${plan.kind}`);
  return plan;
};
const readyKsvc: KnativeService = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'de-collector' }, status: { url: 'http://de-collector.snoopy-operator.example', conditions: [{ type: 'Ready', status: 'True' }] } } as KnativeService;
const unavailable: V1Deployment = { metadata: { name: 'de-collector' }, status: { availableReplicas: 0 } };
const ready = (s: EndpointSettlement) => s.status?.conditions?.find((c) => c.type === 'Ready');

interface Case {
  name: string;
  de: SnoopyDataEndpoint;
  knative: boolean;
  result?: WorkloadResult;
  check: (plan: EndpointPlan, s: EndpointSettlement | undefined) => void;
}

const cases: Case[] = [
  { name: 'being deleted: nothing (owner references take the workload)', de: endpoint({ deleting: true }), knative: true, check: (plan) => expect(plan).toEqual({ kind: 'none' }) },
  {
    name: 'mode knative without Knative: KnativeNotServed, looked at again in a minute',
    de: endpoint({ spec: { mode: 'knative' } }),
    knative: false,
    check: (plan, s) => {
      expect(plan.kind).toBe('status');
      expect(ready(s!)).toMatchObject({ status: 'False', reason: 'KnativeNotServed', observedGeneration: 2 });
      expect(s!.requeueAfterMs).toBe(60_000);
    },
  },
  {
    name: 'auto with Knative: a Knative Service; Deployment and Service of the other mode removed; ready once it is',
    de: endpoint(),
    knative: true,
    result: { live: readyKsvc },
    check: (plan, s) => {
      const w = workload(plan);
      expect([w.mode, w.apply.map((a) => a.kind), w.remove]).toEqual(['knative', ['kservice'], [{ kind: 'deployment', name: 'de-collector' }, { kind: 'service', name: 'de-collector' }]]);
      expect(w.tokenKeyCopy).toBeUndefined();
      expect(s!.status).toMatchObject({ mode: 'knative', address: 'de-collector.snoopy-operator.svc.cluster.local:80', url: 'http://de-collector.snoopy-operator.example' });
      expect(ready(s!)).toMatchObject({ status: 'True', reason: 'CollectorReady' });
      expect(s!.events.map((e) => e.reason)).toEqual(['CollectorReady']);
      expect(s!.requeueAfterMs).toBeUndefined();
    },
  },
  {
    name: 'already ready before: no second CollectorReady',
    de: endpoint({ ready: { status: 'True', reason: 'CollectorReady' } }),
    knative: true,
    result: { live: readyKsvc },
    check: (_plan, s) => expect(s!.events).toEqual([]),
  },
  {
    name: 'auto without Knative: Deployment + Service, nothing to remove; not ready yet → looked at again soon',
    de: endpoint({ spec: { servicePort: 9000 } }),
    knative: false,
    result: { live: unavailable },
    check: (plan, s) => {
      const w = workload(plan);
      expect([w.mode, w.apply.map((a) => a.kind), w.remove]).toEqual(['deployment', ['deployment', 'service'], []]);
      expect(s!.status).toMatchObject({ mode: 'deployment', address: 'de-collector.snoopy-operator.svc.cluster.local:9000', url: 'http://de-collector.snoopy-operator.svc.cluster.local:9000' });
      expect(ready(s!)).toMatchObject({ status: 'False', reason: 'CollectorNotReady' });
      expect(s!.requeueAfterMs).toBe(3_000);
    },
  },
  {
    name: 'mode deployment with Knative served: its Knative Service is removed',
    de: endpoint({ spec: { mode: 'deployment' } }),
    knative: true,
    check: (plan) => expect(workload(plan).remove).toEqual([{ kind: 'kservice', name: 'de-collector' }]),
  },
  {
    name: 'outside the operator namespace: an owned copy of the token key, which the collector reads',
    de: endpoint({ namespace: 'team-a' }),
    knative: false,
    check: (plan) => {
      const w = workload(plan);
      expect(w.tokenKeyCopy).toMatchObject({ name: 'snoopy-token-key-de', namespace: 'team-a', data: { key: Buffer.from('the-key').toString('base64') } });
      expect(w.tokenKeyCopy!.create.metadata!.ownerReferences).toEqual([expect.objectContaining({ uid: 'de-uid', kind: 'SnoopyDataEndpoint' })]);
      const env = (w.apply[0]!.object as V1Deployment).spec!.template.spec!.containers[0]!.env!;
      expect(env.find((e) => e.name === 'SNOOPY_TOKEN_KEY')?.valueFrom?.secretKeyRef?.name).toBe('snoopy-token-key-de');
    },
  },
  {
    name: 'forbidden in that namespace: Forbidden with the RoleBinding to create, no address, a Warning',
    de: { ...endpoint({ namespace: 'team-a' }), status: { address: 'old:80', url: 'http://old' } },
    knative: false,
    result: { forbidden: 'HTTP 403: no' },
    check: (_plan, s) => {
      expect(s!.status!.address).toBeUndefined();
      expect(s!.status!.url).toBeUndefined();
      expect(ready(s!)).toMatchObject({ status: 'False', reason: 'Forbidden', message: expect.stringContaining('kubectl create rolebinding snoopy-operator-endpoint -n team-a --clusterrole=snoopy-operator-endpoint-workloads') });
      expect(s!.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'Forbidden']]);
      expect(s!.requeueAfterMs).toBe(60_000);
    },
  },
  {
    name: 'name in use, already reported: the condition stays, no second Warning',
    de: endpoint({ ready: { status: 'False', reason: 'NameInUse' } }),
    knative: false,
    result: { nameInUse: 'Deployment x exists' },
    check: (_plan, s) => {
      expect(ready(s!)).toMatchObject({ reason: 'NameInUse', message: 'Deployment x exists' });
      expect(s!.events).toEqual([]);
    },
  },
];

describe('SnoopyDataEndpoint plan', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const plan = planEndpoint(c.de, ctx(c.knative));
    const s = plan.kind === 'status' ? plan.settle() : plan.kind === 'workload' && c.result ? plan.settle(c.result) : undefined;
    c.check(plan, s);
  });

  test('each object: created when missing, kept when its template is the same, patched when not, never taken over', () => {
    const de = endpoint();
    const mine = (hash: string) => ({ metadata: { annotations: { [Annotations.templateHash]: hash }, ownerReferences: [{ uid: 'de-uid' }] } });
    const desired = { metadata: { annotations: { [Annotations.templateHash]: 'h1' } } };
    expect(applyAction(undefined, desired, de)).toBe('create');
    expect(applyAction(mine('h1'), desired, de)).toBe('keep');
    expect(applyAction(mine('h0'), desired, de)).toBe('patch');
    expect(applyAction({ metadata: { annotations: { [Annotations.templateHash]: 'h1' } } }, desired, de)).toBe('nameInUse');
    const copy = workload(planEndpoint(endpoint({ namespace: 'team-a' }), ctx(false))).tokenKeyCopy!;
    expect(tokenKeyAction(undefined, copy, de)).toBe('create');
    expect(tokenKeyAction({ metadata: { ownerReferences: [{ uid: 'de-uid', apiVersion: 'v', kind: 'k', name: 'de' }] }, data: copy.data }, copy, de)).toBe('keep');
    expect(tokenKeyAction({ metadata: { ownerReferences: [{ uid: 'de-uid', apiVersion: 'v', kind: 'k', name: 'de' }] }, data: { key: 'b2xk' } }, copy, de)).toBe('patch');
    expect(tokenKeyAction({ metadata: {}, data: copy.data }, copy, de)).toBe('nameInUse');
  });

  test('an unchanged status is not written again', () => {
    const first = workload(planEndpoint(endpoint(), ctx(true))).settle({ live: readyKsvc });
    const again = workload(planEndpoint({ ...endpoint(), status: first.status! }, ctx(true))).settle({ live: readyKsvc });
    expect(again).toEqual({ events: [] });
  });
});
