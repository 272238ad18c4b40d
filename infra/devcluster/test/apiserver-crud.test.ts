// Conformance of the dev cluster API server's core semantics, through the real client-node:
// each test asserts what a real Kubernetes API server answers (codes, reasons, fields).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { PatchStrategy, setHeaderOptions, VersionApi, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { failure, podSpec, startFixture, suffix, until, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
let ns: string;

beforeAll(async () => {
  f = await startFixture();
  ns = `crud-${suffix()}`;
  await f.core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => { await f?.stop(); });

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

describe('discovery', () => {
  test('version, core and group resource lists name kinds, verbs and subresources', async () => {
    const v = await f.kc.makeApiClient(VersionApi).getCode();
    expect(v.major).toBe('1');
    expect(v.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    const core = await f.core.getAPIResources();
    const names = core.resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['pods', 'pods/log', 'pods/status', 'pods/binding', 'services', 'endpoints', 'configmaps', 'secrets', 'serviceaccounts', 'events', 'namespaces', 'nodes', 'nodes/status']));
    const pods = core.resources.find((r) => r.name === 'pods')!;
    expect(pods).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'] });
    expect(pods.verbs).toEqual(expect.arrayContaining(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']));
    const batch = await f.batch.getAPIResources();
    expect(batch.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['jobs', 'jobs/status', 'cronjobs', 'cronjobs/status']));
    const groups = await f.http('GET', '/apis');
    expect(groups.json.kind).toBe('APIGroupList');
    expect(groups.json.groups.map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(['apps', 'batch', 'coordination.k8s.io', 'events.k8s.io', 'apiextensions.k8s.io', 'rbac.authorization.k8s.io']));
    for (const p of ['/healthz', '/readyz', '/livez']) expect((await f.http('GET', p)).text).toBe('ok');
    expect((await f.http('GET', '/metrics')).text).toContain('apiserver_request_total');
  });

  test('unknown paths and resources are 404 NotFound, unsupported verbs 405', async () => {
    const r = await f.http('GET', '/apis/nosuch.example.com/v1/things');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    const m = await f.http('PUT', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'x' } });
    expect(m.status).toBe(405);
    expect(m.json).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
    const logPost = await f.http('POST', `/api/v1/namespaces/${ns}/pods/x/log`, {});
    expect(logPost.status).toBe(405);
  });
});

