// What the manifests promise beyond their schemas: least-privilege RBAC, a hardened operator
// Deployment whose config names the settings operator/README.md lists, a collector Knative Service that
// fits the gRPC upload contract, Triggers on the event types of docs/design.md "Events" and seed samples kept as they were.
import { describe, expect, test } from '@jest/globals';
import { EventType } from '../../lib/events.js';
import { COLLECTOR_METRICS_PORT, COLLECTOR_TIMEOUTS, RESERVED_PORTS, uploadTimeoutProblems } from '../../lib/knative-serving.js';
import { kustomize } from '../install/bundle.js';
import { readYaml } from '../validate/manifests.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML of many kinds, navigated freely by the assertions below
type Any = Record<string, any>;

async function objectsOf(path: string): Promise<Any[]> {
  return (await readYaml(path)) as Any[];
}
const find = (objs: Any[], kind: string, name: string): Any => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`${kind}/${name} not found`);
  return o;
};

describe('RBAC is least privilege', () => {
  test('no wildcard anywhere', async () => {
    for (const file of ['infra/rbac/operator-cluster-role.yaml', 'infra/rbac/operator-role.yaml', 'infra/rbac/capture-cluster-role.yaml']) {
      for (const o of await objectsOf(file)) {
        for (const r of (o.rules ?? []) as Rule[]) {
          expect([...r.apiGroups, ...r.resources, ...r.verbs]).not.toContain('*');
        }
      }
    }
  });

  test('capture pods may only get and list pods and services and list endpointslices (the evidence), nothing else', async () => {
    const objs = await objectsOf('infra/rbac/capture-cluster-role.yaml');
    expect(find(objs, 'ClusterRole', 'snoopy-capture').rules).toEqual([
      { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
    ]);
    expect(find(objs, 'ClusterRoleBinding', 'snoopy-capture').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'snoopy-capture', namespace: 'snoopy-operator' },
    ]);
  });

  test('cluster-wide, the operator only reads pods, manages its CRs and records events', async () => {
    const rules = find(await objectsOf('infra/rbac/operator-cluster-role.yaml'), 'ClusterRole', 'snoopy-operator').rules as Rule[];
    for (const r of rules) {
      const writes = r.verbs.filter((v) => ['create', 'delete', 'deletecollection'].includes(v));
      if (writes.length > 0) expect(r.resources).toEqual(['events']);
      if (r.resources.includes('pods')) expect(r.verbs.sort()).toEqual(['get', 'list', 'watch']);
    }
    const resources = rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`));
    for (const needed of [
      'job.fennecproject.io/snoopyjobs',
      'job.fennecproject.io/snoopyjobs/status',
      'job.fennecproject.io/snoopyjobs/finalizers',
      'data.fennecproject.io/snoopydataendpoints',
      'data.fennecproject.io/snoopydataendpoints/status',
      'data.fennecproject.io/snoopydataendpoints/finalizers',
      '/pods',
      '/events',
    ]) {
      expect(resources).toContain(needed);
    }
    expect(resources).not.toContain('/secrets');
  });

  test("what the operator creates, it creates only in its own namespace", async () => {
    const objs = await objectsOf('infra/rbac/operator-role.yaml');
    const role = find(objs, 'Role', 'snoopy-operator');
    expect(role.metadata.namespace).toBe('snoopy-operator');
    const resources = (role.rules as Rule[]).flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`));
    expect(resources.sort()).toEqual(
      ['batch/jobs', 'batch/cronjobs', '/secrets', '/services', '/configmaps', 'apps/deployments', 'serving.knative.dev/services', 'coordination.k8s.io/leases'].sort(),
    );
    // the config ConfigMap is only read
    expect((role.rules as Rule[]).find((r) => r.resources.includes('configmaps'))?.verbs).toEqual(['get']);
    expect(find(objs, 'RoleBinding', 'snoopy-operator').metadata.namespace).toBe('snoopy-operator');
  });
});

