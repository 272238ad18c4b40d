// Container processes are placed in cgroups named the way kubelet's cgroupfs driver names them:
// <hierarchy>/kubepods[/<qos>]/pod<uid>/<containerId>, in every mounted hierarchy (cgroup v1
// controllers and the v2 unified tree). The tree is nested under the kubelet's own cgroup in each
// hierarchy, as a kubelet in a nested environment (kind) does, so nothing leaves the limits the
// dev cluster itself runs under. A scan of /proc/*/cgroup for the container id finds the process.
import { existsSync, readdirSync, readFileSync, rmdirSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

interface ResourceLike {
  requests?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

/** The pod's QoS class, by the rules kubelet uses (cpu and memory only). */
export function qosClass(containers: Array<{ resources?: ResourceLike }>): QosClass {
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l; // requests default to limits
      if (l !== undefined || q !== undefined) any = true;
      if (l === undefined || String(q) !== String(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** kubepods[/burstable|/besteffort]/pod<uid>[/<containerId>] relative to the hierarchy base. */
export function kubepodsPath(qos: QosClass, podUid: string, containerId?: string): string {
  const parts = ['kubepods'];
  if (qos !== 'Guaranteed') parts.push(qos.toLowerCase());
  parts.push(`pod${podUid}`);
  if (containerId) parts.push(containerId);
  return parts.join('/');
}

export interface Hierarchy {
  /** directory of the hierarchy's root, e.g. /sys/fs/cgroup/pids */
  mount: string;
  /** this process's cgroup inside it, e.g. / or /process_api/abc */
  own: string;
}

/** Mounted hierarchies and this process's place in each, from /proc/self/cgroup. */
export function hierarchies(root = CGROUP_ROOT): Hierarchy[] {
  if (!existsSync(root)) return [];
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const ctrls = m[1]!;
    if (ctrls === '') own.set('', m[2]!);
    else for (const c of ctrls.split(',')) own.set(c, m[2]!);
  }
  const out: Hierarchy[] = [];
  // cgroup v2 only: the root itself is the hierarchy
  if (existsSync(join(root, 'cgroup.controllers')) && !existsSync(join(root, 'unified'))) {
    return [{ mount: root, own: own.get('') ?? '/' }];
  }
  for (const name of readdirSync(root)) {
    const mount = join(root, name);
    try {
      if (!statSync(mount).isDirectory() || !existsSync(join(mount, 'cgroup.procs'))) continue;
    } catch {
      continue;
    }
    if (existsSync(join(mount, 'cgroup.controllers'))) {
      out.push({ mount, own: own.get('') ?? '/' });
      continue;
    }
    // "cpu,cpuacct" mounts may be reached by a symlink too; dedupe by the controller list
    const key = name === 'systemd' ? 'name=systemd' : name;
    const ownPath = own.get(key) ?? own.get(name.split(',')[0]!) ?? '/';
    if (out.some((h) => h.mount === mount)) continue;
    out.push({ mount, own: ownPath });
  }
  return out;
}

/** Absolute cgroup directories for a container in every hierarchy. */
export function containerCgroupDirs(hs: Hierarchy[], qos: QosClass, podUid: string, containerId: string): string[] {
  return hs.map((h) => join(h.mount, h.own, kubepodsPath(qos, podUid, containerId)));
}

export function podCgroupDirs(hs: Hierarchy[], qos: QosClass, podUid: string): string[] {
  return hs.map((h) => join(h.mount, h.own, kubepodsPath(qos, podUid)));
}

export function createCgroupDirs(dirs: string[]): void {
  for (const d of dirs) {
    const first = mkdirSync(d, { recursive: true });
    // cgroup v1 cpuset: a new cgroup has no cpus/mems and refuses tasks until given its parent's
    if (first && existsSync(join(d, 'cpuset.cpus'))) {
      const created: string[] = [];
      for (let p = d; p.length >= first.length; p = dirname(p)) created.unshift(p);
      for (const c of created) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if (readFileSync(join(c, f), 'utf8').trim() === '') writeFileSync(join(c, f), readFileSync(join(dirname(c), f)));
        }
      }
    }
  }
}

export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Sends a signal to every process in the cgroup directories (container and its children). */
export function signalCgroups(dirs: string[], signal: NodeJS.Signals): number {
  const pids = new Set<number>();
  for (const d of dirs) for (const p of cgroupPids(d)) pids.add(p);
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  return pids.size;
}

/**
 * Removes cgroup directories deepest first, then empty kubepods ancestors up to (not including)
 * the hierarchy's own cgroup. A directory that still holds processes stays (rmdir fails: EBUSY).
 */
export function removeCgroupDirs(dirs: string[]): void {
  const parents = new Set<string>();
  for (const d of dirs) {
    rmCgroupTree(d);
    // the pod/qos/kubepods parents go only when empty (other pods may share them)
    let p = d;
    for (let i = 0; i < 3; i++) {
      p = p.slice(0, p.lastIndexOf('/'));
      if (!/\/(kubepods|burstable|besteffort|pod[0-9a-f-]+)$/.test(p)) break;
      parents.add(p);
    }
  }
  const sorted = [...parents].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const d of sorted) {
    try {
      rmdirSync(d);
    } catch {
      // not empty or already gone
    }
  }
}

/** A cgroup and any child cgroups its processes created, deepest first. */
function rmCgroupTree(dir: string): void {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) rmCgroupTree(join(dir, e.name));
    }
    rmdirSync(dir);
  } catch {
    // still busy or already gone
  }
}

/** SIGKILLs everything in the cgroups until they are empty (bounded), then removes them. */
export async function killAndRemoveCgroups(dirs: string[]): Promise<boolean> {
  let empty = false;
  for (let i = 0; i < 100 && !empty; i++) {
    empty = signalCgroups(dirs, 'SIGKILL') === 0;
    if (!empty) await new Promise((r) => setTimeout(r, 50));
  }
  removeCgroupDirs(dirs);
  return empty;
}
