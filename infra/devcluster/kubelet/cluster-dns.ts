// The dev cluster's DNS (the CoreDNS stand-in): a UDP server on the bridge address, port 53,
// answering `<svc>.<ns>.svc.cluster.local` with the Service's ClusterIP (headless Services: their
// ready endpoints), NXDOMAIN for other names under cluster.local, and relaying every other query
// to the host's first nameserver. Pods in their own network namespace (dnsPolicy ClusterFirst)
// get a resolv.conf pointing at it with the usual search path, so tools that speak DNS themselves
// (dig, nslookup) resolve Service names as in a real cluster, and the queries are on the wire.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';

export const CLUSTER_DOMAIN = 'cluster.local';
const TTL = 5;
const NXDOMAIN = 3;
const SERVFAIL = 2;

export interface ServiceView {
  services(): ReadonlyArray<V1Service>;
  endpoints(): ReadonlyArray<V1Endpoints>;
}

/** IPv4 addresses for a cluster name; undefined = not a cluster name (relay it). [] = NXDOMAIN. */
export function resolveClusterName(name: string, view: ServiceView): string[] | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n !== CLUSTER_DOMAIN && !n.endsWith(`.${CLUSTER_DOMAIN}`)) return undefined;
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(n);
  if (!m) return [];
  const svc = view.services().find((s) => s.metadata?.name === m[1] && s.metadata?.namespace === m[2]);
  if (!svc) return [];
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None') return [ip];
  const ep = view.endpoints().find((e) => e.metadata?.name === m[1] && e.metadata?.namespace === m[2]);
  return (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
}

/** resolv.conf of a pod with dnsPolicy ClusterFirst in `namespace`. */
export function podResolvConf(namespace: string, nameserver: string): string {
  return `search ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\nnameserver ${nameserver}\noptions ndots:5\n`;
}

function hostNameserver(): string | undefined {
  try {
    const m = /^\s*nameserver\s+(\S+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

export interface ClusterDns {
  close(): Promise<void>;
}

export async function startClusterDns(address: string, view: () => ServiceView | undefined, port = 53): Promise<ClusterDns> {
  const sock: Socket = createSocket('udp4');
  const upstream = hostNameserver();
  const reply = (msg: Buffer, rinfo: { address: string; port: number }) => sock.send(msg, rinfo.port, rinfo.address);
  sock.on('message', (msg, rinfo) => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return; // not DNS
    }
    const question = q.questions?.[0];
    const v = view();
    const ips = question && v ? resolveClusterName(question.name, v) : undefined;
    if (question && ips === undefined && upstream) {
      relay(msg, upstream).then(
        (answer) => reply(answer, rinfo),
        () => reply(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | SERVFAIL, questions: q.questions }), rinfo),
      );
      return;
    }
    const answers = question?.type === 'A' ? (ips ?? []).map((ip) => ({ type: 'A' as const, name: question.name, ttl: TTL, data: ip })) : [];
    const rcode = !question || ips === undefined ? SERVFAIL : ips.length === 0 ? NXDOMAIN : 0;
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | rcode;
    reply(dnsPacket.encode({ type: 'response', id: q.id, flags, questions: q.questions, answers }), rinfo);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => resolve());
  });
  sock.on('error', () => undefined);
  return { close: () => new Promise<void>((r) => sock.close(() => r())) };
}

function relay(query: Buffer, server: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('upstream DNS timeout'));
    }, 2000);
    s.once('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      s.close();
      reject(e);
    });
    s.send(query, 53, server);
  });
}

const shared = new Map<string, { dns: Promise<ClusterDns>; views: Set<ServiceView> }>();

/** Starts (or joins) the dev cluster's DNS server; the kubelets' Service caches answer it. */
export async function acquireClusterDns(stateDir: string, address: string, view: ServiceView): Promise<void> {
  let entry = shared.get(stateDir);
  if (!entry) {
    const views = new Set<ServiceView>();
    const dns = startClusterDns(address, () => views.values().next().value);
    entry = { dns, views };
    shared.set(stateDir, entry);
    dns.catch(() => shared.delete(stateDir));
  }
  entry.views.add(view);
  await entry.dns;
}

export async function releaseClusterDns(stateDir: string, view: ServiceView): Promise<void> {
  const entry = shared.get(stateDir);
  if (!entry) return;
  entry.views.delete(view);
  if (entry.views.size > 0) return;
  shared.delete(stateDir);
  await (await entry.dns).close();
}
