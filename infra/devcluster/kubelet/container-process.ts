// Starts one container as a local process. As root: inside the pod's network namespace
// (nsenter --net), in a private mount namespace (unshare --mount) where the rootfs script binds the
// volumes, joins the cgroups and execs the command, so the PID spawned here is the container's
// own process from start to end. Without root: a plain child process (no isolation).
import { openSync, closeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { rootfsScript, type RootfsPlan } from './rootfs.js';

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  /** network namespace name under /run/netns; unset = host network */
  netns?: string;
  /** unset = no mount namespace (non-root mode) */
  rootfs?: RootfsPlan;
  /** stdout and stderr are appended here */
  logPath: string;
}

export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningContainer {
  pid: number;
  exited: Promise<ContainerExit>;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The argv the kubelet spawns for a container (exported for tests and `--help`-style docs). */
export function launchArgv(l: ContainerLaunch): string[] {
  if (!l.rootfs) return l.argv;
  const script = rootfsScript({ ...l.rootfs, workingDir: l.workingDir });
  const inner = ['/usr/bin/unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'container', ...l.argv];
  return l.netns ? ['/usr/bin/nsenter', `--net=/run/netns/${l.netns}`, '--', ...inner] : inner;
}

export function startContainerProcess(l: ContainerLaunch): Promise<RunningContainer> {
  if (l.argv.length === 0) return Promise.reject(new Error('container has no command'));
  const argv = launchArgv(l);
  const env = { PATH: DEFAULT_PATH, ...l.env };
  const fd = openSync(l.logPath, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env,
      cwd: l.rootfs ? '/' : l.workingDir || undefined,
      stdio: ['ignore', fd, fd],
      detached: true, // its own process group: a signal to the kubelet does not reach pods
    });
    closeSync(fd);
    const exited = new Promise<ContainerExit>((res) => {
      child.on('exit', (code, signal) => res({ code, signal }));
    });
    child.once('error', (err) => reject(err));
    child.once('spawn', () => resolve({ pid: child.pid!, exited }));
  });
}
