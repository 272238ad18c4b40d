// The controllers' and kubelet's pure decisions: scheduling filters, cron schedules and Job
// names, pod template hashes, Endpoints subsets, the service proxy ruleset, the image table
// and container environments.
import { describe, expect, test } from '@jest/globals';
import type { V1Container, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { cronJobName, parseSchedule } from '../controllers/cronjob.js';
import { podTemplateHash } from '../controllers/deployment.js';
import { endpointSubsets } from '../controllers/endpoints.js';
import { containerFailure, knativeChildren, revisionFailure } from '../controllers/knative.js';
import { WorkQueue } from '../controllers/runtime.js';
import { schedule, unfitReason } from '../controllers/scheduler.js';
import { EnvError, expandRefs, resolveEnv } from '../kubelet/env.js';
import { findImage, imageRepository, loadBinTable, loadImageTable, resolveCommand } from '../kubelet/images.js';
import { proxyRules, renderRuleset, serviceHostLines } from '../kubelet/service-proxy.js';
import { createLogger } from '../../../lib/log.js';

const node = (name: string, extra: Partial<V1Node['spec']> = {}, labels: Record<string, string> = {}, ready = true): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: extra,
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const pod = (spec: Partial<V1Pod['spec']> = {}): V1Pod => ({ metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c' }], ...spec } });

describe('scheduler', () => {
  const nodes = [node('a'), node('b', {}, { disk: 'ssd' }), node('c', { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }), node('d', {}, {}, false)];

  test('least loaded fitting node wins; not-ready and tainted nodes are skipped', () => {
    expect(schedule(pod(), nodes, new Map([['a', 3], ['b', 1]]))).toEqual({ node: 'b' });
    expect(schedule(pod(), nodes, new Map())).toEqual({ node: 'a' });
    expect(unfitReason(pod(), nodes[3]!)).toBe('node(s) were not ready');
    expect(unfitReason(pod(), nodes[2]!)).toBe('node(s) had untolerated taint {dedicated: x}');
    expect(unfitReason(pod({ tolerations: [{ operator: 'Exists' }] }), nodes[2]!)).toBeUndefined();
    expect(unfitReason(pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'y' }] }), nodes[2]!)).toBeDefined();
  });

  test('nodeSelector and required node affinity (In, NotIn, Exists, matchFields)', () => {
    expect(schedule(pod({ nodeSelector: { disk: 'ssd' } }), nodes, new Map())).toEqual({ node: 'b' });
    const aff = (expr: unknown, fields?: unknown) => pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: expr as never, matchFields: fields as never }] } } } });
    expect(schedule(aff([{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['a'] }]), nodes, new Map())).toEqual({ node: 'b' });
    expect(schedule(aff([{ key: 'disk', operator: 'Exists' }]), nodes, new Map())).toEqual({ node: 'b' });
    expect(schedule(aff(undefined, [{ key: 'metadata.name', operator: 'In', values: ['c'] }]), [nodes[0]!, node('c')], new Map())).toEqual({ node: 'c' });
    expect(schedule(aff([{ key: 'kubernetes.io/hostname', operator: 'In', values: ['zz'] }]), nodes, new Map())).toEqual({
      unschedulable: "0/4 nodes are available: 3 node(s) didn't match Pod's node affinity/selector, 1 node(s) were not ready.",
    });
  });
});

describe('cron schedules', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  test('5-field schedules, macros, time zones; Job names in minutes since the epoch', () => {
    const s = parseSchedule('*/15 * * * *', undefined, false);
    expect(s.timesBetween(t0, t0 + 3_600_000).map((t) => new Date(t).toISOString())).toEqual([
      '2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T00:45:00.000Z', '2026-01-01T01:00:00.000Z',
    ]);
    expect(new Date(parseSchedule('@hourly', undefined, false).next(t0)).toISOString()).toBe('2026-01-01T01:00:00.000Z');
    expect(new Date(parseSchedule('0 9 * * *', 'Europe/Paris', false).next(t0)).toISOString()).toBe('2026-01-01T08:00:00.000Z');
    expect(new Date(parseSchedule('CRON_TZ=America/New_York 0 9 * * *', undefined, false).next(t0)).toISOString()).toBe('2026-01-01T14:00:00.000Z');
    expect(cronJobName('backup', Date.parse('2026-01-01T00:15:00Z'), false)).toBe(`backup-${Date.parse('2026-01-01T00:15:00Z') / 60000}`);
  });

  test('seconds only with the test clock; nonsense refused', () => {
    expect(() => parseSchedule('*/2 * * * * *', undefined, false)).toThrow(/DEVCLUSTER_CRON_SECONDS/);
    expect(parseSchedule('*/2 * * * * *', undefined, true).timesBetween(t0, t0 + 6000)).toEqual([t0 + 2000, t0 + 4000, t0 + 6000]);
    expect(() => parseSchedule('61 * * * *', undefined, false)).toThrow();
    expect(() => parseSchedule('* *', undefined, false)).toThrow(/5 fields/);
  });
});

