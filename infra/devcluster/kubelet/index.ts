// A kubelet for one named node of the dev cluster. It registers the Node, watches the pods bound
// to it (field selector spec.nodeName) and runs each as local processes (see pod-runtime.ts).
// In every container KUBECONFIG points at the dev cluster's kubeconfig: the stand-in for the
// in-cluster service account, so KubeConfig.loadFromDefault() finds the API server.
// As root, pods get network namespaces on the cluster bridge and kubelet-named cgroups; without
// root they run as plain processes sharing the host network (a warning is logged).
import { cpus, release, totalmem, arch } from 'node:os';
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KubeConfig, V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../../lib/log.js';
import { apiPath, Kube, KubeError, startInformer, type Informer } from '../controllers/kube-client.js';
import { hierarchies } from './cgroups.js';
import { cleanupStateDir } from './cleanup.js';
import { listRecords } from './state-records.js';
import { loadBinTable, loadImageTable } from './images.js';
import type { S3Backend } from './images.js';
import { clusterNetworkFor, ensureClusterNetwork, nodePodCidr, parsePodCidr, PodIpam, removeClusterNetwork, type ClusterNetwork } from './network.js';
import { PodRuntime, type NodeContext } from './pod-runtime.js';
import { eventRecorder } from '../controllers/events.js';
import { acquireClusterDns, releaseClusterDns, type ServiceView } from './cluster-dns.js';
import { acquireApiRelay, releaseApiRelay, type ApiRelay } from './api-proxy.js';
import { proxyRules, renderRuleset, serviceHostLines } from './service-proxy.js';

export { cleanupStateDir } from './cleanup.js';

export interface KubeletOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** the dev cluster's state dir (shared by all its kubelets) */
  stateDir: string;
  /** written into every container's KUBECONFIG */
  kubeconfigPath: string;
  logger: Logger;
  /** 10.X.N.0/24; unset (recommended) = allocated so that dev clusters side by side never overlap */
  podCidr?: string;
  /** heartbeat period of the Node status (default 10 s) */
  heartbeatSeconds?: number;
  /** what a MinIO container runs: the embedded S3 server (default) or a Ceph RGW cluster */
  s3Backend?: S3Backend;
}

export interface Kubelet {
  nodeName: string;
  podCidr: string;
  stop(): Promise<void>;
}

const HEARTBEAT_SECONDS = 10;
/** kubelets per state dir in this process: the last one to stop removes the bridge */
const liveKubelets = new Map<string, number>();
const startupSweeps = new Map<string, Promise<void>>();

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Node index (third octet of its pod CIDR) for a node name, stable within a state dir. */
function nodeIndex(stateDir: string, nodeName: string): number {
  const dir = join(stateDir, 'kubelet', 'nodes');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) {
    if (readFileSync(join(dir, f), 'utf8') === nodeName) return Number(f.replace('index-', ''));
  }
  for (let n = 1; n < 255; n++) {
    try {
      writeFileSync(join(dir, `index-${n}`), nodeName, { flag: 'wx' });
      return n;
    } catch {
      // taken by another node
    }
  }
  throw new Error('more than 254 nodes in one dev cluster');
}

export function nodeObject(name: string, podCidr: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch() === 'x64' ? 'amd64' : arch(), 'beta.kubernetes.io/os': 'linux' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
  };
}

function nodeStatus(name: string, hostIP: string): Record<string, unknown> {
  const t = nowIso();
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: t, lastTransitionTime: t });
  const capacity = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110', 'ephemeral-storage': '10Gi' };
  return {
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [{ type: 'InternalIP', address: hostIP }, { type: 'Hostname', address: name }],
    capacity,
    allocatable: capacity,
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: '', systemUUID: '', bootID: '', kernelVersion: release(), osImage: 'snoopy dev cluster', containerRuntimeVersion: 'snoopy-dev://1.0',
      kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: arch() === 'x64' ? 'amd64' : arch(),
    },
  };
}

async function registerNode(kube: Kube, name: string, podCidr: string, hostIP: string): Promise<void> {
  const path = apiPath('v1', 'nodes', undefined, name);
  const body = nodeObject(name, podCidr);
  try {
    await kube.create(apiPath('v1', 'nodes'), body);
  } catch (e) {
    if (!(e instanceof KubeError && e.code === 409)) throw e;
    await kube.mergePatch(path, { metadata: body.metadata, spec: body.spec });
  }
  await kube.mergePatch(apiPath('v1', 'nodes', undefined, name, 'status'), { status: nodeStatus(name, hostIP) });
}

