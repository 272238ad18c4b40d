// Pod volumes materialised on the host: emptyDir and persistentVolumeClaim directories under the
// state dir, hostPath as given, Secret/ConfigMap/projected/downwardAPI volumes as files, written
// the way a kubelet writes them (atomic-writer.ts) and refreshed while the pod runs when their
// Secrets, ConfigMaps or the pod's own fields change (refreshVolumes). The container's mounts
// then bind these host paths (see rootfs.ts).
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { V1Pod, V1Volume, V1KeyToPath } from '@kubernetes/client-node';
import { writeVolumeAtomically, type VolumeFile } from './atomic-writer.js';
import type { EnvSources } from './env.js';

export class VolumeError extends Error {
  override name = 'VolumeError';
}

export interface VolumeRefs {
  secrets: Set<string>;
  configMaps: Set<string>;
}

export function volumeReferences(pod: V1Pod): VolumeRefs {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    for (const s of v.projected?.sources ?? []) {
      if (s.secret?.name) secrets.add(s.secret.name);
      if (s.configMap?.name) configMaps.add(s.configMap.name);
    }
  }
  return { secrets, configMaps };
}

function safeRelative(p: string): string {
  const n = posix.normalize(p);
  if (n.startsWith('/') || n === '..' || n.startsWith('../')) throw new VolumeError(`volume item path "${p}" must be relative and stay inside the volume`);
  return n;
}

/** The files a Secret's or ConfigMap's data gives a volume: every key, or the items asked for. */
function itemFiles(data: Record<string, Buffer>, items: V1KeyToPath[] | undefined, mode: number | undefined, what: string, optional: boolean | undefined): VolumeFile[] {
  const out: VolumeFile[] = [];
  if (items?.length) {
    for (const it of items) {
      const v = data[it.key];
      if (v === undefined) {
        if (optional) continue;
        throw new VolumeError(`${what}: key "${it.key}" not found`);
      }
      out.push({ path: safeRelative(it.path), data: v, mode: it.mode ?? mode ?? 0o644 });
    }
  } else for (const [k, v] of Object.entries(data)) out.push({ path: k, data: v, mode: mode ?? 0o644 });
  return out;
}

function secretData(s: { data?: Record<string, string>; stringData?: Record<string, string> }): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = Buffer.from(v);
  return out;
}