describe('operator Deployment', () => {
  test('is hardened, probed, bounded and configured from its ConfigMap', async () => {
    const objs = (await kustomize('infra/operator')) as unknown as Any[];
    const dep = find(objs, 'Deployment', 'snoopy-operator');
    const pod = dep.spec.template.spec;
    const c = pod.containers[0] as Container;
    expect(pod.serviceAccountName).toBe('snoopy-operator');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect(c.livenessProbe).toBeDefined();
    expect(c.readinessProbe).toBeDefined();
    expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(c.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
    const cmName = c.envFrom?.[0]?.configMapRef?.name;
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
    expect(cm).toBeDefined();
    for (const key of ['SNOOPY_NAMESPACE', 'SNOOPY_PODTRACER_IMAGE', 'SNOOPY_COLLECTOR_IMAGE', 'SNOOPY_ALLOWED_TOOLS', 'SNOOPY_ALLOW_CROSS_NAMESPACE']) {
      expect(Object.keys(cm!.data)).toContain(key);
    }
    expect(cm!.data.SNOOPY_NAMESPACE).toBe(dep.metadata.namespace);
    expect(cm!.data.SNOOPY_PODTRACER_IMAGE).toMatch(/^snoopy\/podtracer:/);
  });
});

describe('Knative', () => {
  test('the collector serves gRPC on one h2c port with limits that fit a 32 MiB segment upload', async () => {
    const svc = find(await objectsOf('knative/collector/service.yaml'), 'Service', 'snoopy-collector');
    const spec = svc.spec.template.spec;
    const c = spec.containers[0] as Container;
    expect(spec.containers).toHaveLength(1);
    expect(c.ports).toEqual([{ name: 'h2c', containerPort: 8080 }]);
    expect(c.image).toMatch(/^snoopy\/collector:/);
    // 32 MiB at 1 Mbit/s takes ~270 s; the reply comes only after the whole upload is stored,
    // and the collector writes nothing between its early headers and that reply.
    const slowUploadSeconds = (32 * 1024 * 1024 * 8) / 1_000_000;
    expect(spec.timeoutSeconds).toBeGreaterThan(slowUploadSeconds);
    expect(spec.idleTimeoutSeconds).toBeGreaterThan(slowUploadSeconds);
    // the same chain as the operator renders, and podtracer's deadline below it
    expect(uploadTimeoutProblems(spec)).toEqual([]);
    expect({ timeoutSeconds: spec.timeoutSeconds, responseStartTimeoutSeconds: spec.responseStartTimeoutSeconds, idleTimeoutSeconds: spec.idleTimeoutSeconds }).toEqual(COLLECTOR_TIMEOUTS);
    // the manifest before the fix (idle 120 s, response start 600 s) breaks the chain
    expect(uploadTimeoutProblems({ timeoutSeconds: 600, responseStartTimeoutSeconds: 600, idleTimeoutSeconds: 120 })).toEqual([expect.stringMatching(/^idleTimeoutSeconds 120 is below timeoutSeconds 600/)]);
    // and no container port queue-proxy holds (nor the collector's metrics port)
    for (const p of c.ports ?? []) expect(RESERVED_PORTS).not.toContain(p.containerPort);
    const metricsPort = Number(((c.env ?? []) as { name: string; value?: string }[]).find((e) => e.name === 'METRICS_PORT')?.value ?? COLLECTOR_METRICS_PORT);
    expect(RESERVED_PORTS).not.toContain(metricsPort);
    expect(spec.containerConcurrency).toBeGreaterThan(0);
    const ann = svc.spec.template.metadata.annotations;
    expect(Number(ann['autoscaling.knative.dev/min-scale'])).toBeGreaterThanOrEqual(1);
    expect(Number(ann['autoscaling.knative.dev/max-scale'])).toBeGreaterThanOrEqual(Number(ann['autoscaling.knative.dev/min-scale']));
    expect((c.env ?? []).map((e) => e.name)).toEqual(expect.arrayContaining(['S3_ENDPOINT', 'S3_BUCKET', 'SNOOPY_TOKEN_KEY']));
  });

  test('Triggers filter on Snoopy event types and call services that exist', async () => {
    const examples = ['knative/examples/event-display/event-display.yaml', 'knative/examples/evidence-stored/trigger.yaml'];
    const triggers = [...(await objectsOf('knative/eventing/triggers.yaml')), ...(await Promise.all(examples.map(objectsOf))).flat()].filter(
      (o) => o.kind === 'Trigger',
    );
    const services = new Set(
      [...(await kustomize('knative')), ...(await kustomize('knative/examples/event-display'))].filter((o) => o.kind === 'Service').map((o) => o.metadata.name),
    );
    const known = new Set<string>(Object.values(EventType));
    expect(triggers.length).toBeGreaterThanOrEqual(2);
    for (const t of triggers) {
      expect(t.spec.broker).toBe('default');
      const type = t.spec.filter?.attributes?.type;
      if (type !== undefined) expect(known).toContain(type);
      expect(services).toContain(t.spec.subscriber.ref.name);
    }
    const analyze = triggers.find((t) => t.spec.subscriber.ref.name === 'snoopy-analyzer');
    expect(analyze?.spec.filter.attributes.type).toBe(EventType.CaptureCompleted);
    expect(triggers.some((t) => t.spec.filter === undefined)).toBe(true); // the catch-all example
    // every target's evidence, as it is stored (the evidence bundle)
    expect(triggers.filter((t) => t.spec.filter?.attributes?.type === EventType.EvidenceStored).map((t) => t.metadata.name)).toEqual(['snoopy-evidence-stored']);
  });

  test('SinkBindings point the operator Deployment and the collectors at the Broker', async () => {
    const bindings = await objectsOf('knative/eventing/sinkbinding.yaml');
    const subjects = bindings.map((b) => `${b.spec.subject.kind}:${b.spec.subject.name ?? JSON.stringify(b.spec.subject.selector.matchLabels)}`);
    expect(subjects).toEqual(['Deployment:snoopy-operator', 'Service:{"app.kubernetes.io/name":"snoopy-collector"}']);
    for (const b of bindings) expect(b.spec.sink.ref).toEqual({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' });
    const collector = find(await objectsOf('knative/collector/service.yaml'), 'Service', 'snoopy-collector');
    expect(collector.metadata.labels['app.kubernetes.io/name']).toBe('snoopy-collector');
  });
});

describe('samples', () => {
  test("the seed's CRs are kept as the seed wrote them (the kustomization patches them)", async () => {
    const [endpoint] = await objectsOf('infra/samples/snoopy/data_v1alpha1_snoopydataendpoint.yaml');
    expect(endpoint).toEqual({
      apiVersion: 'data.fennecproject.io/v1alpha1',
      kind: 'SnoopyDataEndpoint',
      metadata: { name: 'snoopydataendpoint-sample' },
      spec: { serviceName: 'snoopy-data-svc', servicePort: 51001 },
    });
    const [job] = await objectsOf('infra/samples/snoopy/job_v1alpha1_snoopyjob_packet_capture.yaml');
    expect(job).toEqual({
      apiVersion: 'job.fennecproject.io/v1alpha1',
      kind: 'SnoopyJob',
      metadata: { name: 'snoopy-samplejob' },
      spec: {
        command: 'tcpdump',
        args: '-i eth0 -U -w -',
        labelSelector: { networkMonitor: 'true' },
        targetNamespace: 'cnf-telco',
        timer: '2m',
        dataServiceIP: 'snoopy-data-svc.snoopy-operator.svc.cluster.local',
        dataServicePort: '51001',
      },
    });
  });

  test('the workload pings a name inside the cluster and carries the seed names and label', async () => {
    const objs = (await kustomize('infra/samples/workload')) as unknown as Any[];
    const dep = find(objs, 'Deployment', 'cnf-example-pod');
    expect(dep.metadata.namespace).toBe('cnf-telco');
    const pod = dep.spec.template;
    expect(pod.metadata.labels.networkMonitor).toBe('true');
    expect(pod.spec.serviceAccountName).toBe('cnf-telco-sa');
    const c = pod.spec.containers[0];
    expect(c.image).toMatch(/^nicolaka\/netshoot/);
    expect(c.command).toEqual(['ping']);
    const target = c.args[c.args.length - 1] as string;
    expect(target).toMatch(/\.cnf-telco\.svc\.cluster\.local$/);
    const svcName = target.split('.')[0];
    expect(find(objs, 'Service', svcName!).spec.clusterIP).toBe('None');
    find(objs, 'ServiceAccount', 'cnf-telco-sa');
  });

  test('the CRs are created in the operator namespace (the only one allowed to target another)', async () => {
    for (const o of await kustomize('infra/samples/snoopy')) expect(o.metadata.namespace).toBe('snoopy-operator');
  });

  test('every sample SnoopyJob names its collector by dataEndpointRef (right in both endpoint modes)', async () => {
    const objs = (await kustomize('infra/samples/snoopy')) as unknown as Any[];
    const jobs = objs.filter((o) => o.kind === 'SnoopyJob');
    expect(jobs.length).toBe(3);
    for (const j of jobs) {
      expect(j.spec.dataServiceIP).toBeUndefined();
      expect(j.spec.dataServicePort).toBeUndefined();
      expect(find(objs, 'SnoopyDataEndpoint', j.spec.dataEndpointRef.name).metadata.namespace).toBe(j.spec.dataEndpointRef.namespace);
    }
  });
});

describe('Knative eventing delivery', () => {
  test('the Broker and the analyzer Trigger dead-letter to a Service that exists, with per-attempt timeouts', async () => {
    const services = new Set((await kustomize('knative')).filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
    const broker = find(await objectsOf('knative/eventing/broker.yaml'), 'Broker', 'default');
    const trigger = find(await objectsOf('knative/eventing/triggers.yaml'), 'Trigger', 'snoopy-analyze-captures');
    for (const d of [broker.spec.delivery, trigger.spec.delivery]) {
      expect(d.timeout).toMatch(/^PT\d+S$/);
      expect(d.deadLetterSink.ref).toMatchObject({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' });
      expect(services).toContain(d.deadLetterSink.ref.name);
      expect(d.deadLetterSink.uri).toBe('/dead-letter');
    }
    // an attempt may last as long as the analyzer's request timeout, not longer
    const analyzer = find(await objectsOf('knative/analyzer/service.yaml'), 'Service', 'snoopy-analyzer');
    expect(Number(/^PT(\d+)S$/.exec(trigger.spec.delivery.timeout)![1])).toBe(analyzer.spec.template.spec.timeoutSeconds);
  });
});

describe('func.yaml', () => {
  test('describes the same Service as knative/analyzer/service.yaml', async () => {
    const [func] = await objectsOf('knative/analyzer/func.yaml');
    const svc = find(await objectsOf('knative/analyzer/service.yaml'), 'Service', 'snoopy-analyzer');
    const spec = svc.spec.template.spec;
    const c = spec.containers[0] as Container & { env: { name: string; value?: string }[] };
    expect(func.name).toBe(svc.metadata.name);
    expect(func.namespace).toBe(svc.metadata.namespace);
    expect(func.deploy.namespace).toBe(svc.metadata.namespace);
    expect(func.image).toBe(c.image);
    expect(func.deploy.serviceAccountName).toBe(spec.serviceAccountName);
    expect(func.deploy.options.resources.limits.concurrency).toBe(spec.containerConcurrency);
    expect(func.deploy.options.resources.requests).toEqual(c.resources?.requests);
    expect({ cpu: func.deploy.options.resources.limits.cpu, memory: func.deploy.options.resources.limits.memory }).toEqual(c.resources?.limits);
    const ann = svc.spec.template.metadata.annotations;
    expect(func.deploy.options.scale).toEqual({ min: Number(ann['autoscaling.knative.dev/min-scale']), max: Number(ann['autoscaling.knative.dev/max-scale']) });
    // func.yaml cannot set a request timeout: the Service must use Knative's default, 300 s
    expect(spec.timeoutSeconds).toBe(300);
    expect(func.run.envs.map((e: { name: string }) => e.name).sort()).toEqual(c.env.map((e) => e.name).sort());
    // no file the comment names is missing
    expect(JSON.stringify(func)).not.toMatch(/Dockerfile/);
  });
});

describe('SnoopyDataEndpoint namespaces', () => {
  test('the endpoint-workloads ClusterRole is granted per namespace only, and covers what the reconciler creates', async () => {
    const objs = (await kustomize('infra/rbac')) as unknown as Any[];
    const role = find(objs, 'ClusterRole', 'snoopy-operator-endpoint-workloads');
    const resources = (role.rules as Rule[]).flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`)).sort();
    expect(resources).toEqual(['/secrets', '/services', 'apps/deployments', 'serving.knative.dev/services'].sort());
    for (const r of role.rules as Rule[]) expect(r.verbs).toEqual(expect.arrayContaining(['get', 'create', 'patch', 'delete']));
    // never bound cluster-wide by the install: a cluster admin binds it in chosen namespaces
    for (const b of objs.filter((o) => o.kind === 'ClusterRoleBinding')) expect(b.roleRef.name).not.toBe('snoopy-operator-endpoint-workloads');
  });
});