describe('workloads', () => {
  test('pod template hash is stable and changes with the template', () => {
    const a = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect(podTemplateHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(podTemplateHash(a)).toBe(podTemplateHash({ spec: { containers: [{ image: 'busybox', name: 'c' }] }, metadata: { labels: { app: 'x' } } }));
    expect(podTemplateHash(a)).not.toBe(podTemplateHash({ ...a, spec: { containers: [{ name: 'c', image: 'alpine' }] } }));
  });

  test('Endpoints: ready/not-ready addresses, named target ports, pods without the port skipped', () => {
    const svc: V1Service = { metadata: { name: 's', namespace: 'ns' }, spec: { selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 'web' as never }] } };
    const p = (name: string, ip: string, ready: boolean, port?: number, phase = 'Running'): V1Pod => ({
      metadata: { name, namespace: 'ns', uid: name, labels: { app: 'x' } },
      spec: { nodeName: 'n', containers: [{ name: 'c', ports: port ? [{ name: 'web', containerPort: port }] : [] }] },
      status: { phase, podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const subsets = endpointSubsets(svc, [p('a', '10.0.0.2', true, 8080), p('b', '10.0.0.3', false, 8080), p('c', '10.0.0.4', true, 9090), p('d', '10.0.0.5', true), p('e', '10.0.0.6', true, 8080, 'Succeeded')]);
    expect(subsets).toHaveLength(2);
    expect(subsets.find((s) => s.ports![0]!.port === 8080)).toMatchObject({ addresses: [{ ip: '10.0.0.2' }], notReadyAddresses: [{ ip: '10.0.0.3' }] });
    expect(subsets.find((s) => s.ports![0]!.port === 9090)!.addresses!.map((a) => a.ip)).toEqual(['10.0.0.4']);
  });

  test('Knative children: PORT from the h2c port, a Service on port 80, user-container name', () => {
    const k = knativeChildren({ metadata: { name: 'collector', namespace: 'snoopy', uid: 'u', generation: 2 }, spec: { template: { spec: { containers: [{ image: 'snoopy/collector', ports: [{ name: 'h2c', containerPort: 8080 }], env: [{ name: 'PORT', value: '1' }] } as V1Container] } } } });
    const c = (k.deployment.spec as { template: { spec: { containers: V1Container[] } } }).template.spec.containers[0]!;
    expect(c.name).toBe('user-container');
    expect(c.env!.filter((e) => e.name === 'PORT')).toEqual([{ name: 'PORT', value: '8080' }]);
    expect(c.env!.find((e) => e.name === 'K_REVISION')!.value).toBe('collector-00002');
    // port 80 leads to queue-proxy's 8012, which forwards to the container's 8080
    expect((k.service.spec as { ports: unknown[] }).ports).toEqual([{ name: 'http2', port: 80, targetPort: 8012, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }]);
    const qp = (k.deployment.spec as { template: { spec: { containers: V1Container[] } } }).template.spec.containers[1]!;
    expect(qp.name).toBe('queue-proxy');
    expect(Object.fromEntries(qp.env!.map((e) => [e.name, e.value]))).toEqual({ USER_PORT: '8080', SERVING_PROTOCOL: 'h2c', TIMEOUT_SECONDS: '300', RESPONSE_START_TIMEOUT_SECONDS: '300', IDLE_TIMEOUT_SECONDS: '0' });
  });

  test('Knative revision failures: reserved ports, timeouts over the maximum, unresolvable tags, exited containers', () => {
    const ks = (image: string, extra: Record<string, unknown> = {}, port = 8080) => ({ metadata: { name: 'c', namespace: 'n' }, spec: { template: { spec: { containers: [{ name: 'c', image, ports: [{ containerPort: port }] } as V1Container], ...extra } } } });
    expect(revisionFailure(ks('kind.local/snoopy/collector:dev'))).toBeUndefined();
    expect(revisionFailure(ks('snoopy/collector:latest'))).toMatch(/^Unable to fetch image "snoopy\/collector:latest": failed to resolve image to digest/);
    expect(revisionFailure(ks('registry.example/snoopy/collector:v1'), ['registry.example'])).toBeUndefined();
    expect(revisionFailure(ks('dev.local/x', {}, 9090))).toMatch(/port 9090 is reserved/);
    expect(revisionFailure(ks('dev.local/x', { idleTimeoutSeconds: 900 }))).toBe('expected 0 <= 900 <= 600: spec.template.spec.idleTimeoutSeconds');
    const pod = (exitCode: number, message: string) => ({ status: { containerStatuses: [{ name: 'queue-proxy', ready: false, restartCount: 1, image: 'x', imageID: '', lastState: { terminated: { exitCode, message } } }] } }) as unknown as V1Pod;
    expect(containerFailure([pod(1, 'snoopy-queue-proxy: queue-proxy cannot hold its port: listen EADDRINUSE: address already in use 0.0.0.0:9090\n')])).toBe(
      'Container failed with: snoopy-queue-proxy: queue-proxy cannot hold its port: listen EADDRINUSE: address already in use 0.0.0.0:9090 (container queue-proxy, exit code 1)',
    );
    // node's trace for an unhandled 'error' event: the thrown error's line, not the line above it
    const trace = "node:events:497\n      throw er; // Unhandled 'error' event\n      ^\n\nError: listen EADDRINUSE: address already in use :::9090\n    at Server.setupListenHandle [as _listen2] (node:net:1908:16)\n";
    expect(containerFailure([pod(1, trace)])).toBe('Container failed with: Error: listen EADDRINUSE: address already in use :::9090 (container queue-proxy, exit code 1)');
    expect(containerFailure([pod(2, 'starting\ncannot open config\nbye\n')])).toBe('Container failed with: cannot open config (container queue-proxy, exit code 2)');
    expect(containerFailure([pod(0, '')])).toBeUndefined();
  });
});

describe('service proxy', () => {
  const svc = (name: string, ns: string, ip: string, port = 80): V1Service => ({ metadata: { name, namespace: ns }, spec: { clusterIP: ip, ports: [{ name: 'http', port, protocol: 'TCP' }] } });
  const ep = (name: string, ns: string, ips: string[], port = 8080) => ({ metadata: { name, namespace: ns }, subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port, protocol: 'TCP' }] }] });

  test('DNAT rules per ClusterIP port, random choice among endpoints, a reject without endpoints', () => {
    const rules = proxyRules([svc('a', 'x', '10.96.0.10'), svc('b', 'y', '10.96.0.11'), svc('c', 'y', '10.96.0.12')], [ep('a', 'x', ['10.200.1.2']), ep('b', 'y', ['10.200.1.3', '10.200.2.3'])]);
    const text = renderRuleset(rules);
    expect(text).toContain('ip daddr 10.96.0.10 tcp dport 80 dnat to 10.200.1.2:8080\n');
    expect(text).toContain('ip daddr 10.96.0.11 tcp dport 80 dnat to numgen random mod 2 map { 0 : 10.200.1.3 . 8080, 1 : 10.200.2.3 . 8080 }\n');
    expect(text).not.toContain('10.96.0.12 tcp dport 80 dnat');
    expect(text).toContain('    type filter hook output priority 0; policy accept;\n    ip daddr 10.96.0.12 tcp dport 80 reject with icmp type port-unreachable\n');
    expect(text.startsWith('table ip snoopy-svc\ndelete table ip snoopy-svc\n')).toBe(true);
  });

  test('/etc/hosts names: FQDN everywhere, short name in the own namespace', () => {
    const lines = serviceHostLines([svc('web', 'shop', '10.96.0.20'), svc('db', 'other', '10.96.0.21')], [], 'shop');
    expect(lines).toEqual(['10.96.0.20\tweb.shop.svc.cluster.local\tweb.shop.svc\tweb.shop\tweb', '10.96.0.21\tdb.other.svc.cluster.local\tdb.other.svc\tdb.other']);
  });
});

