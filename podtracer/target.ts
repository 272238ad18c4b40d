// Finding the target container's process: container ID (from the pod's status) → the processes
// whose cgroup path names that container → the container's init. Works for the cgroup path
// shapes of containerd, CRI-O and Docker under the cgroupfs and systemd drivers, cgroup v1 and v2:
//   /kubepods/besteffort/pod<uid>/<id>
//   /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope
//   .../crio-<id>.scope   .../docker-<id>.scope   /docker/<id>   ...slice:cri-containerd:<id>
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { statFields } from '../lib/proc.js';

export class TargetError extends Error {
  override name = 'TargetError';
}

const RUNTIME_PREFIX = /^(containerd|cri-o|crio|docker|cri-containerd):\/\//;

/** "containerd://abc…" → "abc…" (lower case); refuses anything that is not a hex ID. */
export function normalizeContainerId(raw: string): string {
  const id = raw.trim().replace(RUNTIME_PREFIX, '').toLowerCase();
  if (!/^[0-9a-f]{12,128}$/.test(id)) throw new TargetError(`container ID "${raw}" is not a runtime://hex ID`);
  return id;
}

/** The cgroup path elements in which runtimes embed a container ID. */
function elementNamesContainer(element: string, id: string): boolean {
  if (element === id) return true;
  // systemd driver scopes (and CRI-O's cgroupfs "crio-<id>"); CRI-O's conmon runs in
  // crio-conmon-<id>[.scope], outside the container, and does not match
  const scope = /^(?:cri-containerd|crio|docker|libpod)-([0-9a-f]+)(?:\.scope)?$/.exec(element);
  if (scope) return scope[1] === id;
  // cgroup v1 under systemd as seen from inside a container: "…slice:cri-containerd:<id>"
  const colon = /:(?:cri-containerd|crio|docker):([0-9a-f]+)$/.exec(element);
  if (colon) return colon[1] === id;
  return false;
}

/** True when a /proc/<pid>/cgroup text places the process in the container with this ID. */
export function cgroupNamesContainer(cgroupText: string, id: string): boolean {
  for (const line of cgroupText.split('\n')) {
    // "hierarchy-ID:controllers:path"; the path may itself contain ':'
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1);
    if (path.split('/').some((el) => elementNamesContainer(el, id))) return true;
  }
  return false;
}

/** procRoot: /host/proc when the host's /proc is mounted there, else /proc. */
export function defaultProcRoot(): string {
  return existsSync('/host/proc/1') ? '/host/proc' : '/proc';
}

async function parentPid(procRoot: string, pid: number): Promise<number | undefined> {
  try {
    const ppid = Number(statFields(await readFile(join(procRoot, String(pid), 'stat'), 'utf8'))[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The container's init process: among the processes in the container's cgroup, the one whose
 * parent is not in it (lowest PID when several qualify, or when parents are unknown).
 */
export async function findContainerPid(procRoot: string, containerId: string): Promise<number | undefined> {
  const id = normalizeContainerId(containerId);
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch (err) {
    throw new TargetError(`cannot read ${procRoot}: ${(err as Error).message}`);
  }
  const members: number[] = [];
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          const text = await readFile(join(procRoot, e, 'cgroup'), 'utf8');
          if (cgroupNamesContainer(text, id)) members.push(Number(e));
        } catch {
          // the process ended while we looked, or is not readable: not a candidate
        }
      }),
  );
  if (members.length === 0) return undefined;
  members.sort((a, b) => a - b);
  const set = new Set(members);
  for (const pid of members) {
    const ppid = await parentPid(procRoot, pid);
    if (ppid === undefined || !set.has(ppid)) return pid;
  }
  return members[0];
}

/** Fallback through the CRI: `crictl inspect ID` reports the container's PID (info.pid). */
export function crictlPid(crictl: string, containerId: string, timeoutMs = 10_000): Promise<number | undefined> {
  const id = normalizeContainerId(containerId);
  return new Promise((resolve) => {
    execFile(crictl, ['inspect', id], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const parsed = JSON.parse(stdout) as { info?: { pid?: unknown } };
        const pid = Number(parsed.info?.pid);
        resolve(Number.isInteger(pid) && pid > 0 ? pid : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** The crictl executable on PATH, if there is one. */
export function findCrictl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'crictl'))) return join(dir, 'crictl');
  }
  return undefined;
}

export interface PodContainerInfo {
  containerId: string;
  container: string;
  podUid?: string;
  node?: string;
}

interface PodLike {
  metadata?: { uid?: string };
  spec?: { nodeName?: string; containers?: Array<{ name: string }> };
  status?: { containerStatuses?: Array<{ name: string; containerID?: string }> };
}

/** Picks the container (by name, default the pod's first) and its runtime ID from a Pod object. */
export function containerFromPod(pod: PodLike, podName: string, container?: string): PodContainerInfo {
  const name = container ?? pod.spec?.containers?.[0]?.name;
  if (!name) throw new TargetError(`pod ${podName} has no containers`);
  const statuses = pod.status?.containerStatuses ?? [];
  const st = statuses.find((s) => s.name === name);
  if (!st) {
    const known = (pod.spec?.containers ?? []).map((c) => c.name).join(', ');
    throw new TargetError(`pod ${podName} has no container "${name}"${known ? ` (containers: ${known})` : ''}`);
  }
  if (!st.containerID) throw new TargetError(`container "${name}" of pod ${podName} is not running yet (no container ID)`);
  const info: PodContainerInfo = { containerId: st.containerID, container: name };
  if (pod.metadata?.uid) info.podUid = pod.metadata.uid;
  if (pod.spec?.nodeName) info.node = pod.spec.nodeName;
  return info;
}

/** Reads the pod through the Kubernetes API (in-cluster or KUBECONFIG). */
export async function lookupPod(namespace: string, name: string, container?: string): Promise<PodContainerInfo> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const api = kc.makeApiClient(k8s.CoreV1Api);
  let pod: PodLike;
  try {
    pod = (await api.readNamespacedPod({ name, namespace })) as PodLike;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 404) throw new TargetError(`pod ${namespace}/${name} not found`);
    throw new TargetError(`cannot read pod ${namespace}/${name}: ${(err as Error).message}`);
  }
  return containerFromPod(pod, `${namespace}/${name}`, container);
}

/** Container ID → PID by the cgroup scan, then by crictl when it is installed. */
export async function resolveContainerPid(procRoot: string, containerId: string): Promise<number> {
  const pid = await findContainerPid(procRoot, containerId);
  if (pid !== undefined) return pid;
  const crictl = findCrictl();
  if (crictl !== undefined) {
    const viaCri = await crictlPid(crictl, containerId);
    if (viaCri !== undefined) return viaCri;
  }
  throw new TargetError(`no process of container ${normalizeContainerId(containerId)} found under ${procRoot}`);
}
