// Fake nodes, kwok-style: Node objects with no machine behind them, so that the operator can be
// measured at the scale of hundreds of nodes and thousands of pods on one machine. Pods bound to
// a fake node go Running at once, with a pod IP from the node's pod CIDR and a `fake://`
// container ID, and no process; deleting one removes it at once. Nothing runs in them: captures
// scheduled there do not capture. The nodes carry a NoSchedule taint, so only pods that tolerate it
// (as capture pods tolerate everything) or name the node land there.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { mapLimit } from '../../../lib/kube/client.js';
import type { Logger } from '../../../lib/log.js';
import { Kube, KubeError, apiPath, startInformer } from '../controllers/kube-client.js';
import { WorkQueue, keyOf, splitKey } from '../controllers/runtime.js';

export const FAKE_NODE_LABEL = 'snoopy.dev/fake-node';
export const FAKE_NODE_TAINT = { key: FAKE_NODE_LABEL, value: 'true', effect: 'NoSchedule' } as const;
/** Status writes in flight at once: pods are independent, one serial queue would take minutes for 10,000. */
const WORKERS = 8;
/** Node objects registered at once. */
const REGISTER_CONCURRENCY = 16;

export interface FakeNodesOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  count: number;
  /** node names are `<prefix>-<i>` (default "fake-node") */
  prefix?: string;
}

export interface FakeNodes {
  nodes: string[];
  stop(): Promise<void>;
}

export function fakeNodeNames(count: number, prefix = 'fake-node'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** Node i's pod CIDR: a /24 in 10.128.0.0/9, apart from the real nodes' ranges. */
export function fakePodCidr(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= 128 * 256) throw new Error(`fake node index ${index} out of range (at most 32,768 fake nodes)`);
  return `10.${128 + (index >> 8)}.${index & 255}.0/24`;
}

/** The node's own address: the pod CIDR's .1, as a bridge would have it. */
function hostIpOf(cidr: string): string {
  return cidr.replace(/\.0\/24$/, '.1');
}

export function fakeNodeObject(name: string, index: number): Record<string, unknown> {
  const cidr = fakePodCidr(index);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', [FAKE_NODE_LABEL]: 'true' } },
    spec: { podCIDR: cidr, podCIDRs: [cidr], taints: [FAKE_NODE_TAINT] },
  };
}

export function fakeNodeStatus(name: string, index: number, now: string): Record<string, unknown> {
  const capacity = { cpu: '32', memory: '131072Mi', pods: '250', 'ephemeral-storage': '100Gi' };
  return {
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake node (no kubelet, no processes)', lastHeartbeatTime: now, lastTransitionTime: now }],
    addresses: [{ type: 'InternalIP', address: hostIpOf(fakePodCidr(index)) }, { type: 'Hostname', address: name }],
    capacity,
    allocatable: capacity,
    nodeInfo: {
      machineID: '', systemUUID: '', bootID: '', kernelVersion: '', osImage: 'snoopy dev cluster fake node', containerRuntimeVersion: 'fake://1.0',
      kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64',
    },
  };
}

/** The status a kubelet would report for the pod once all its containers started. */
export function runningPodStatus(pod: V1Pod, hostIP: string, podIP: string, now: string): Record<string, unknown> {
  const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: now,
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name, ready: true, started: true, restartCount: 0, image: c.image ?? '', imageID: '',
      containerID: `fake://${pod.metadata?.uid ?? ''}-${c.name}`,
      state: { running: { startedAt: now } },
    })),
  };
}

/** Hands out pod IPs from each node's /24 (.2 to .254), reusing those of deleted pods. */
export class PodIpAllocator {
  private readonly used = new Map<string, Map<string, string>>();
  ip(cidr: string, podUid: string): string {
    let m = this.used.get(cidr);
    if (!m) this.used.set(cidr, (m = new Map<string, string>()));
    const have = m.get(podUid);
    if (have) return have;
    const taken = new Set(m.values());
    const base = cidr.replace(/\.0\/24$/, '.');
    for (let host = 2; host < 255; host++) {
      const ip = `${base}${host}`;
      if (!taken.has(ip)) { m.set(podUid, ip); return ip; }
    }
    throw new Error(`no pod IP left in ${cidr}`);
  }
  release(cidr: string, podUid: string): void {
    this.used.get(cidr)?.delete(podUid);
  }
}

function shardOf(key: string, n: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % n;
}

export async function startFakeNodes(o: FakeNodesOptions): Promise<FakeNodes> {
  const log = o.logger;
  const kube = new Kube(o.kubeConfig);
  const names = fakeNodeNames(o.count, o.prefix);
  const indexOf = new Map(names.map((n, i) => [n, i]));
  const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const registered = await mapLimit(names, REGISTER_CONCURRENCY, async (name) => {
    const i = indexOf.get(name)!;
    try {
      await kube.create(apiPath('v1', 'nodes'), fakeNodeObject(name, i));
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 409)) throw e;
    }
    await kube.mergePatch(apiPath('v1', 'nodes', undefined, name, 'status'), { status: fakeNodeStatus(name, i, now()) });
  });
  const failed = registered.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;

  const ips = new PodIpAllocator();
  const pods = startInformer<V1Pod>(kube, '/api/v1/pods', {}, log);
  const reconcile = async (key: string): Promise<void> => {
    const [ns, name] = splitKey(key);
    const pod = pods.get(name, ns);
    const i = pod?.spec?.nodeName === undefined ? undefined : indexOf.get(pod.spec.nodeName);
    if (!pod || i === undefined) return;
    const cidr = fakePodCidr(i);
    const path = apiPath('v1', 'pods', ns, name);
    if (pod.metadata?.deletionTimestamp) {
      // no containers to stop: the graceful delete ends at once, as kwok does
      await kube.delete(path, { gracePeriodSeconds: 0, uid: pod.metadata.uid });
      ips.release(cidr, pod.metadata.uid ?? name);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') return;
    const status = runningPodStatus(pod, hostIpOf(cidr), ips.ip(cidr, pod.metadata?.uid ?? name), now());
    await kube.mergePatch(apiPath('v1', 'pods', ns, name, 'status'), { status });
  };
  const queues = Array.from({ length: WORKERS }, (_, w) => new WorkQueue(`fake-nodes-${w}`, reconcile, log));
  const onPod = (p: V1Pod) => {
    if (p.spec?.nodeName !== undefined && indexOf.has(p.spec.nodeName)) {
      const key = keyOf(p);
      queues[shardOf(key, WORKERS)]!.add(key);
    }
  };
  pods.on('add', onPod);
  pods.on('update', onPod);
  pods.on('delete', (p) => {
    const i = p.spec?.nodeName === undefined ? undefined : indexOf.get(p.spec.nodeName);
    if (i !== undefined) ips.release(fakePodCidr(i), p.metadata?.uid ?? '');
  });
  await pods.started;
  log.info({ nodes: names.length }, 'fake nodes registered');
  return {
    nodes: names,
    async stop() {
      for (const q of queues) q.stop();
      await pods.stop();
      log.info('fake nodes stopped');
    },
  };
}
