// The real kubectl against the dev cluster API server: get (server-side tables), describe,
// create, apply (create then strategic-merge update), delete, logs (from the kubelet's log files).
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { podLogPath } from '../paths.js';
import { startFixture, suffix, until, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
let ns: string;
beforeAll(async () => {
  f = await startFixture();
  ns = `kctl-${suffix()}`;
  const r = await f.kubectl(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => { await f?.stop(); });

const deployment = (image: string, env: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: ${image}
        env: [${env}]
        ports: [{containerPort: 80}]
`;

describe('kubectl', () => {
  test('apply creates, apply again patches (strategic merge: removed env entries go), get -o json reads back', async () => {
    const first = await f.kubectl(['apply', '-f', '-'], deployment('busybox:1', '{name: A, value: "1"}, {name: B, value: "2"}').replace('NS', ns));
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toBe('deployment.apps/web created');
    const second = await f.kubectl(['apply', '-f', '-'], deployment('busybox:2', '{name: B, value: "3"}').replace('NS', ns));
    expect(second.stdout.trim()).toBe('deployment.apps/web configured');
    const got = JSON.parse((await f.kubectl(['get', 'deployment', 'web', '-n', ns, '-o', 'json'])).stdout);
    const c = got.spec.template.spec.containers[0];
    expect(c.image).toBe('busybox:2');
    expect(c.env).toEqual([{ name: 'B', value: '3' }]);
    expect(got.metadata.generation).toBe(2);
    const unchanged = await f.kubectl(['apply', '-f', '-'], deployment('busybox:2', '{name: B, value: "3"}').replace('NS', ns));
    expect(unchanged.stdout.trim()).toBe('deployment.apps/web unchanged');
    const scaled = await f.kubectl(['scale', 'deployment', 'web', '-n', ns, '--replicas=5']);
    expect(scaled.stdout.trim()).toBe('deployment.apps/web scaled');
    const after = await f.apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(after.spec!.replicas).toBe(5);
    expect(after.metadata!.generation).toBe(3);
    const scale = await f.apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns });
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 5 }, status: { selector: 'app=web' } });
  });

  test('auth can-i says yes (RBAC is not enforced) and whoami names the dev user', async () => {
    const can = await f.kubectl(['auth', 'can-i', 'delete', 'pods', '-n', ns]);
    expect(can.stdout.trim()).toBe('yes');
    const who = await f.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(who.stdout).toBe('snoopy-dev-admin');
    expect((await f.http('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status).toBe(405);
  });

  test('defaults apply to empty structures and on update (deployment strategy), replica set columns', async () => {
    const d = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: strat, namespace: ${ns}}\nspec:\n  selector: {matchLabels: {a: s}}\n  strategy: {}\n  template:\n    metadata: {labels: {a: s}}\n    spec: {containers: [{name: c, image: busybox}]}\n`;
    expect((await f.kubectl(['apply', '-f', '-'], d)).code).toBe(0);
    const got = await f.apps.readNamespacedDeployment({ name: 'strat', namespace: ns });
    expect(got.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    const put = await f.apps.replaceNamespacedDeployment({ name: 'strat', namespace: ns, body: { ...got, spec: { ...got.spec!, strategy: undefined, revisionHistoryLimit: undefined } } });
    expect(put.spec!.strategy!.type).toBe('RollingUpdate');
    expect(put.spec!.revisionHistoryLimit).toBe(10);
    expect(put.metadata!.generation).toBe(1);
    await f.apps.createNamespacedReplicaSet({ namespace: ns, body: { metadata: { name: 'rs1' }, spec: { replicas: 2, selector: { matchLabels: { r: '1' } }, template: { metadata: { labels: { r: '1' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } } });
    const rs = await f.kubectl(['get', 'rs', 'rs1', '-n', ns]);
    expect(rs.stdout).toMatch(/rs1\s+2\s+0\s+0/);
    expect(rs.stdout).toMatch(/NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE/);
  });

  test('create -f, get with server-side columns, label selectors, -A', async () => {
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: ${ns}, labels: {tier: a}}\nspec:\n  nodeName: nowhere\n  containers: [{name: c, image: busybox, command: [sleep, "5"]}]\n`;
    const created = await f.kubectl(['create', '-f', '-'], pod);
    expect(created.stdout.trim()).toBe('pod/p1 created');
    const again = await f.kubectl(['create', '-f', '-'], pod);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('AlreadyExists');
    const get = await f.kubectl(['get', 'pods', '-n', ns, '-o', 'wide']);
    expect(get.stdout).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(get.stdout).toMatch(/p1\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+nowhere/);
    const sel = await f.kubectl(['get', 'pods', '-A', '-l', 'tier in (a,b)', '-o', 'name']);
    expect(sel.stdout.trim()).toBe('pod/p1');
    const none = await f.kubectl(['get', 'pods', '-n', ns, '-l', 'tier=zzz']);
    expect(none.stderr).toContain('No resources found');
    const missing = await f.kubectl(['get', 'pod', 'nope', '-n', ns]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('pods "nope" not found');
  });

  test('describe shows the object and its events', async () => {
    const p1 = await f.core.readNamespacedPod({ name: 'p1', namespace: ns });
    await f.core.createNamespacedEvent({ namespace: ns, body: {
      metadata: { name: 'p1.ev' }, involvedObject: { kind: 'Pod', name: 'p1', namespace: ns, apiVersion: 'v1', uid: p1.metadata!.uid },
      reason: 'Scheduled', message: 'hello from the test', type: 'Normal', count: 1,
      firstTimestamp: new Date(), lastTimestamp: new Date(), source: { component: 'test' },
    } });
    const d = await f.kubectl(['describe', 'pod', 'p1', '-n', ns]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/Name:\s+p1/);
    expect(d.stdout).toMatch(/Node:\s+nowhere/);
    expect(d.stdout).toContain('hello from the test');
  });

  test('logs: whole, --tail, -c, and -f until the container terminates', async () => {
    await f.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'logger' }, spec: { containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] } } });
    const path = podLogPath(f.dir, ns, 'logger', 'a');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'one\ntwo\nthree\n');
    writeFileSync(podLogPath(f.dir, ns, 'logger', 'b'), 'bee\n');
    const pod = await f.core.readNamespacedPod({ name: 'logger', namespace: ns });
    await f.core.replaceNamespacedPodStatus({ name: 'logger', namespace: ns, body: { ...pod, status: { phase: 'Running', containerStatuses: [
      { name: 'a', ready: true, restartCount: 0, image: 'busybox', imageID: '', state: { running: { startedAt: new Date() } } },
    ] } } });
    const noContainer = await f.http('GET', `/api/v1/namespaces/${ns}/pods/logger/log`);
    expect(noContainer.status).toBe(400);
    expect(noContainer.json.message).toBe('a container name must be specified for pod logger, choose one of: [a b]');
    const defaulted = await f.kubectl(['logs', 'logger', '-n', ns]);
    expect(defaulted.stderr).toContain('Defaulted container "a"');
    expect(defaulted.stdout).toBe('one\ntwo\nthree\n');
    expect((await f.kubectl(['logs', 'logger', '-c', 'a', '-n', ns])).stdout).toBe('one\ntwo\nthree\n');
    expect((await f.kubectl(['logs', 'logger', '-c', 'a', '-n', ns, '--tail', '2'])).stdout).toBe('two\nthree\n');
    expect((await f.kubectl(['logs', 'logger', '-c', 'b', '-n', ns])).stdout).toBe('bee\n');
    const follow = f.kubectl(['logs', '-f', 'logger', '-c', 'a', '-n', ns]);
    await new Promise((r) => setTimeout(r, 500));
    appendFileSync(path, 'four\n');
    const running = await f.core.readNamespacedPod({ name: 'logger', namespace: ns });
    await f.core.replaceNamespacedPodStatus({ name: 'logger', namespace: ns, body: { ...running, status: { phase: 'Succeeded', containerStatuses: [
      { name: 'a', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: new Date() } } },
    ] } } });
    const r = await follow;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('one\ntwo\nthree\nfour\n');
  });

  test('create generators (protobuf bodies): namespace, configmap, secret, serviceaccount match their client-side rendering', async () => {
    const gns = `gen-${suffix()}`;
    const created = await f.kubectl(['create', 'namespace', gns]);
    expect(created.stdout.trim()).toBe(`namespace/${gns} created`);
    expect((await f.core.readNamespace({ name: gns })).status!.phase).toBe('Active');
    const cases: string[][] = [
      ['configmap', 'cfg', '--from-literal=a=1', '--from-literal=b=two words'],
      ['secret', 'generic', 'sec', '--from-literal=user=admin', '--from-literal=pw=s3cr3t', '--type=example.com/custom'],
      ['serviceaccount', 'robot'],
    ];
    for (const args of cases) {
      const rendered = JSON.parse((await f.kubectl(['create', ...args, '-n', gns, '--dry-run=client', '-o', 'json'])).stdout);
      const r = await f.kubectl(['create', ...args, '-n', gns]);
      expect(r.stderr).toBe('');
      const stored = JSON.parse((await f.kubectl(['get', rendered.kind.toLowerCase(), rendered.metadata.name, '-n', gns, '-o', 'json'])).stdout);
      for (const field of ['data', 'type', 'binaryData']) expect(stored[field]).toEqual(rendered[field]);
      expect(stored.metadata.name).toBe(rendered.metadata.name);
    }
    // Kinds whose protobuf schema the server does not carry are refused, not misread.
    const dep = await f.kubectl(['create', 'deployment', 'd', '--image=busybox', '-n', gns]);
    expect(dep.code).not.toBe(0);
    expect(dep.stderr).toContain('the body of the request was in an unknown format');
  });

  test('delete by name and by label; --wait returns after finalizers are gone', async () => {
    const del = await f.kubectl(['delete', 'deployment', 'web', '-n', ns]);
    expect(del.stdout.trim()).toBe('deployment.apps "web" deleted');
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'l1', labels: { drop: 'me' } } } });
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'l2', labels: { drop: 'me' } } } });
    const byLabel = await f.kubectl(['delete', 'configmaps', '-n', ns, '-l', 'drop=me']);
    expect(byLabel.stdout).toContain('configmap "l1" deleted');
    expect(byLabel.stdout).toContain('configmap "l2" deleted');
    const missing = await f.kubectl(['delete', 'configmap', 'l1', '-n', ns]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('NotFound');
    await f.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'held', finalizers: ['example.com/x'] } } });
    const waiting = f.kubectl(['delete', 'configmap', 'held', '-n', ns, '--timeout=60s']);
    await until(async () => (await f.core.readNamespacedConfigMap({ name: 'held', namespace: ns })).metadata!.deletionTimestamp, 'deletion to start');
    await f.core.patchNamespacedConfigMap({ name: 'held', namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    const done = await waiting;
    expect(done.code).toBe(0);
  });
});