describe('image table and environment', () => {
  const ctx = { table: loadImageTable(), bins: loadBinTable(), buildRoot: '/build' };

  test('image references normalise to the table keys', () => {
    expect(imageRepository('registry.example/fennec/snoopy/podtracer:v1.2@sha256:abc')).toBe('fennec/snoopy/podtracer');
    expect(imageRepository('mirror.example:5000/library/busybox:1.36')).toBe('busybox');
    expect(imageRepository('localhost:5000/snoopy/operator')).toBe('snoopy/operator');
    expect(findImage(ctx.table, 'registry.example/org/snoopy/podtracer:latest')?.kind).toBe('repo');
    expect(findImage(ctx.table, 'registry.example/unknown:1')).toBeUndefined();
  });

  test("snoopy images run this repository's executables; others run their command with host binaries", () => {
    expect(resolveCommand(ctx, { image: 'snoopy/podtracer:dev', args: ['run', '--pod', 'x'] }, {}).argv).toEqual([process.execPath, '/build/podtracer/main.js', 'run', '--pod', 'x']);
    expect(resolveCommand(ctx, { image: 'snoopy/podtracer', command: ['podtracer', 'run'], args: ['-n', 'ns'] }, {}).argv).toEqual([process.execPath, '/build/podtracer/main.js', 'run', '-n', 'ns']);
    expect(resolveCommand(ctx, { image: 'busybox', command: ['sleep'], args: ['5'] }, {}).argv).toEqual(['sleep', '5']);
    expect(resolveCommand(ctx, { image: 'busybox' }, {}).argv).toEqual(['sh']);
    expect(() => resolveCommand(ctx, { image: 'unknown/thing' }, {})).toThrow(/no command/);
  });

  test('minio/minio becomes snoopy-s3 on the same port and directory with the root credentials', () => {
    const r = resolveCommand(ctx, { image: 'minio/minio:RELEASE', args: ['server', '/data', '--console-address', ':9001'] }, { MINIO_ROOT_USER: 'u', MINIO_ROOT_PASSWORD: 'p' });
    expect(r.argv).toEqual([process.execPath, '/build/infra/s3/main.js', '--port', '9000', '--address', '0.0.0.0', '--directory', '/data', '--access-key', 'u', '--secret-key', 'p']);
  });

  test('env: envFrom, $(VAR) expansion, downward API, Secrets and ConfigMaps, missing keys refused', () => {
    const p: V1Pod = { metadata: { name: 'p1', namespace: 'ns', uid: 'u1', labels: { app: 'x' } }, spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [] }, status: { podIP: '10.0.0.9' } };
    const src = { secrets: new Map([['s', { data: { k: Buffer.from('secret').toString('base64') } }]]), configMaps: new Map([['c', { data: { A: '1', B: '2' } }]]) };
    const c: V1Container = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'c' }, prefix: 'CM_' }],
      env: [
        { name: 'X', value: 'x' },
        { name: 'Y', value: '$(X)-$(CM_A)-$$(X)-$(NOPE)' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'SEC', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'missing', key: 'k', optional: true } } },
      ],
    };
    expect(resolveEnv(p, c, src, '10.0.0.1')).toEqual({ CM_A: '1', CM_B: '2', X: 'x', Y: 'x-1-$(X)-$(NOPE)', POD: 'p1', NODE: 'n1', IP: '10.0.0.9', APP: 'x', SEC: 'secret' });
    expect(() => resolveEnv(p, { name: 'c', env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'nope' } } }] }, src, '')).toThrow(EnvError);
    expect(expandRefs('$(A)$(B)', { A: 'a' })).toBe('a$(B)');
  });
});

describe('work queue', () => {
  const DAY = 86_400_000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('a re-queue beyond the 24.8 days node timers hold waits (a monthly schedule, a long TTL), a short one runs', async () => {
    const handled: string[] = [];
    const q = new WorkQueue('test', async (key) => void handled.push(key), createLogger('test'));
    try {
      q.addAfter('monthly', 31 * DAY);
      q.addAfter('soon', 20);
      // the earlier request for a key wins over a later one
      q.addAfter('both', 40 * DAY);
      q.addAfter('both', 30);
      for (let i = 0; i < 100 && handled.length < 2; i++) await sleep(20);
      await sleep(200);
      expect(handled.sort()).toEqual(['both', 'soon']);
    } finally {
      q.stop();
    }
  });
});
