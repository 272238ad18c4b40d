// The evidence snapshots (issue "evidence bundle", lib/evidence): the target's network state read
// inside its network namespace, once just before the tool starts and once just after it stops.
// Every command is checked by the tool policy and runs in the same sandbox as the tool (fixed
// argv, no shell); the /proc/net files are read through the target's /proc entry, which shows its
// network namespace. Nothing here is fatal: a missing tool, a refused command, a vanished
// namespace are recorded in the snapshot and the capture goes on.
import { spawn } from 'node:child_process';
import { constants, existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { open, readFile, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { countersOf } from '../lib/evidence/assemble.js';
import { SNAPSHOT_COMMANDS, SNAPSHOT_FILES, evidencePolicy, type SnapshotCommand } from '../lib/evidence/commands.js';
import type { Snapshot, SourceResult } from '../lib/evidence/schema.js';
import { ToolPolicyError, parseToolInvocation, type ToolPolicy } from '../lib/tool-policy.js';
import { toolEnv } from './capture.js';
import { SANDBOX_ERROR_PREFIX, sandboxArgv } from './sandbox.js';

/** Bound of one source's output kept (10,000 conntrack entries are about 2.5 MB). */
export const SOURCE_MAX_BYTES = 8 * 1024 * 1024;
const STDERR_MAX = 4096;
/** A command still running after this long is killed (its source says so). */
export const SOURCE_TIMEOUT_MS = 20_000;
/** Commands run at once: each is a sandbox of its own, mostly waiting on set-up. */
const PARALLEL = 4;

export interface SnapshotTarget {
  procRoot: string;
  pid: number;
  policy: ToolPolicy;
  /** where nf_conntrack_max is read (global to the node: the capture pod's own /proc) */
  conntrackMaxPath?: string;
}

function onPath(command: string): boolean {
  const path = toolEnv(process.env).PATH!;
  return path.split(delimiter).some((d) => d !== '' && existsSync(join(d, command)));
}

function runInSandbox(t: SnapshotTarget, c: SnapshotCommand, netnsPath: string): Promise<SourceResult> {
  const source = [c.command, ...c.argv].join(' ');
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const [bin, ...args] = sandboxArgv({ procRoot: t.procRoot, netnsPath, command: c.command, argv: c.argv, allowMutating: false });
  return new Promise((resolve) => {
    const child = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: toolEnv(process.env) });
    const out: Buffer[] = [];
    let outBytes = 0;
    let truncated = false;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes >= SOURCE_MAX_BYTES) {
        truncated = true;
        return;
      }
      out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < STDERR_MAX) stderr += b.toString('utf8');
    });
    const timer = setTimeout(() => {
      stderr += `\nkilled after ${SOURCE_TIMEOUT_MS} ms`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, SOURCE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ source, status: 'failed', stderr: String(err), ms: ms() });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const errText = stderr.split('\n').filter((l) => !l.startsWith(SANDBOX_ERROR_PREFIX + ' ready')).join('\n').trim().slice(0, STDERR_MAX);
      let text = Buffer.concat(out).toString('utf8');
      if (truncated || outBytes > SOURCE_MAX_BYTES) {
        truncated = true;
        text = text.slice(0, SOURCE_MAX_BYTES);
      }
      if (code !== 0) {
        // the namespace went away between the check and nsenter
        const gone = !existsSync(netnsPath);
        resolve({ source, status: gone ? 'netns-gone' : 'failed', exitCode: code ?? -1, ...(errText ? { stderr: errText } : {}), ms: ms() });
        return;
      }
      const base = { source, status: 'ok' as const, ...(errText ? { stderr: errText } : {}), ...(truncated ? { truncated } : {}), ms: ms() };
      if (c.json && !truncated) {
        try {
          resolve({ ...base, json: text.trim() === '' ? [] : (JSON.parse(text) as unknown) });
          return;
        } catch {
          // kept as text below: a tool's JSON that does not parse is still evidence
        }
      }
      resolve({ ...base, text });
    });
  });
}

