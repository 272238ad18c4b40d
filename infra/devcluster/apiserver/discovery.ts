// Discovery documents: /version, /api, /apis, /apis/<group>, and the APIResourceList of each
// group version. Plain (unaggregated) forms: kubectl and client-node accept them.
import { GROUP_ORDER, storageVersion, type ResourceDef } from './resources.js';

export function versionInfo(): Record<string, string> {
  return {
    major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
    buildDate: '2024-12-11T00:00:00Z', goVersion: 'go1.23.3', compiler: 'gc', platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

interface GroupVersions { name: string; versions: string[]; preferred: string }

/** Groups (other than core) with their served versions, newest storage version preferred. */
export function groups(defs: ResourceDef[]): GroupVersions[] {
  const m = new Map<string, { versions: Set<string>; preferred?: string }>();
  for (const d of defs) {
    if (!d.group) continue;
    let g = m.get(d.group);
    if (!g) { g = { versions: new Set() }; m.set(d.group, g); }
    for (const v of d.versions) if (v.served) g.versions.add(v.name);
    g.preferred ??= storageVersion(d);
  }
  const rank = (n: string): number => { const i = GROUP_ORDER.indexOf(n); return i < 0 ? GROUP_ORDER.length : i; };
  return [...m.entries()]
    .filter(([, g]) => g.versions.size > 0)
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, g]) => ({ name, versions: sortVersions([...g.versions]), preferred: g.versions.has(g.preferred!) ? g.preferred! : sortVersions([...g.versions])[0] }));
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(vs: string[]): string[] {
  const key = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [-1, 0, 0];
    return [m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...vs].sort((a, b) => {
    const ka = key(a), kb = key(b);
    return kb[0] - ka[0] || kb[1] - ka[1] || kb[2] - ka[2];
  });
}

function groupDoc(g: GroupVersions): object {
  return {
    name: g.name,
    versions: g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${g.name}/${g.preferred}`, version: g.preferred },
  };
}

export function groupList(defs: ResourceDef[]): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(defs).map(groupDoc) };
}

export function groupInfo(defs: ResourceDef[], name: string): object | undefined {
  const g = groups(defs).find((x) => x.name === name);
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) };
}

export function resourceList(defs: ResourceDef[], group: string, version: string): object | undefined {
  const here = defs.filter((d) => d.group === group && d.versions.some((v) => v.name === version && v.served));
  if (here.length === 0) return undefined;
  const resources: object[] = [];
  for (const d of here.sort((a, b) => (a.plural < b.plural ? -1 : 1))) {
    const v = d.versions.find((x) => x.name === version)!;
    resources.push({
      name: d.plural, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: d.verbs,
      ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories.length ? { categories: d.categories } : {}),
    });
    if (v.statusSubresource) resources.push({ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] });
    if (v.scale) resources.push({ name: `${d.plural}/scale`, singularName: '', namespaced: d.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    if (d.extraSubresources.includes('log')) resources.push({ name: `${d.plural}/log`, singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] });
    if (d.extraSubresources.includes('eviction')) resources.push({ name: `${d.plural}/eviction`, singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
    if (d.extraSubresources.includes('binding')) resources.push({ name: `${d.plural}/binding`, singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}