describe('create and get', () => {
  test('generateName, uid, creationTimestamp, resourceVersion; no generation on a ConfigMap', async () => {
    const cm = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'gen-' }, data: { a: '1' } } });
    expect(cm.metadata!.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(cm.metadata!.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(cm.metadata!.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(cm.metadata!.resourceVersion)).toBeGreaterThan(0);
    expect(cm.metadata!.generation).toBeUndefined();
    expect(cm.metadata!.namespace).toBe(ns);
    const got = await f.core.readNamespacedConfigMap({ name: cm.metadata!.name!, namespace: ns });
    expect(got.metadata!.uid).toBe(cm.metadata!.uid);
  });

  test('409 AlreadyExists, 404 NotFound with details, 404 for a missing namespace', async () => {
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dup' } } });
    const dup = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dup' } } }));
    expect(dup).toMatchObject({ httpCode: 409, reason: 'AlreadyExists', message: 'configmaps "dup" already exists', details: { name: 'dup', kind: 'configmaps' } });
    const nf = await failure(f.core.readNamespacedConfigMap({ name: 'nope', namespace: ns }));
    expect(nf).toMatchObject({ httpCode: 404, reason: 'NotFound', message: 'configmaps "nope" not found', details: { name: 'nope', kind: 'configmaps' } });
    const nsMissing = await failure(f.core.createNamespacedConfigMap({ namespace: 'no-such-ns', body: { metadata: { name: 'x' } } }));
    expect(nsMissing).toMatchObject({ httpCode: 404, reason: 'NotFound', message: 'namespaces "no-such-ns" not found' });
  });

  test('422 Invalid names the field: bad name, missing container image, job restartPolicy', async () => {
    const bad = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'Bad_Name' } } }));
    expect(bad).toMatchObject({ httpCode: 422, reason: 'Invalid' });
    expect(bad.details!.causes![0].field).toBe('metadata.name');
    const noName = await failure(f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: {} } }));
    expect(noName.details!.causes![0]).toMatchObject({ field: 'metadata.name', reason: 'FieldValueRequired' });
    const pod = await failure(f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'noimage' }, spec: { containers: [{ name: 'c' } as never] } } }));
    expect(pod.details!.causes!.map((c) => c.field)).toContain('spec.containers[0].image');
    const job = await failure(f.batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'j' }, spec: { template: { spec: podSpec() } } } }));
    expect(job.details!.causes!.map((c) => c.field)).toContain('spec.template.spec.restartPolicy');
  });

  test('built-in defaulting: pod spec and status, job selector and labels, service clusterIP', async () => {
    const pod = await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'defaults' }, spec: podSpec(), status: { phase: 'Running' } } });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', serviceAccountName: 'default', terminationGracePeriodSeconds: 30 });
    expect(pod.spec!.containers[0]).toMatchObject({ terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
    expect(pod.status!.phase).toBe('Pending');
    const job = await f.batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'defaults' }, spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } } });
    expect(job.spec).toMatchObject({ backoffLimit: 6, completions: 1, parallelism: 1 });
    expect(job.spec!.selector!.matchLabels!['batch.kubernetes.io/controller-uid']).toBe(job.metadata!.uid);
    expect(job.spec!.template.metadata!.labels!['job-name']).toBe('defaults');
    expect(job.metadata!.generation).toBe(1);
    const svc = await f.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'svc' }, spec: { selector: { a: 'b' }, ports: [{ port: 80 }] } } });
    expect(svc.spec!.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    expect(svc.spec!.ports![0]).toMatchObject({ protocol: 'TCP', targetPort: 80 });
    const sa = await f.core.readNamespacedServiceAccount({ name: 'default', namespace: ns });
    expect(sa.metadata!.name).toBe('default');
  });

  test('secrets: stringData is merged into base64 data and not stored; bad base64 is 422', async () => {
    const s = await f.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sec' }, data: { a: Buffer.from('x').toString('base64') }, stringData: { b: 'hello' } } });
    expect(s.type).toBe('Opaque');
    expect(s.data).toEqual({ a: 'eA==', b: Buffer.from('hello').toString('base64') });
    expect(s.stringData).toBeUndefined();
    const bad = await failure(f.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'sec2' }, data: { a: '%%%' } } }));
    expect(bad).toMatchObject({ httpCode: 422, reason: 'Invalid' });
    expect(bad.details!.causes![0].field).toBe('data[a]');
  });
});