async function runCommand(t: SnapshotTarget, c: SnapshotCommand, netnsPath: string): Promise<SourceResult> {
  const source = [c.command, ...c.argv].join(' ');
  try {
    parseToolInvocation(c.command, c.argv, evidencePolicy(t.policy));
  } catch (err) {
    if (err instanceof ToolPolicyError) return { source, status: 'refused', stderr: err.message, ms: 0 };
    throw err;
  }
  if (!onPath(c.command)) return { source, status: 'missing', stderr: `${c.command} is not installed`, ms: 0 };
  if (!existsSync(netnsPath)) return { source, status: 'netns-gone', ms: 0 };
  return runInSandbox(t, c, netnsPath);
}

/**
 * Opens `<procRoot>/<pid>/<path>` for reading: the first component as the kernel resolves it
 * (`root` is /proc's link to the target's root directory), every later one relative to the
 * directory opened before it and never through a symbolic link. The target owns its files: read
 * by name, its /etc/resolv.conf could be a link to "/var/run/secrets/…/token" and hand podtracer's
 * own service account token (or a FIFO that never ends) to the evidence.
 */
async function openInTarget(t: SnapshotTarget, path: string): Promise<FileHandle> {
  const [first, ...rest] = path.split('/');
  let handle = await open(join(t.procRoot, String(t.pid), first!), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (let i = 0; i < rest.length; i++) {
      const last = i === rest.length - 1;
      const next = await open(`/proc/self/fd/${handle.fd}/${rest[i]}`, constants.O_RDONLY | constants.O_NOFOLLOW | (last ? constants.O_NONBLOCK : constants.O_DIRECTORY));
      await handle.close();
      handle = next;
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A target file's text, at most SOURCE_MAX_BYTES; only a regular file is read. */
export async function readTargetFile(t: SnapshotTarget, path: string): Promise<string> {
  const handle = await openInTarget(t, path);
  try {
    if (!(await handle.stat()).isFile()) throw new Error(`${path} is not a regular file`);
    const buf = Buffer.alloc(64 * 1024);
    const chunks: Buffer[] = [];
    let total = 0;
    // procfs files say size 0: read to the end, bounded
    while (total < SOURCE_MAX_BYTES) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, SOURCE_MAX_BYTES - total), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
      total += bytesRead;
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

async function readSourceFile(t: SnapshotTarget, path: string): Promise<SourceResult> {
  const started = performance.now();
  try {
    const text = await readTargetFile(t, path);
    return { source: path, status: 'ok', text, ms: Math.round(performance.now() - started) };
  } catch (err) {
    const gone = !existsSync(join(t.procRoot, String(t.pid)));
    const ms = Math.round(performance.now() - started);
    return gone ? { source: path, status: 'netns-gone', ms } : { source: path, status: 'failed', stderr: (err as Error).message, ms };
  }
}

async function conntrackMax(path: string | undefined): Promise<number | undefined> {
  if (!path) return undefined;
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Bounds of the socket owners' walk: processes in the namespace, and fds read per process. */
export const OWNERS_MAX_PROCESSES = 4096;
export const OWNERS_MAX_FDS = 65_536;

export interface SocketOwner {
  inode: number;
  /** the process's ID in its own (the target's) PID namespace, as `ps` in the pod shows it */
  pid: number;
  command: string;
  fd: number;
}

/**
 * What `ss -p` would say, for the processes in the target's network namespace only: each socket
 * inode with the processes holding it. ss cannot do it in the sandbox (its fresh /proc shows no
 * process of the target, and its cut capabilities could not read their fd tables), and run with
 * the node's /proc it would read every process of the node. podtracer (CAP_SYS_PTRACE) reads
 * `<procRoot>/<pid>/ns/net` of every process, and the fd links (never a file) of those whose
 * namespace is the target's; a socket shared by other namespaces' processes is not named.
 */
export async function socketOwners(procRoot: string, pid: number): Promise<SourceResult> {
  const started = performance.now();
  const source = 'socket owners: the fd links of the processes in the network namespace';
  const ms = () => Math.round(performance.now() - started);
  let netns: string;
  try {
    netns = await readlink(join(procRoot, String(pid), 'ns', 'net'));
  } catch {
    return { source, status: 'netns-gone', ms: ms() };
  }
  const owners: SocketOwner[] = [];
  let processes = 0;
  let truncated = false;
  // synchronous: procfs answers from memory, and thousands of links one promise each (through
  // libuv's thread pool) took longer than the rest of the snapshot
  for (const entry of await readdir(procRoot).catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const dir = join(procRoot, entry);
    try {
      if (readlinkSync(join(dir, 'ns', 'net')) !== netns) continue;
      if (++processes > OWNERS_MAX_PROCESSES) {
        truncated = true;
        break;
      }
      const status = readFileSync(join(dir, 'status'), 'utf8');
      // NSpid: the ID in each PID namespace, the innermost (the target's) last
      const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/).pop();
      const command = /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '';
      const fds = readdirSync(join(dir, 'fd')).slice(0, OWNERS_MAX_FDS);
      for (const fd of fds) {
        let target = '';
        try {
          target = readlinkSync(join(dir, 'fd', fd));
        } catch {
          // closed meanwhile
        }
        const socket = /^socket:\[(\d+)\]$/.exec(target);
        if (socket) owners.push({ inode: Number(socket[1]), pid: Number(nspid ?? entry), command, fd: Number(fd) });
      }
    } catch {
      // the process ended meanwhile, or its entries are not readable: it names nothing
    }
  }
  owners.sort((a, b) => a.inode - b.inode || a.pid - b.pid || a.fd - b.fd);
  return { source, status: 'ok', json: owners, ...(truncated ? { truncated } : {}), ms: ms() };
}

/** Only the owners of the sockets `ss -e` listed ("ino:N"): not the tools' own netlink sockets. */
export function ownersOfListed(owners: SourceResult, sockets: SourceResult | undefined): SourceResult {
  if (owners.status !== 'ok' || sockets?.status !== 'ok' || !sockets.text) return owners;
  const listed = new Set([...sockets.text.matchAll(/\bino:(\d+)/g)].map((m) => Number(m[1])));
  return { ...owners, json: (owners.json as SocketOwner[]).filter((o) => listed.has(o.inode)) };
}

/** One snapshot of the target's network namespace. Never throws for the target's sake. */
export async function takeSnapshot(t: SnapshotTarget): Promise<Snapshot> {
  const takenAt = new Date().toISOString();
  const started = performance.now();
  const netnsPath = join(t.procRoot, String(t.pid), 'ns', 'net');
  const sources: Record<string, SourceResult> = {};
  // the counters first, as close to the tool's start or end as possible
  await Promise.all(SNAPSHOT_FILES.map(async (f) => (sources[f.name] = await readSourceFile(t, f.path))));
  const queue = [...SNAPSHOT_COMMANDS];
  const [owners] = await Promise.all([
    socketOwners(t.procRoot, t.pid),
    ...Array.from({ length: PARALLEL }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) sources[c.name] = await runCommand(t, c, netnsPath);
    }),
  ]);
  sources.socketOwners = ownersOfListed(owners!, sources.sockets);
  const max = await conntrackMax(t.conntrackMaxPath);
  const names = [...SNAPSHOT_FILES.map((f) => f.name), ...SNAPSHOT_COMMANDS.map((c) => c.name), 'socketOwners'];
  const ordered = Object.fromEntries(names.map((n) => [n, sources[n]!]));
  return { takenAt, ms: Math.round(performance.now() - started), sources: ordered, counters: countersOf(ordered, max) };
}
