// A container's environment as kubelet computes it: envFrom first, then env in order, with
// $(VAR) references expanded against what came before and valueFrom resolved from the pod
// (downward API), Secrets and ConfigMaps. Pure: the Secrets and ConfigMaps are passed in.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface EnvSources {
  secrets: Map<string, { data?: Record<string, string>; stringData?: Record<string, string> } | undefined>;
  configMaps: Map<string, { data?: Record<string, string>; binaryData?: Record<string, string> } | undefined>;
}

export class EnvError extends Error {
  override name = 'CreateContainerConfigError';
}

/** Names of the Secrets and ConfigMaps a container's env refers to (to fetch before resolveEnv). */
export function envReferences(c: V1Container): { secrets: Set<string>; configMaps: Set<string> } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const f of c.envFrom ?? []) {
    if (f.secretRef?.name) secrets.add(f.secretRef.name);
    if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
  }
  return { secrets, configMaps };
}

function secretValue(s: { data?: Record<string, string>; stringData?: Record<string, string> }, key: string): string | undefined {
  if (s.stringData?.[key] !== undefined) return s.stringData[key];
  const b64 = s.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

/** $(VAR) → value of VAR defined earlier; $$(VAR) → literal $(VAR); unknown refs stay as written. */
export function expandRefs(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name]! : m;
  });
}

export function podFieldValue(pod: V1Pod, path: string, hostIP: string): string {
  const md = pod.metadata ?? {};
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? md.labels : md.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return Object.entries(md.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations':
      return Object.entries(md.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((p) => p.ip).join(',');
    case 'status.hostIP':
      return hostIP;
    case 'status.hostIPs':
      return hostIP;
    default:
      throw new EnvError(`unsupported fieldRef fieldPath "${path}"`);
  }
}

export function resolveEnv(pod: V1Pod, c: V1Container, src: EnvSources, hostIP: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const f of c.envFrom ?? []) {
    const prefix = f.prefix ?? '';
    if (f.configMapRef?.name) {
      const cm = src.configMaps.get(f.configMapRef.name);
      if (!cm) {
        if (f.configMapRef.optional) continue;
        throw new EnvError(`configmap "${f.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env[prefix + k] = v;
    }
    if (f.secretRef?.name) {
      const s = src.secrets.get(f.secretRef.name);
      if (!s) {
        if (f.secretRef.optional) continue;
        throw new EnvError(`secret "${f.secretRef.name}" not found`);
      }
      for (const k of new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])) env[prefix + k] = secretValue(s, k)!;
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) env[e.name] = podFieldValue(pod, vf.fieldRef.fieldPath, hostIP);
      else if (vf.secretKeyRef) {
        const s = src.secrets.get(vf.secretKeyRef.name ?? '');
        const v = s ? secretValue(s, vf.secretKeyRef.key) : undefined;
        if (v === undefined) {
          if (vf.secretKeyRef.optional) continue;
          throw new EnvError(s ? `couldn't find key ${vf.secretKeyRef.key} in Secret ${pod.metadata?.namespace}/${vf.secretKeyRef.name}` : `secret "${vf.secretKeyRef.name}" not found`);
        }
        env[e.name] = v;
      } else if (vf.configMapKeyRef) {
        const cm = src.configMaps.get(vf.configMapKeyRef.name ?? '');
        const v = cm?.data?.[vf.configMapKeyRef.key];
        if (v === undefined) {
          if (vf.configMapKeyRef.optional) continue;
          throw new EnvError(cm ? `couldn't find key ${vf.configMapKeyRef.key} in ConfigMap ${pod.metadata?.namespace}/${vf.configMapKeyRef.name}` : `configmap "${vf.configMapKeyRef.name}" not found`);
        }
        env[e.name] = v;
      } else if (vf.resourceFieldRef) {
        // no resource accounting in the dev cluster: report the limit or request as written
        const r = vf.resourceFieldRef.resource;
        const [kind, res] = r.split('.') as [string, string];
        const val = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[res];
        env[e.name] = val === undefined ? '0' : String(val);
      }
    } else env[e.name] = expandRefs(e.value ?? '', env);
  }
  return env;
}