describe('list', () => {
  test.each([
    ['tier=web', ['p-web-1', 'p-web-2']],
    ['tier==web', ['p-web-1', 'p-web-2']],
    ['tier!=web', ['p-db', 'p-none']],
    ['tier in (web,db)', ['p-db', 'p-web-1', 'p-web-2']],
    ['tier notin (web)', ['p-db', 'p-none']],
    ['tier', ['p-db', 'p-web-1', 'p-web-2']],
    ['!tier', ['p-none']],
    ['tier=web,track=canary', ['p-web-2']],
    ['tier in (web),!track', ['p-web-1']],
  ])('label selector %s', async (selector, expected) => {
    const lns = `${ns}-sel`;
    try { await f.core.readNamespace({ name: lns }); } catch {
      await f.core.createNamespace({ body: { metadata: { name: lns } } });
      const mk = (name: string, labels: Record<string, string>) => f.core.createNamespacedPod({ namespace: lns, body: { metadata: { name, labels: { set: 'sel', ...labels } }, spec: podSpec() } });
      await mk('p-web-1', { tier: 'web' });
      await mk('p-web-2', { tier: 'web', track: 'canary' });
      await mk('p-db', { tier: 'db' });
      await mk('p-none', {});
    }
    const l = await f.core.listNamespacedPod({ namespace: lns, labelSelector: selector });
    expect(l.items.map((p) => p.metadata!.name).sort()).toEqual(expected);
  });

  test('malformed label selector is 400 BadRequest', async () => {
    const r = await failure(f.core.listNamespacedPod({ namespace: ns, labelSelector: 'a in (b' }));
    expect(r).toMatchObject({ httpCode: 400, reason: 'BadRequest' });
  });

  test('field selectors: metadata.name, metadata.namespace, spec.nodeName, status.phase; unsupported field is 400', async () => {
    const fns = `${ns}-fs`;
    await f.core.createNamespace({ body: { metadata: { name: fns } } });
    await f.core.createNamespacedPod({ namespace: fns, body: { metadata: { name: 'on-a' }, spec: { ...podSpec(), nodeName: 'node-a' } } });
    await f.core.createNamespacedPod({ namespace: fns, body: { metadata: { name: 'on-b' }, spec: { ...podSpec(), nodeName: 'node-b' } } });
    await f.core.replaceNamespacedPodStatus({ name: 'on-b', namespace: fns, body: { ...(await f.core.readNamespacedPod({ name: 'on-b', namespace: fns })), status: { phase: 'Running' } } });
    const names = async (fieldSelector: string) => (await f.core.listPodForAllNamespaces({ fieldSelector })).items.map((p) => p.metadata!.name).sort();
    expect(await names(`spec.nodeName=node-a,metadata.namespace=${fns}`)).toEqual(['on-a']);
    expect(await names(`metadata.name=on-b`)).toEqual(['on-b']);
    expect(await names(`status.phase=Running,metadata.namespace=${fns}`)).toEqual(['on-b']);
    expect(await names(`status.phase!=Running,metadata.namespace=${fns}`)).toEqual(['on-a']);
    const bad = await failure(f.core.listPodForAllNamespaces({ fieldSelector: 'spec.bogus=1' }));
    expect(bad).toMatchObject({ httpCode: 400, reason: 'BadRequest', message: 'field label not supported: spec.bogus' });
    const ev = await f.core.createNamespacedEvent({ namespace: fns, body: { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'on-a', namespace: fns }, reason: 'Test', message: 'm', type: 'Normal' } });
    expect(ev.metadata!.name).toBe('e1');
    const evs = await f.core.listNamespacedEvent({ namespace: fns, fieldSelector: 'involvedObject.name=on-a,involvedObject.kind=Pod' });
    expect(evs.items.map((e) => e.metadata!.name)).toEqual(['e1']);
  });

  test('limit/continue pages through everything exactly once, with the first page resourceVersion', async () => {
    const pns = `${ns}-page`;
    await f.core.createNamespace({ body: { metadata: { name: pns } } });
    for (let i = 0; i < 25; i++) await f.core.createNamespacedConfigMap({ namespace: pns, body: { metadata: { name: `cm-${String(i).padStart(2, '0')}` } } });
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    let firstRv: string | undefined;
    do {
      const page = await f.core.listNamespacedConfigMap({ namespace: pns, limit: 10, _continue: cont });
      firstRv ??= page.metadata!.resourceVersion;
      expect(page.metadata!.resourceVersion).toBe(firstRv);
      if (pages === 0) expect(page.metadata!.remainingItemCount).toBe(15);
      seen.push(...page.items.map((c) => c.metadata!.name!));
      cont = page.metadata!._continue;
      pages++;
    } while (cont && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`));
    const badToken = await failure(f.core.listNamespacedConfigMap({ namespace: pns, limit: 10, _continue: '!!!' }));
    expect(badToken.httpCode).toBe(400);
    // After a compaction the token is too old: 410 Expired, as a real server answers.
    const first = await f.core.listNamespacedConfigMap({ namespace: pns, limit: 10 });
    await f.core.createNamespacedConfigMap({ namespace: pns, body: { metadata: { name: 'zz-late' } } });
    f.api.compact();
    const expired = await failure(f.core.listNamespacedConfigMap({ namespace: pns, limit: 10, _continue: first.metadata!._continue }));
    expect(expired).toMatchObject({ httpCode: 410, reason: 'Expired' });
  });
});

describe('events', () => {
  test('events.k8s.io/v1 and core v1 Events are one resource in two shapes', async () => {
    const ens = `${ns}-ev`;
    await f.core.createNamespace({ body: { metadata: { name: ens } } });
    const created = await f.http('POST', `/apis/events.k8s.io/v1/namespaces/${ens}/events`, {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e2' }, eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'example.com/ctl', reportingInstance: 'ctl-1', action: 'Reconcile', reason: 'Done', note: 'all good', type: 'Normal',
      regarding: { kind: 'Pod', name: 'p', namespace: ens },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: 'events.k8s.io/v1', note: 'all good', regarding: { name: 'p' } });
    const core = await f.core.readNamespacedEvent({ name: 'e2', namespace: ens });
    expect(core).toMatchObject({ message: 'all good', reason: 'Done', reportingComponent: 'example.com/ctl', involvedObject: { kind: 'Pod', name: 'p' } });
    const sel = await f.http('GET', `/apis/events.k8s.io/v1/namespaces/${ens}/events?fieldSelector=regarding.name%3Dp`);
    expect(sel.json.items.map((e: { note: string }) => e.note)).toEqual(['all good']);
    const incomplete = await f.http('POST', `/apis/events.k8s.io/v1/namespaces/${ens}/events`, { metadata: { name: 'e3' }, note: 'x' });
    expect(incomplete.status).toBe(422);
    expect(incomplete.json.details.causes.map((c: { field: string }) => c.field)).toContain('eventTime');
    await f.http('DELETE', `/apis/events.k8s.io/v1/namespaces/${ens}/events/e2`);
    expect((await failure(f.core.readNamespacedEvent({ name: 'e2', namespace: ens }))).httpCode).toBe(404);
  });
});

describe('update and patch', () => {
  test('PUT with a stale resourceVersion is 409 Conflict; a no-op PUT keeps the resourceVersion', async () => {
    const cm = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'upd' }, data: { a: '1' } } });
    const v2 = await f.core.replaceNamespacedConfigMap({ name: 'upd', namespace: ns, body: { ...cm, data: { a: '2' } } });
    expect(Number(v2.metadata!.resourceVersion)).toBeGreaterThan(Number(cm.metadata!.resourceVersion));
    const stale = await failure(f.core.replaceNamespacedConfigMap({ name: 'upd', namespace: ns, body: { ...cm, data: { a: '3' } } }));
    expect(stale).toMatchObject({ httpCode: 409, reason: 'Conflict', details: { name: 'upd', kind: 'configmaps' } });
    expect(stale.message).toContain('the object has been modified; please apply your changes to the latest version and try again');
    const same = await f.core.replaceNamespacedConfigMap({ name: 'upd', namespace: ns, body: v2 });
    expect(same.metadata!.resourceVersion).toBe(v2.metadata!.resourceVersion);
    const wrongName = await failure(f.core.replaceNamespacedConfigMap({ name: 'upd', namespace: ns, body: { ...v2, metadata: { ...v2.metadata, name: 'other' } } }));
    expect(wrongName).toMatchObject({ httpCode: 400, reason: 'BadRequest' });
    const missing = await failure(f.core.replaceNamespacedConfigMap({ name: 'missing', namespace: ns, body: { metadata: { name: 'missing' } } }));
    expect(missing.httpCode).toBe(404);
  });

  test('generation moves on spec changes only, not on metadata or status', async () => {
    const d = await f.apps.createNamespacedDeployment({ namespace: ns, body: {
      metadata: { name: 'gen' }, spec: { selector: { matchLabels: { app: 'gen' } }, template: { metadata: { labels: { app: 'gen' } }, spec: podSpec() } },
    } });
    expect(d.metadata!.generation).toBe(1);
    const labelled = await f.apps.patchNamespacedDeployment({ name: 'gen', namespace: ns, body: { metadata: { labels: { x: 'y' } } } }, merge);
    expect(labelled.metadata!.generation).toBe(1);
    const st = await f.apps.patchNamespacedDeploymentStatus({ name: 'gen', namespace: ns, body: { status: { replicas: 3 } } }, merge);
    expect(st.metadata!.generation).toBe(1);
    expect(st.status!.replicas).toBe(3);
    const scaled = await f.apps.patchNamespacedDeployment({ name: 'gen', namespace: ns, body: { spec: { replicas: 4 } } }, merge);
    expect(scaled.metadata!.generation).toBe(2);
    const sel = await failure(f.apps.patchNamespacedDeployment({ name: 'gen', namespace: ns, body: { spec: { selector: { matchLabels: { app: 'other' } } } } }, merge));
    expect(sel.httpCode).toBe(422);
  });

  test('merge patch, JSON patch (client default) and strategic merge patch by merge key', async () => {
    await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'pp', labels: { a: '1', b: '2' } }, spec: {
      containers: [{ name: 'one', image: 'busybox:1', env: [{ name: 'X', value: '1' }] }, { name: 'two', image: 'busybox:1' }],
    } } });
    const m = await f.core.patchNamespacedPod({ name: 'pp', namespace: ns, body: { metadata: { labels: { a: null, c: '3' } } } }, merge);
    expect(m.metadata!.labels).toEqual({ b: '2', c: '3' });
    const j = await f.core.patchNamespacedPod({ name: 'pp', namespace: ns, body: [{ op: 'add', path: '/metadata/annotations', value: { n: 'v' } }, { op: 'replace', path: '/metadata/labels/b', value: 'x' }] });
    expect(j.metadata!.annotations).toEqual({ n: 'v' });
    expect(j.metadata!.labels!.b).toBe('x');
    const failedTest = await failure(f.core.patchNamespacedPod({ name: 'pp', namespace: ns, body: [{ op: 'test', path: '/metadata/labels/b', value: 'nope' }] }));
    expect(failedTest.httpCode).toBe(422);
    // Strategic: the container list merges by name — only `two` changes image, `one` keeps its env.
    const s = await f.core.patchNamespacedPod({ name: 'pp', namespace: ns, body: { spec: { containers: [{ name: 'two', image: 'busybox:2' }] } } }, strategic);
    expect(s.spec!.containers.map((c) => [c.name, c.image])).toEqual([['one', 'busybox:1'], ['two', 'busybox:2']]);
    expect(s.spec!.containers[0].env).toEqual([{ name: 'X', value: '1' }]);
    const forbidden = await failure(f.core.patchNamespacedPod({ name: 'pp', namespace: ns, body: { spec: { containers: [{ name: 'one', command: ['x'] }] } } }, strategic));
    expect(forbidden).toMatchObject({ httpCode: 422, reason: 'Invalid' });
    const badType = await f.http('PATCH', `/api/v1/namespaces/${ns}/pods/pp`, { a: 1 }, 'text/plain');
    expect(badType.status).toBe(415);
    expect(badType.json.reason).toBe('UnsupportedMediaType');
    const applyNoManager = await f.http('PATCH', `/api/v1/namespaces/${ns}/pods/pp`, 'metadata: {name: pp}', 'application/apply-patch+yaml');
    expect(applyNoManager.status).toBe(400);
  });

  test('strategic merge: $patch delete, $setElementOrder, env null, service ports by port', async () => {
    await f.apps.createNamespacedDeployment({ namespace: ns, body: {
      metadata: { name: 'smp' }, spec: { selector: { matchLabels: { app: 'smp' } }, template: { metadata: { labels: { app: 'smp' } }, spec: {
        containers: [{ name: 'a', image: 'busybox', env: [{ name: 'E1', value: '1' }, { name: 'E2', value: '2' }], volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
        volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', emptyDir: {} }],
      } } },
    } });
    const d = await f.apps.patchNamespacedDeployment({ name: 'smp', namespace: ns, body: { spec: { template: { spec: {
      containers: [{ name: 'a', env: [{ name: 'E1', $patch: 'delete' }, { name: 'E3', value: '3' }] }],
      volumes: [{ name: 'w', $patch: 'delete' }],
    } } } } }, strategic);
    const c = d.spec!.template.spec!.containers[0];
    expect(c.env).toEqual([{ name: 'E2', value: '2' }, { name: 'E3', value: '3' }]);
    expect(c.volumeMounts).toEqual([{ name: 'v', mountPath: '/v' }]);
    expect(d.spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['v']);
    await f.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'smp' }, spec: { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } } });
    const svc = await f.core.patchNamespacedService({ name: 'smp', namespace: ns, body: { spec: { ports: [{ port: 81, name: 'b', targetPort: 9000 }] } } }, strategic);
    expect(svc.spec!.ports!.map((p) => [p.port, p.targetPort])).toEqual([[80, 80], [81, 9000]]);
  });

  test('status subresource: PUT on the main resource ignores status, /status changes only status', async () => {
    const pod = await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'st', labels: { a: '1' } }, spec: podSpec() } });
    const main = await f.core.replaceNamespacedPod({ name: 'st', namespace: ns, body: { ...pod, status: { phase: 'Running' } } });
    expect(main.status!.phase).toBe('Pending');
    const viaStatus = await f.core.replaceNamespacedPodStatus({ name: 'st', namespace: ns, body: { ...main, metadata: { ...main.metadata, labels: { a: 'changed' } }, status: { phase: 'Running', podIP: '10.0.0.9' } } });
    expect(viaStatus.status).toMatchObject({ phase: 'Running', podIP: '10.0.0.9' });
    expect(viaStatus.metadata!.labels).toEqual({ a: '1' });
    const patched = await f.core.patchNamespacedPodStatus({ name: 'st', namespace: ns, body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } }, strategic);
    expect(patched.status!.phase).toBe('Running');
    expect(patched.status!.conditions![0]).toMatchObject({ type: 'Ready', status: 'True' });
  });

  test('pods/binding sets spec.nodeName once; pod spec is otherwise immutable', async () => {
    await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'bind' }, spec: podSpec() } });
    await f.core.createNamespacedPodBinding({ name: 'bind', namespace: ns, body: { metadata: { name: 'bind' }, target: { kind: 'Node', name: 'node-z' } } });
    const p = await f.core.readNamespacedPod({ name: 'bind', namespace: ns });
    expect(p.spec!.nodeName).toBe('node-z');
    expect(p.status!.conditions!.find((c) => c.type === 'PodScheduled')!.status).toBe('True');
    const again = await failure(f.core.createNamespacedPodBinding({ name: 'bind', namespace: ns, body: { metadata: { name: 'bind' }, target: { kind: 'Node', name: 'node-y' } } }));
    expect(again).toMatchObject({ httpCode: 409, reason: 'Conflict' });
    const move = await failure(f.core.patchNamespacedPod({ name: 'bind', namespace: ns, body: { spec: { nodeName: 'node-y' } } }, merge));
    expect(move.httpCode).toBe(422);
  });
});

describe('delete, finalizers and garbage collection', () => {
  const owned = (owner: V1ConfigMap, block = false) => [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid!, blockOwnerDeletion: block }];
  const gone = (name: string, namespace = ns) => until(async () => {
    try { await f.core.readNamespacedConfigMap({ name, namespace }); return false; } catch { return true; }
  }, `${name} to be deleted`);

  test('finalizers keep a deleted object with deletionTimestamp until they are removed', async () => {
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } } });
    const del = await f.http('DELETE', `/api/v1/namespaces/${ns}/configmaps/fin`);
    expect(del.status).toBe(202);
    const kept = await f.core.readNamespacedConfigMap({ name: 'fin', namespace: ns });
    expect(kept.metadata!.deletionTimestamp).toBeInstanceOf(Date);
    const noNew = await failure(f.core.patchNamespacedConfigMap({ name: 'fin', namespace: ns, body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } } }, merge));
    expect(noNew.httpCode).toBe(422);
    await f.core.patchNamespacedConfigMap({ name: 'fin', namespace: ns, body: { metadata: { finalizers: null } } }, merge);
    expect((await failure(f.core.readNamespacedConfigMap({ name: 'fin', namespace: ns }))).httpCode).toBe(404);
  });

  test('preconditions: a wrong uid is 409 Conflict', async () => {
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'pre' } } });
    const r = await failure(f.core.deleteNamespacedConfigMap({ name: 'pre', namespace: ns, body: { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } } }));
    expect(r).toMatchObject({ httpCode: 409, reason: 'Conflict' });
    expect(r.message).toContain('Precondition failed: UID in precondition');
  });

  test('background propagation deletes dependents whose owners are all gone; other owners keep them', async () => {
    const owner = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bg-owner' } } });
    const other = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bg-other' } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bg-dep', ownerReferences: owned(owner) } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bg-shared', ownerReferences: [...owned(owner), ...owned(other)] } } });
    await f.core.deleteNamespacedConfigMap({ name: 'bg-owner', namespace: ns, propagationPolicy: 'Background' });
    await gone('bg-dep');
    const shared = await until(async () => {
      const s = await f.core.readNamespacedConfigMap({ name: 'bg-shared', namespace: ns });
      return s.metadata!.ownerReferences!.length === 1 ? s : undefined;
    }, 'the dangling owner reference to be dropped');
    expect(shared.metadata!.ownerReferences![0].name).toBe('bg-other');
  });

  test('foreground propagation: the owner waits (foregroundDeletion) for blocking dependents', async () => {
    const owner = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'fg-owner' } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'fg-dep', ownerReferences: owned(owner, true), finalizers: ['example.com/hold'] } } });
    await f.core.deleteNamespacedConfigMap({ name: 'fg-owner', namespace: ns, propagationPolicy: 'Foreground' });
    const o = await f.core.readNamespacedConfigMap({ name: 'fg-owner', namespace: ns });
    expect(o.metadata!.finalizers).toContain('foregroundDeletion');
    expect(o.metadata!.deletionTimestamp).toBeInstanceOf(Date);
    const dep = await until(async () => {
      const d = await f.core.readNamespacedConfigMap({ name: 'fg-dep', namespace: ns });
      return d.metadata!.deletionTimestamp ? d : undefined;
    }, 'the dependent to be deleting');
    expect(dep.metadata!.finalizers).toEqual(['example.com/hold']);
    expect((await f.core.readNamespacedConfigMap({ name: 'fg-owner', namespace: ns })).metadata!.name).toBe('fg-owner');
    await f.core.patchNamespacedConfigMap({ name: 'fg-dep', namespace: ns, body: { metadata: { finalizers: null } } }, merge);
    await gone('fg-dep');
    await gone('fg-owner');
  });

  test('orphan propagation strips the owner reference and keeps dependents; Jobs orphan by default', async () => {
    const owner = await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'or-owner' } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'or-dep', ownerReferences: owned(owner) } } });
    await f.core.deleteNamespacedConfigMap({ name: 'or-owner', namespace: ns, propagationPolicy: 'Orphan' });
    await gone('or-owner');
    const dep = await f.core.readNamespacedConfigMap({ name: 'or-dep', namespace: ns });
    expect(dep.metadata!.ownerReferences ?? []).toEqual([]);

    const job = await f.batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'orphaning' }, spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } } });
    await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'orphaning-pod', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'orphaning', uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }] }, spec: podSpec() } });
    const del = await f.http('DELETE', `/apis/batch/v1/namespaces/${ns}/jobs/orphaning`);
    expect(del.headers.get('warning')).toContain('child pods are preserved by default');
    await until(async () => { try { await f.batch.readNamespacedJob({ name: 'orphaning', namespace: ns }); return false; } catch { return true; } }, 'job gone');
    const pod: V1Pod = await until(async () => {
      const p = await f.core.readNamespacedPod({ name: 'orphaning-pod', namespace: ns });
      return (p.metadata!.ownerReferences ?? []).length === 0 ? p : undefined;
    }, 'pod orphaned');
    expect(pod.metadata!.deletionTimestamp).toBeUndefined();
  });

  test('an owner in another namespace does not count: the dependent is collected', async () => {
    const other = `${ns}-own`;
    await f.core.createNamespace({ body: { metadata: { name: other } } });
    const owner = await f.core.createNamespacedConfigMap({ namespace: other, body: { metadata: { name: 'far-owner' } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cross-dep', ownerReferences: owned(owner) } } });
    await gone('cross-dep');
    const nsOwner = await f.core.readNamespace({ name: other });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cluster-owned', ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: other, uid: nsOwner.metadata!.uid! }] } } });
    await f.api.registry.gcIdle();
    expect((await f.core.readNamespacedConfigMap({ name: 'cluster-owned', namespace: ns })).metadata!.name).toBe('cluster-owned');
  });

  test('a dependent created for an owner uid that does not exist is collected', async () => {
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dangling', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '11111111-2222-3333-4444-555555555555' }] } } });
    await gone('dangling');
  });

  test('deletecollection by label selector', async () => {
    for (const [n, l] of [['dc-1', 'x'], ['dc-2', 'x'], ['dc-3', 'y']]) await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: n, labels: { dc: l } } } });
    await f.core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: 'dc=x' });
    const left = await f.core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'dc' });
    expect(left.items.map((c) => c.metadata!.name)).toEqual(['dc-3']);
  });

  test('pods on a registered node are deleted gracefully; grace 0 removes them', async () => {
    await f.core.createNode({ body: { metadata: { name: `node-${suffix()}`, labels: { 'kubernetes.io/hostname': 'n' } } } }).then(async (n) => {
      await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'graceful' }, spec: { ...podSpec(), nodeName: n.metadata!.name, terminationGracePeriodSeconds: 7 } } });
      const first = await f.http('DELETE', `/api/v1/namespaces/${ns}/pods/graceful`);
      expect(first.status).toBe(202);
      expect(first.json.metadata.deletionGracePeriodSeconds).toBe(7);
      expect(first.json.metadata.deletionTimestamp).toBeDefined();
      await f.core.deleteNamespacedPod({ name: 'graceful', namespace: ns, gracePeriodSeconds: 0 });
      expect((await failure(f.core.readNamespacedPod({ name: 'graceful', namespace: ns }))).httpCode).toBe(404);
    });
    // An eviction is a graceful deletion (no PodDisruptionBudgets here).
    await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'evicted' }, spec: podSpec() } });
    await f.core.createNamespacedPodEviction({ name: 'evicted', namespace: ns, body: { metadata: { name: 'evicted', namespace: ns } } });
    expect((await failure(f.core.readNamespacedPod({ name: 'evicted', namespace: ns }))).httpCode).toBe(404);
    // Unscheduled pods go at once.
    await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'unscheduled' }, spec: podSpec() } });
    const r = await f.http('DELETE', `/api/v1/namespaces/${ns}/pods/unscheduled`);
    expect(r.status).toBe(200);
    expect(r.json.kind).toBe('Pod');
  });

  test('namespace deletion: Terminating, no new content (403), contents removed, then the namespace', async () => {
    const dns = `${ns}-del`;
    await f.core.createNamespace({ body: { metadata: { name: dns } } });
    await f.core.createNamespacedConfigMap({ namespace: dns, body: { metadata: { name: 'a' } } });
    await f.core.createNamespacedConfigMap({ namespace: dns, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const del = await f.core.deleteNamespace({ name: dns });
    expect(del).toBeDefined();
    const term = await f.core.readNamespace({ name: dns });
    expect(term.status!.phase).toBe('Terminating');
    const refused = await failure(f.core.createNamespacedConfigMap({ namespace: dns, body: { metadata: { name: 'late' } } }));
    expect(refused).toMatchObject({ httpCode: 403, reason: 'Forbidden' });
    expect(refused.message).toContain('because it is being terminated');
    await gone('a', dns);
    expect((await f.core.readNamespace({ name: dns })).metadata!.name).toBe(dns);
    await f.core.patchNamespacedConfigMap({ name: 'held', namespace: dns, body: { metadata: { finalizers: null } } }, merge);
    await until(async () => { try { await f.core.readNamespace({ name: dns }); return false; } catch { return true; } }, 'namespace removal');
  });
});
