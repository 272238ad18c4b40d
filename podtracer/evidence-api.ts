// What the Kubernetes API knows of the target for its evidence: the pod's IPs, node and labels,
// and the Services whose EndpointSlices list one of its IPs (with their cluster IPs, so the
// analyzer can name a ClusterIP). Read-only (the capture role grants get on pods and services,
// list on endpointslices); any failure leaves the facts out and says why, never fatal.
import type { EvidenceIdentity } from '../lib/evidence/assemble.js';

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

export async function podFacts(namespace: string, name: string): Promise<{ facts: PodFacts; problems: string[] }> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(k8s.CoreV1Api);
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
