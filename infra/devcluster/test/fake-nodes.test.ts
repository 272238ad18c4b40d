// Fake nodes (kwok-style) with the real API server and controllers: registered Ready and tainted,
// pods bound to them go Running with an IP from the node's CIDR and no process, only pods that
// tolerate the taint are scheduled there, Job pods created by the Job controller land there, and
// deleting a pod removes it at once. No kubelet and no root needed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1Deployment, V1Job, V1Node, V1Pod } from '@kubernetes/client-node';
import { startDevCluster, type DevCluster } from '../cluster.js';
import { Kube, apiPath } from '../controllers/kube-client.js';
import { FAKE_NODE_LABEL, FAKE_NODE_TAINT, PodIpAllocator, fakeNodeNames, fakePodCidr } from '../fake-nodes/index.js';
import { suffix, testLogger, waitFor } from './kubelet-helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('fake node addressing (pure)', () => {
  test('each node gets its own /24 in 10.128.0.0/9; out of range is refused', () => {
    expect(fakePodCidr(0)).toBe('10.128.0.0/24');
    expect(fakePodCidr(255)).toBe('10.128.255.0/24');
    expect(fakePodCidr(256)).toBe('10.129.0.0/24');
    expect(fakePodCidr(32767)).toBe('10.255.255.0/24');
    expect(() => fakePodCidr(32768)).toThrow(/out of range/);
    expect(fakeNodeNames(3)).toEqual(['fake-node-0', 'fake-node-1', 'fake-node-2']);
  });

  test('pod IPs are unique per node, stable per pod, reused after release, and run out after 253', () => {
    const a = new PodIpAllocator();
    expect(a.ip('10.128.0.0/24', 'u1')).toBe('10.128.0.2');
    expect(a.ip('10.128.0.0/24', 'u2')).toBe('10.128.0.3');
    expect(a.ip('10.128.0.0/24', 'u1')).toBe('10.128.0.2');
    expect(a.ip('10.128.1.0/24', 'u3')).toBe('10.128.1.2');
    a.release('10.128.0.0/24', 'u1');
    expect(a.ip('10.128.0.0/24', 'u4')).toBe('10.128.0.2');
    for (let i = 0; i < 251; i++) a.ip('10.128.0.0/24', `fill-${i}`);
    expect(() => a.ip('10.128.0.0/24', 'one-too-many')).toThrow(/no pod IP left/);
  });
});

describe('a dev cluster with fake nodes and no real node', () => {
  let cluster: DevCluster;
  let kube: Kube;
  let stateDir: string;
  const ns = `fake-${suffix()}`;
  const pods = (selector: string) => kube.list<V1Pod>(`${apiPath('v1', 'pods', ns)}?labelSelector=${encodeURIComponent(selector)}`).then((l) => l.items);

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fake-nodes-test-'));
    cluster = await startDevCluster({ nodes: [], fakeNodes: 5, stateDir, logger: testLogger });
    kube = new Kube(cluster.kubeConfig);
    await kube.create(apiPath('v1', 'namespaces'), { metadata: { name: ns } });
  });
  afterAll(async () => {
    await cluster?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  test('the nodes are registered Ready, labelled and tainted', async () => {
    const nodes = (await kube.list<V1Node>(apiPath('v1', 'nodes'))).items;
    expect(nodes.map((n) => n.metadata!.name).sort()).toEqual(fakeNodeNames(5));
    for (const n of nodes) {
      expect(n.metadata!.labels![FAKE_NODE_LABEL]).toBe('true');
      expect(n.spec!.taints).toEqual([FAKE_NODE_TAINT]);
      expect(n.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True');
    }
  });

  test('a Deployment that tolerates the taint spreads over the fake nodes and goes Running with no process', async () => {
    const dep = {
      metadata: { name: 'web' },
      spec: {
        replicas: 10, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { tolerations: [{ key: FAKE_NODE_LABEL, operator: 'Exists' }], containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }] } },
      },
    };
    await kube.create<V1Deployment>(apiPath('apps/v1', 'deployments', ns), dep);
    const running = await waitFor('10 web pods Running', async () => {
      const l = await pods('app=web');
      return l.length === 10 && l.every((p) => p.status?.phase === 'Running') ? l : undefined;
    });
    expect(new Set(running.map((p) => p.spec!.nodeName)).size).toBe(5);
    for (const p of running) {
      const i = fakeNodeNames(5).indexOf(p.spec!.nodeName!);
      const prefix = fakePodCidr(i).replace(/0\/24$/, '');
      expect(p.status!.podIP!.startsWith(prefix)).toBe(true);
      expect(p.status!.containerStatuses![0]!.containerID).toBe(`fake://${p.metadata!.uid}-app`);
      expect(p.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True');
    }
    expect(new Set(running.map((p) => p.status!.podIP)).size).toBe(10);
  });

  test('a pod that does not tolerate the taint is not scheduled there', async () => {
    await kube.create(apiPath('v1', 'pods', ns), { metadata: { name: 'intolerant', labels: { app: 'intolerant' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
    const p = await waitFor('intolerant pod marked unschedulable', async () => {
      const [pod] = await pods('app=intolerant');
      return pod?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') ? pod : undefined;
    });
    expect(p.spec!.nodeName).toBeUndefined();
    expect(p.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message).toContain(`untolerated taint {${FAKE_NODE_LABEL}`);
  });

  test('a Job pinned to a fake node by affinity gets a Running pod there; deleting the pod removes it at once', async () => {
    await kube.create<V1Job>(apiPath('batch/v1', 'jobs', ns), {
      metadata: { name: 'pinned' },
      spec: {
        template: {
          metadata: { labels: { app: 'pinned' } },
          spec: {
            restartPolicy: 'Never', tolerations: [{ operator: 'Exists' }],
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['fake-node-3'] }] }] } } },
            containers: [{ name: 'capture', image: 'busybox' }],
          },
        },
      },
    });
    const pod = await waitFor('the Job pod Running on fake-node-3', async () => {
      const [p] = await pods('app=pinned');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    expect(pod.spec!.nodeName).toBe('fake-node-3');
    await kube.delete(apiPath('v1', 'pods', ns, pod.metadata!.name!));
    await waitFor('the pod gone', async () => !(await pods('app=pinned')).some((p) => p.metadata!.uid === pod.metadata!.uid));
  });
});
