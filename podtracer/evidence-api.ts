// What the Kubernetes API knows of the target for its evidence: the pod's IPs, node and labels,
// and the Services whose EndpointSlices list one of its IPs (with their cluster IPs, so the
// analyzer can name a ClusterIP). Read-only (the capture role grants get on pods and services,
// list on endpointslices); any failure leaves the facts out and says why, never fatal.
import type { EvidenceIdentity } from '../lib/evidence/assemble.js';
import type { PeerName } from '../lib/evidence/schema.js';

export type PodFacts = Pick<EvidenceIdentity, 'podIPs' | 'labels' | 'services' | 'node'>;

interface PodObject {
  spec?: { nodeName?: string };
  metadata?: { labels?: Record<string, string> };
  status?: { podIP?: string; podIPs?: Array<{ ip?: string }> };
}
interface SliceObject {
  metadata?: { labels?: Record<string, string> };
  endpoints?: Array<{ addresses?: string[] }>;
}

async function apiClients() {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return { k8s, kc, core: kc.makeApiClient(k8s.CoreV1Api) };
}

/** Pages of the cluster's Services read at most (500 each) to name cluster IPs. */
const SERVICE_PAGES = 20;
/** Pod look-ups (one List with a field selector each) running at once. */
const POD_LOOKUPS_PARALLEL = 8;

interface ServiceObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { clusterIP?: string; clusterIPs?: string[] };
}

/**
 * Names the pod's peers: one paged List of the cluster's Services for their cluster IPs, then, for
 * each address no Service has, one List of pods with `status.podIP=ADDRESS` (no field selector
 * takes several values; host-network pods, which share their node's address, are left out with
 * `spec.hostNetwork!=true`, which also matches a pod whose field is unset). The
 * caller bounds the addresses (MAX_PEERS) and the time. Needs list on services and pods.
 */
export async function peerNames(addresses: readonly string[]): Promise<{ peers: PeerName[]; problems: string[] }> {
  const peers: PeerName[] = [];
  const problems: string[] = [];
  if (addresses.length === 0) return { peers, problems };
  const { core } = await apiClients();
  const wanted = new Set(addresses);
  const named = new Set<string>();
  try {
    let cont: string | undefined;
    for (let page = 0; page < SERVICE_PAGES; page++) {
      const list = await core.listServiceForAllNamespaces({ limit: 500, ...(cont ? { _continue: cont } : {}) });
      for (const svc of list.items as ServiceObject[]) {
        for (const ip of svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])) {
          if (wanted.has(ip) && !named.has(ip)) {
            named.add(ip);
            peers.push({ ip, kind: 'service', namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '' });
          }
        }
      }
      cont = list.metadata?._continue;
      if (!cont) break;
    }
  } catch (err) {
    problems.push(`api services: ${(err as Error).message}`);
  }
  const queue = addresses.filter((ip) => !named.has(ip));
  await Promise.all(
    Array.from({ length: POD_LOOKUPS_PARALLEL }, async () => {
      for (let ip = queue.shift(); ip !== undefined; ip = queue.shift()) {
        try {
          const pods = (await core.listPodForAllNamespaces({ fieldSelector: `status.podIP=${ip},spec.hostNetwork!=true`, limit: 5 })).items as Array<{
            metadata?: { name?: string; namespace?: string };
            status?: { phase?: string };
          }>;
          // a finished pod may keep the address of a running one
          const pod = pods.find((p) => p.status?.phase === 'Running') ?? pods[0];
          if (pod) peers.push({ ip, kind: 'pod', namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '' });
        } catch (err) {
          problems.push(`api pods with IP ${ip}: ${(err as Error).message}`);
          queue.length = 0;
        }
      }
    }),
  );
  peers.sort((a, b) => addresses.indexOf(a.ip) - addresses.indexOf(b.ip));
  return { peers, problems };
}

export async function podFacts(namespace: string, name: string): Promise<{ facts: PodFacts; problems: string[] }> {
  const { k8s, kc, core } = await apiClients();
  const problems: string[] = [];
  const facts: PodFacts = { podIPs: [] };
  try {
    const pod = (await core.readNamespacedPod({ name, namespace })) as PodObject;
    const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
    facts.podIPs = ips.length > 0 ? ips : pod.status?.podIP ? [pod.status.podIP] : [];
    if (pod.spec?.nodeName) facts.node = pod.spec.nodeName;
    if (pod.metadata?.labels) facts.labels = pod.metadata.labels;
  } catch (err) {
    problems.push(`api pod: ${(err as Error).message}`);
    return { facts, problems };
  }
  try {
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const slices = (await discovery.listNamespacedEndpointSlice({ namespace })).items as SliceObject[];
    const names = new Set<string>();
    for (const s of slices) {
      const service = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (service && (s.endpoints ?? []).some((e) => (e.addresses ?? []).some((a) => facts.podIPs.includes(a)))) names.add(service);
    }
    facts.services = [];
    for (const service of [...names].sort()) {
      try {
        const svc = await core.readNamespacedService({ name: service, namespace });
        const clusterIPs = (svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : [])).filter((ip) => ip !== 'None');
        facts.services.push({ name: service, namespace, clusterIPs });
      } catch (err) {
        problems.push(`api service ${service}: ${(err as Error).message}`);
        facts.services.push({ name: service, namespace, clusterIPs: [] });
      }
    }
  } catch (err) {
    problems.push(`api endpointslices: ${(err as Error).message}`);
  }
  return { facts, problems };
}
