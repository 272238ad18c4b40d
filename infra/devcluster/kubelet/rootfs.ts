// A container's view of the file system, built inside its private mount namespace: a tmpfs root
// whose entries are bind mounts of the host's, except the directories that must gain new entries
// (mount points of volumes such as /host/proc, /dev/termination-log, a new working directory):
// those become tmpfs copies of the host directory (entries bind-mounted one by one), so nothing is
// ever created on the host's own file system. The script then chroots into that root and execs
// the container command, keeping the PID the kubelet spawned.
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { quote } from 'shell-quote';

export interface BindMount {
  /** host path (file or directory) */
  source: string;
  /** absolute path inside the container */
  target: string;
  readOnly?: boolean;
}

export interface RootfsPlan {
  /** empty host directory where the container root is assembled (inside the mount namespace only) */
  rootDir: string;
  mounts: BindMount[];
  workingDir?: string;
  /** cgroup directories the shell joins before exec (so the container PID is in them) */
  cgroupDirs: string[];
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  let p = path;
  while (p !== '/') {
    p = dirname(p);
    out.push(p);
  }
  return out;
}

/** The path with symlinks of its existing part resolved, and its deepest existing ancestor. */
export function resolveTarget(target: string): { path: string; existing: string; exists: boolean } {
  const norm = posix.normalize(target);
  if (!norm.startsWith('/')) throw new Error(`mount path "${target}" is not absolute`);
  let existing = norm;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    rest.unshift(posix.basename(existing));
    existing = dirname(existing);
  }
  const real = realpathSync(existing);
  return { path: rest.length ? join(real, ...rest) : real, existing: real, exists: rest.length === 0 };
}

const q = (s: string) => quote([s]);

/** The shell script (run by /bin/sh inside `unshare --mount`) that builds the root and execs "$@". */
export function rootfsScript(plan: RootfsPlan): string {
  const root = plan.rootDir;
  const mounts = plan.mounts.map((m) => ({ ...m, ...resolveTarget(m.target) }));
  const wd = plan.workingDir ? resolveTarget(plan.workingDir) : undefined;

  // directories that must be tmpfs copies: "/", the ancestors of the root itself (so the root is
  // not recursively bound into itself), and the deepest existing ancestor of every new path
  const synth = new Set<string>(['/']);
  for (const a of ancestors(root)) synth.add(a);
  for (const m of mounts) if (!m.exists) synth.add(m.existing);
  if (wd && !wd.exists) synth.add(wd.existing);
  // a synthesised directory inside another one needs all the directories between them synthesised
  for (const s of [...synth]) for (const a of ancestors(s)) synth.add(a);

  const lines: string[] = ['set -e'];
  for (const d of plan.cgroupDirs) lines.push(`echo $$ > ${q(join(d, 'cgroup.procs'))}`);
  const sorted = [...synth].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  for (const dir of sorted) {
    const inRoot = join(root, dir);
    lines.push(`mount -t tmpfs -o mode=755 snoopy-rootfs ${q(inRoot)}`);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      entries = [];
    }
    for (const e of entries) {
      const host = join(dir, e);
      const dst = join(root, host);
      if (host === root) continue;
      let st;
      try {
        st = lstatSync(host);
      } catch {
        continue;
      }
      // host entries may vanish between listing and mounting (other processes' temp files):
      // copying them is best effort, only the directories on the way to a mount point are required
      if (synth.has(host)) lines.push(`mkdir ${q(dst)}`);
      else if (st.isSymbolicLink()) lines.push(`ln -s ${q(readlinkSync(host))} ${q(dst)} 2>/dev/null || true`);
      else if (st.isDirectory()) lines.push(`{ mkdir ${q(dst)} && mount --rbind ${q(host)} ${q(dst)}; } 2>/dev/null || true`);
      else lines.push(`{ touch ${q(dst)} && mount --bind ${q(host)} ${q(dst)}; } 2>/dev/null || true`);
    }
  }
  for (const m of mounts) {
    const dst = join(root, m.path);
    const isDir = lstatSync(m.source).isDirectory();
    if (!m.exists) lines.push(isDir ? `mkdir -p ${q(dst)}` : `mkdir -p ${q(dirname(dst))} && touch ${q(dst)}`);
    lines.push(`mount --rbind ${q(m.source)} ${q(dst)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${q(dst)}`);
  }
  if (wd && !wd.exists) lines.push(`mkdir -p ${q(join(root, wd.path))}`);
  lines.push('cd /');
  lines.push(`exec chroot ${q(root)} /usr/bin/env -C ${q(wd?.path ?? '/')} "$@"`);
  return lines.join('\n');
}
