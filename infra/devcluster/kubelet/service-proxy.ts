// The dev cluster's stand-in for kube-proxy and cluster DNS, both inside each pod:
// - /etc/hosts lines for every Service (`<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc`,
//   `<svc>.<ns>`, and `<svc>` within the pod's own namespace) pointing at the ClusterIP (headless
//   Services: at their endpoints);
// - an nftables table in the pod's network namespace whose output chain DNATs
//   ClusterIP:port to a ready endpoint (random choice among several), so replies return straight
//   to the pod and nothing is changed in the host's network namespace; a port without endpoints
//   is rejected, as kube-proxy does.
// Both are rewritten whenever Services or Endpoints change, for pods old and new.
import type { V1Endpoints, V1Service } from '@kubernetes/client-node';

export const PROXY_TABLE = 'snoopy-svc';

export interface Backend {
  ip: string;
  port: number;
}

export interface ProxyRule {
  clusterIP: string;
  port: number;
  protocol: 'tcp' | 'udp';
  backends: Backend[];
}

/** ClusterIP:port → endpoints, matched by port name as kube-proxy does. */
export function proxyRules(services: ReadonlyArray<V1Service>, endpoints: ReadonlyArray<V1Endpoints>): ProxyRule[] {
  const eps = new Map<string, V1Endpoints>();
  for (const e of endpoints) eps.set(`${e.metadata?.namespace}/${e.metadata?.name}`, e);
  const out: ProxyRule[] = [];
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None' || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    const ep = eps.get(`${s.metadata?.namespace}/${s.metadata?.name}`);
    for (const sp of s.spec?.ports ?? []) {
      const proto = (sp.protocol ?? 'TCP').toLowerCase();
      if (proto !== 'tcp' && proto !== 'udp') continue;
      const backends: Backend[] = [];
      for (const sub of ep?.subsets ?? []) {
        const port = (sub.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP').toLowerCase() === proto);
        if (!port) continue;
        for (const a of sub.addresses ?? []) backends.push({ ip: a.ip, port: port.port });
      }
      out.push({ clusterIP: ip, port: sp.port, protocol: proto, backends });
    }
  }
  return out;
}

/**
 * A complete, idempotent nft script (the table is recreated atomically). A Service port without
 * endpoints is rejected (ICMP port unreachable, so a client's connect fails at once), as
 * kube-proxy does: silently dropped, a TCP connect would retry its SYN for about two minutes and
 * keep failing after the endpoint appears, its conntrack entry having been made without the DNAT.
 */
export function renderRuleset(rules: ProxyRule[]): string {
  const lines = [`table ip ${PROXY_TABLE}`, `delete table ip ${PROXY_TABLE}`, `table ip ${PROXY_TABLE} {`, '  chain output {', '    type nat hook output priority -100; policy accept;'];
  const rejects: string[] = [];
  for (const r of rules) {
    const match = `ip daddr ${r.clusterIP} ${r.protocol} dport ${r.port}`;
    if (r.backends.length === 0) rejects.push(`    ${match} reject with icmp type port-unreachable`);
    else if (r.backends.length === 1) lines.push(`    ${match} dnat to ${r.backends[0]!.ip}:${r.backends[0]!.port}`);
    else {
      const map = r.backends.map((b, i) => `${i} : ${b.ip} . ${b.port}`).join(', ');
      lines.push(`    ${match} dnat to numgen random mod ${r.backends.length} map { ${map} }`);
    }
  }
  lines.push('  }');
  // after the DNAT above (priority 0 > -100): what still goes to a ClusterIP has no endpoint
  lines.push('  chain no_endpoints {', '    type filter hook output priority 0; policy accept;', ...rejects, '  }');
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** /etc/hosts lines for the Services, as seen from a pod in `namespace`. */
export function serviceHostLines(services: ReadonlyArray<V1Service>, endpoints: ReadonlyArray<V1Endpoints>, namespace: string): string[] {
  const eps = new Map<string, V1Endpoints>();
  for (const e of endpoints) eps.set(`${e.metadata?.namespace}/${e.metadata?.name}`, e);
  const lines: string[] = [];
  for (const s of services) {
    const name = s.metadata?.name;
    const ns = s.metadata?.namespace;
    if (!name || !ns) continue;
    const names = [`${name}.${ns}.svc.cluster.local`, `${name}.${ns}.svc`, `${name}.${ns}`];
    if (ns === namespace) names.push(name);
    const ip = s.spec?.clusterIP;
    if (ip && ip !== 'None') lines.push(`${ip}\t${names.join('\t')}`);
    else if (ip === 'None') {
      const first = eps.get(`${ns}/${name}`)?.subsets?.[0]?.addresses?.[0]?.ip;
      if (first) lines.push(`${first}\t${names.join('\t')}`);
    }
  }
  return lines;
}