/** The node's heartbeat Lease in kube-node-lease, as kubelet renews it. */
async function renewLease(kube: Kube, node: string, periodSeconds: number): Promise<void> {
  const micro = new Date().toISOString().replace(/\.(\d+)Z$/, (_m, ms: string) => `.${ms.padEnd(6, '0')}Z`);
  const path = apiPath('coordination.k8s.io/v1', 'leases', 'kube-node-lease', node);
  const spec = { holderIdentity: node, leaseDurationSeconds: periodSeconds * 4, renewTime: micro };
  try {
    await kube.mergePatch(path, { spec });
  } catch (e) {
    if (!(e instanceof KubeError && e.code === 404)) throw e;
    await kube.create(apiPath('coordination.k8s.io/v1', 'leases', 'kube-node-lease'), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: node, namespace: 'kube-node-lease', ownerReferences: [] },
      spec,
    });
  }
}

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  // one spelling of the state dir: it keys the records, the reservation and shared state
  const o = { ...opts, stateDir: resolve(opts.stateDir), kubeconfigPath: resolve(opts.kubeconfigPath) };
  const first = !liveKubelets.has(o.stateDir);
  liveKubelets.set(o.stateDir, (liveKubelets.get(o.stateDir) ?? 0) + 1);
  if (first) {
    // a state dir belongs to one run: what a crashed run left is removed before this one starts
    // (kubelets of the same run starting side by side wait for the same sweep)
    startupSweeps.set(
      o.stateDir,
      (async () => {
        if (listRecords(o.stateDir).length === 0) return;
        const { removed } = await cleanupStateDir(o.stateDir);
        o.logger.warn({ stateDir: o.stateDir, removed }, 'removed what an earlier run left behind');
      })(),
    );
  }
  const held: Held = { relay: false };
  try {
    await startupSweeps.get(o.stateDir);
    return await start(o, held);
  } catch (e) {
    // a kubelet that failed to start leaves nothing behind (the bridge if it was the only one)
    await releaseKubelet(o.stateDir, held);
    throw e;
  }
}

interface Held {
  relay: boolean;
  dns?: ServiceView;
}

async function releaseKubelet(stateDir: string, held: Held): Promise<void> {
  if (held.relay) await releaseApiRelay(stateDir);
  held.relay = false;
  if (held.dns) await releaseClusterDns(stateDir, held.dns);
  held.dns = undefined;
  const left = (liveKubelets.get(stateDir) ?? 1) - 1;
  liveKubelets.set(stateDir, left);
  if (left > 0) return;
  liveKubelets.delete(stateDir);
  startupSweeps.delete(stateDir);
  const file = join(stateDir, 'kubelet', 'network.json');
  if (existsSync(file)) await removeClusterNetwork(stateDir, clusterNetworkFor((JSON.parse(readFileSync(file, 'utf8')) as { octet: number }).octet));
  await cleanupStateDir(stateDir);
}

