// Test fixtures for podtracer: a pair of network namespaces joined by a veth with a `sleep`
// process in the first one as the "target container", the podtracer executable run for real,
// and pcap inspection through tcpdump -r.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1ContainerStatus } from '@kubernetes/client-node';
import { createVethPair, type VethPair } from '../../lib/testing/veth-pair.js';

export const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const suffix = () => randomBytes(3).toString('hex');

export const PODTRACER_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Two namespaces, a veth between them, and a long sleep in A standing in for the target container. */
export class TargetNetns {
  readonly ipA = '10.77.0.1';
  readonly ipB = '10.77.0.2';
  private pair: VethPair | undefined;
  private target: ChildProcess | undefined;
  private readonly extra: ChildProcess[] = [];

  constructor(private readonly tag: string) {}

  get a(): string {
    return this.pair!.nsA;
  }
  get b(): string {
    return this.pair!.nsB;
  }
  get vethA(): string {
    return this.pair!.ifA;
  }
  get vethB(): string {
    return this.pair!.ifB;
  }

  get targetPid(): number {
    return this.target!.pid!;
  }

  async create(): Promise<void> {
    this.pair = await createVethPair({ tag: `pt${this.tag}`.slice(0, 6), ipA: this.ipA, ipB: this.ipB, disableIpv6: true });
    // `ip netns exec` execs the command, so the child's PID is the sleep inside namespace A
    this.target = spawn('ip', ['netns', 'exec', this.a, 'sleep', '600'], { stdio: 'ignore' });
    await waitFor(async () => {
      try {
        const link = await run('readlink', [`/proc/${this.target!.pid}/ns/net`]);
        const mine = await run('readlink', ['/proc/self/ns/net']);
        return link.stdout.trim() !== mine.stdout.trim();
      } catch {
        return false;
      }
    }, 'the target process to enter its namespace');
  }

  /** Starts a process in namespace A or B that destroy() will kill. */
  spawnIn(which: 'a' | 'b', argv: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', which === 'a' ? this.a : this.b, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.extra.push(p);
    return p;
  }

  /** Pings A from B (so the echo requests cross A's veth inbound); `size` is ping's -s. */
  async ping(count: number, interval = '0.05', size?: number): Promise<void> {
    const sizeArgs = size !== undefined ? ['-s', String(size)] : [];
    await run('ip', ['netns', 'exec', this.b, 'ping', '-q', '-c', String(count), '-i', interval, '-W', '2', ...sizeArgs, this.ipA]);
  }

  killTarget(): void {
    this.target?.kill('SIGKILL');
  }

  /** Kills the target process and waits until it is reaped (its /proc entry gone). */
  async killTargetAndWait(): Promise<void> {
    const t = this.target!;
    if (t.exitCode !== null || t.signalCode !== null) return;
    const exited = new Promise((r) => t.once('exit', r));
    t.kill('SIGKILL');
    await exited;
  }

  /** Deletes the veth (both ends), as a CNI plugin does when a pod's sandbox is removed. */
  async removeVeth(): Promise<void> {
    await run('ip', ['-n', this.a, 'link', 'del', this.vethA]);
  }

  async destroy(): Promise<void> {
    for (const p of [...this.extra, this.target]) {
      if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    await this.pair?.remove();
  }
}

export interface PodtracerResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** the parsed termination log, when one was written */
  summary: Record<string, unknown> | undefined;
}

export interface PodtracerProcess {
  child: ChildProcess;
  stderr: () => string;
  result: Promise<PodtracerResult>;
}

/** Starts the real podtracer executable. */
export function startPodtracer(args: string[], opts: { env?: Record<string, string>; terminationLog?: string } = {}): PodtracerProcess {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...(opts.env ?? {}) };
  if (opts.terminationLog) env.PODTRACER_TERMINATION_LOG = opts.terminationLog;
  const child = spawn(process.execPath, [PODTRACER_MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<PodtracerResult>((resolve) => {
    const finish = async (code: number | null) => {
      let summary: Record<string, unknown> | undefined;
      if (opts.terminationLog && existsSync(opts.terminationLog)) {
        try {
          summary = JSON.parse(await readFile(opts.terminationLog, 'utf8')) as Record<string, unknown>;
        } catch {
          summary = undefined;
        }
      }
      resolve({ code, stdout, stderr, summary });
    };
    child.once('close', (code) => void finish(code));
  });
  return { child, stderr: () => stderr, result };
}

export function runPodtracer(args: string[], opts: { env?: Record<string, string>; terminationLog?: string } = {}): Promise<PodtracerResult> {
  return startPodtracer(args, opts).result;
}

/** Waits until podtracer's log shows the tool's first stderr line (tcpdump: "listening on"). */
export function waitForLog(p: PodtracerProcess, text: string, timeoutMs = 20_000): Promise<void> {
  return waitFor(() => p.stderr().includes(text), `podtracer log "${text}"`, timeoutMs).then(() => undefined);
}

/** Packets in a capture file that match a filter, as `tcpdump -r` reads them (streamed: captures can be large). */
export async function countPackets(file: string, filter: string): Promise<number> {
  const tcpdump = spawn('tcpdump', ['-r', file, '-nn', '-q', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  let lines = 0;
  let stderr = '';
  tcpdump.stdout!.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  });
  tcpdump.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => tcpdump.once('close', resolve));
  if (code !== 0) throw new Error(`tcpdump -r ${file} exited ${code}: ${stderr.trim()}`);
  return lines;
}

/** ICMP echo request sequence numbers in a capture file (to find duplicates). */
export async function echoRequestSeqs(file: string): Promise<number[]> {
  const { stdout } = await run('tcpdump', ['-r', file, '-nn', 'icmp[icmptype] == icmp-echo'], { maxBuffer: 64 * 1024 * 1024 });
  return [...stdout.matchAll(/seq (\d+)/g)].map((m) => Number(m[1]));
}

/**
 * Processes placed in cgroups named the way a container runtime names them (pod<uid>/<container
 * id>), so podtracer's /proc scan finds a pod's container as it does on a node.
 */
export class ContainerCgroups {
  readonly base = `/sys/fs/cgroup/pids/snoopy-podtracer-test-${suffix()}`;
  private readonly dirs: string[] = [];

  place(podUid: string, containerId: string, pid: number): void {
    const podDir = `${this.base}/pod${podUid}`;
    const dir = `${podDir}/${containerId}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/cgroup.procs`, String(pid));
    for (const d of [dir, podDir]) if (!this.dirs.includes(d)) this.dirs.push(d);
  }

  /** Removes the cgroups once their processes are gone (call after killing them). */
  async remove(): Promise<void> {
    for (const dir of this.dirs) {
      await waitFor(() => !existsSync(dir) || readFileSync(`${dir}/cgroup.procs`, 'utf8').trim() === '', 'cgroup to empty', 10_000).catch(() => undefined);
    }
    // containers before their pods, the base last
    for (const dir of [...this.dirs].sort((a, b) => b.length - a.length)) if (existsSync(dir)) rmdirSync(dir);
    if (existsSync(this.base)) rmdirSync(this.base);
  }
}

/** A running container's status, as a kubelet reports it (containerID with its runtime prefix). */
export function runningContainerStatus(name: string, containerId: string): V1ContainerStatus {
  return { name, containerID: `containerd://${containerId}`, image: 'x', imageID: 'x', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } } };
}