function configMapData(c: { data?: Record<string, string>; binaryData?: Record<string, string> }): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(c.data ?? {})) out[k] = Buffer.from(v);
  for (const [k, v] of Object.entries(c.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

/** Creates every volume of the pod and returns name → host path. */
export function materializeVolumes(
  pod: V1Pod,
  podDir: string,
  stateDir: string,
  src: EnvSources,
  fieldValue: (path: string) => string,
): Map<string, string> {
  const out = new Map<string, string>();
  const ns = pod.metadata?.namespace ?? 'default';
  for (const v of (pod.spec?.volumes ?? []) as V1Volume[]) {
    const base = join(podDir, 'volumes', v.name);
    if (v.emptyDir) {
      mkdirSync(base, { recursive: true });
      out.set(v.name, base);
    } else if (v.hostPath) {
      const p = v.hostPath.path;
      const type = v.hostPath.type ?? '';
      if (type === 'DirectoryOrCreate') mkdirSync(p, { recursive: true });
      else if (type === 'FileOrCreate' && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        closeSync(openSync(p, 'a'));
      } else if (type !== '' && !existsSync(p)) throw new VolumeError(`hostPath type check failed: ${p} is not a ${type}`);
      else if (!existsSync(p)) mkdirSync(p, { recursive: true }); // "" (unset) behaves like DirectoryOrCreate for a missing path
      out.set(v.name, p);
    } else if (v.persistentVolumeClaim) {
      // a claim's data outlives its pods: one directory per claim in the state dir
      const dir = join(stateDir, 'volumes', 'pvc', ns, v.persistentVolumeClaim.claimName);
      mkdirSync(dir, { recursive: true });
      out.set(v.name, dir);
    } else if (v.secret || v.configMap || v.downwardAPI || v.projected) {
      writeVolumeAtomically(base, contentVolumeFiles(v, src, fieldValue)!);
      out.set(v.name, base);
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError(`volume "${v.name}": type ${kind} is not supported by the dev cluster`);
    }
  }
  return out;
}

/**
 * The files of a Secret, ConfigMap, downwardAPI or projected volume from the objects it names;
 * undefined for other volumes. Throws VolumeError for a missing object or key that is not optional.
 */
export function contentVolumeFiles(v: V1Volume, src: EnvSources, fieldValue: (path: string) => string): VolumeFile[] | undefined {
  if (v.secret) {
    const s = src.secrets.get(v.secret.secretName ?? '');
    if (!s) {
      if (!v.secret.optional) throw new VolumeError(`secret "${v.secret.secretName}" not found`);
      return [];
    }
    return itemFiles(secretData(s), v.secret.items, v.secret.defaultMode, `secret ${v.secret.secretName}`, v.secret.optional);
  }
  if (v.configMap) {
    const c = src.configMaps.get(v.configMap.name ?? '');
    if (!c) {
      if (!v.configMap.optional) throw new VolumeError(`configmap "${v.configMap.name}" not found`);
      return [];
    }
    return itemFiles(configMapData(c), v.configMap.items, v.configMap.defaultMode, `configmap ${v.configMap.name}`, v.configMap.optional);
  }
  if (!v.downwardAPI && !v.projected) return undefined;
  const files: VolumeFile[] = [];
  const items = [...(v.downwardAPI?.items ?? [])];
  const mode = v.projected?.defaultMode ?? v.downwardAPI?.defaultMode ?? undefined;
  for (const s of v.projected?.sources ?? []) {
    if (s.secret) {
      const sec = src.secrets.get(s.secret.name ?? '');
      if (!sec && !s.secret.optional) throw new VolumeError(`secret "${s.secret.name}" not found`);
      if (sec) files.push(...itemFiles(secretData(sec), s.secret.items, mode, `secret ${s.secret.name}`, s.secret.optional));
    } else if (s.configMap) {
      const cm = src.configMaps.get(s.configMap.name ?? '');
      if (!cm && !s.configMap.optional) throw new VolumeError(`configmap "${s.configMap.name}" not found`);
      if (cm) files.push(...itemFiles(configMapData(cm), s.configMap.items, mode, `configmap ${s.configMap.name}`, s.configMap.optional));
    } else if (s.downwardAPI) items.push(...(s.downwardAPI.items ?? []));
    else if (s.serviceAccountToken) {
      // the dev cluster authenticates nobody: a placeholder token where clients expect one
      files.push({ path: safeRelative(s.serviceAccountToken.path), data: Buffer.from('dev-cluster-token'), mode: mode ?? 0o644 });
    }
  }
  for (const it of items) {
    if (!it.fieldRef) continue;
    files.push({ path: safeRelative(it.path), data: Buffer.from(fieldValue(it.fieldRef.fieldPath)), mode: it.mode ?? mode ?? 0o644 });
  }
  return files;
}

/** Whether the pod has volumes refreshVolumes keeps up to date. */
export function hasContentVolumes(pod: V1Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.secret || v.configMap || v.downwardAPI || v.projected);
}

/**
 * Brings the pod's Secret, ConfigMap, downwardAPI and projected volumes up to date, each in one
 * atomic step, as a kubelet does on its sync. A volume whose object is gone (and not optional)
 * keeps what it had, as with a kubelet. Returns the names of the volumes that changed and the
 * problems met.
 */
export function refreshVolumes(pod: V1Pod, podDir: string, src: EnvSources, fieldValue: (path: string) => string): { changed: string[]; problems: string[] } {
  const changed: string[] = [];
  const problems: string[] = [];
  for (const v of (pod.spec?.volumes ?? []) as V1Volume[]) {
    let files: VolumeFile[] | undefined;
    try {
      files = contentVolumeFiles(v, src, fieldValue);
    } catch (e) {
      problems.push(`volume "${v.name}": ${(e as Error).message}`);
      continue;
    }
    if (files !== undefined && writeVolumeAtomically(join(podDir, 'volumes', v.name), files)) changed.push(v.name);
  }
  return { changed, problems };
}