async function start(o: KubeletOptions, held: Held): Promise<Kubelet> {
  const log = o.logger.child({ node: o.nodeName });
  const kube = new Kube(o.kubeConfig);
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) log.warn('not root: pods run without network namespaces, cgroups or private mounts, sharing the host network');
  let net: ClusterNetwork | undefined;
  let ipam: PodIpam | undefined;
  let podCidr: string;
  let hostIP = '127.0.0.1';
  let relay: ApiRelay | undefined;
  let dnsServer: string | undefined;
  let services: Informer<V1Service> | undefined;
  let endpoints: Informer<V1Endpoints> | undefined;
  const dnsView: ServiceView = { services: () => services?.list() ?? [], endpoints: () => endpoints?.list() ?? [] };
  if (isRoot) {
    const want = o.podCidr ? parsePodCidr(o.podCidr) : undefined;
    net = await ensureClusterNetwork(o.stateDir, want?.octet);
    const index = want && want.octet === net.octet ? want.nodeIndex : nodeIndex(o.stateDir, o.nodeName);
    podCidr = nodePodCidr(net, index);
    ipam = new PodIpam(net.octet, index);
    hostIP = net.gateway;
    relay = await acquireApiRelay(o.stateDir, o.kubeConfig.getCurrentCluster()!.server, net.gateway, o.kubeconfigPath);
    held.relay = relay !== undefined;
    try {
      await acquireClusterDns(o.stateDir, net.gateway, dnsView);
      held.dns = dnsView;
      dnsServer = net.gateway;
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cluster DNS not started: pods use the host resolv.conf');
    }
  } else podCidr = o.podCidr ?? `10.244.${nodeIndex(o.stateDir, o.nodeName)}.0/24`;

  const pods = new Map<string, PodRuntime>();
  const ctx: NodeContext = {
    kube,
    nodeName: o.nodeName,
    stateDir: o.stateDir,
    kubeconfigPath: o.kubeconfigPath,
    podKubeconfigPath: relay?.kubeconfigPath ?? o.kubeconfigPath,
    dnsServer,
    log,
    isRoot,
    net,
    ipam,
    hostIP,
    hierarchies: isRoot ? hierarchies() : [],
    images: { table: loadImageTable(), bins: loadBinTable(), s3Backend: o.s3Backend ?? 'embedded' },
    serviceHosts: (ns) => serviceHostLines(services?.list() ?? [], endpoints?.list() ?? [], ns),
    proxyRuleset: () => renderRuleset(proxyRules(services?.list() ?? [], endpoints?.list() ?? [])),
    event: eventRecorder(kube, 'kubelet', log, o.nodeName),
  };

  await registerNode(kube, o.nodeName, podCidr, hostIP);
  await renewLease(kube, o.nodeName, o.heartbeatSeconds ?? HEARTBEAT_SECONDS).catch((e: Error) => log.debug({ err: e.message }, 'node lease not renewed'));
  const heartbeat = setInterval(() => {
    renewLease(kube, o.nodeName, o.heartbeatSeconds ?? HEARTBEAT_SECONDS).catch((e: Error) => log.debug({ err: e.message }, 'node lease not renewed'));
    kube.mergePatch(apiPath('v1', 'nodes', undefined, o.nodeName, 'status'), { status: nodeStatus(o.nodeName, hostIP) }).catch((e: Error) => {
      if (e instanceof KubeError && e.code === 404) registerNode(kube, o.nodeName, podCidr, hostIP).catch(() => undefined);
      else log.debug({ err: e.message }, 'node heartbeat failed');
    });
  }, (o.heartbeatSeconds ?? HEARTBEAT_SECONDS) * 1000);

  // service proxy and /etc/hosts follow Services and Endpoints, debounced
  let refreshTimer: NodeJS.Timeout | undefined;
  const refresh = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = undefined;
      for (const p of pods.values()) {
        p.writeHosts();
        void p.applyProxyRules();
      }
    }, 100);
  };
  services = startInformer<V1Service>(kube, '/api/v1/services', {}, log);
  endpoints = startInformer<V1Endpoints>(kube, '/api/v1/endpoints', {}, log);
  for (const inf of [services, endpoints] as Array<Informer<V1Service | V1Endpoints>>) for (const v of ['add', 'update', 'delete'] as const) inf.on(v, refresh);
  try {
    await Promise.all([services.started, endpoints.started]);
  } catch (e) {
    clearInterval(heartbeat);
    await Promise.all([services.stop(), endpoints.stop()]);
    throw e;
  }

  let stopping = false;
  const removePod = (pod: V1Pod) =>
    kube.delete(apiPath('v1', 'pods', pod.metadata!.namespace, pod.metadata!.name), { gracePeriodSeconds: 0, uid: pod.metadata!.uid }).catch((e: Error) => log.warn({ err: e.message, pod: pod.metadata?.name }, 'removing the pod object failed'));
  const onPod = (pod: V1Pod) => {
    if (stopping) return;
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== o.nodeName) return;
    const known = pods.get(uid);
    if (known) {
      known.update(pod);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // finished before this kubelet started: only its deletion is left to do
      if (pod.metadata?.deletionTimestamp) void removePod(pod); // its failure is logged
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      void removePod(pod); // its failure is logged
      return;
    }
    const rt = new PodRuntime(pod, ctx, (gone) => pods.delete(gone));
    pods.set(uid, rt);
    rt.start().catch((e: Error) => log.error({ err: e.message, pod: pod.metadata?.name }, 'pod start failed'));
  };
  // handlers attached before the first list arrives
  const podInformer = startInformer<V1Pod>(kube, '/api/v1/pods', { fieldSelector: `spec.nodeName=${o.nodeName}` }, log);
  podInformer.on('add', onPod);
  podInformer.on('update', onPod);
  podInformer.on('delete', (pod) => {
    const rt = pods.get(pod.metadata?.uid ?? '');
    if (rt) void rt.terminate(0, false);
  });
  try {
    await podInformer.started;
  } catch (e) {
    clearInterval(heartbeat);
    await Promise.all([services.stop(), endpoints.stop(), podInformer.stop()]);
    throw e;
  }
  log.info({ podCidr, hostIP }, 'kubelet started');

  return {
    nodeName: o.nodeName,
    podCidr,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeat);
      if (refreshTimer) clearTimeout(refreshTimer);
      await Promise.all([podInformer.stop(), services!.stop(), endpoints!.stop()]);
      await Promise.all([...pods.values()].map((p) => p.terminate(2, false)));
      await releaseKubelet(o.stateDir, held);
      log.info('kubelet stopped');
    },
  };
}
