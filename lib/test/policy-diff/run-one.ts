// Runs one argv as the real tool under strace, inside a fresh throwaway network namespace, from a
// fresh temporary directory, with stdin from /dev/null and a short timeout, and judges what it did.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile, constants } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { substitute, assertContained, type RunPlaces } from './contain.js';
import { createNetns, netnsExists, netnsPids, processGroup, removeNetns, uniqueName } from './netns.js';
import { parseStrace } from './strace-parse.js';
import { judge, TRACED_SYSCALLS, type Finding } from './verdict.js';

export interface RunOptions {
  /** how long the tool may run before it is stopped (ms) */
  timeoutMs: number;
  /** the argv was allowed by the read-only policy (allowMutating=false) */
  readOnly: boolean;
  /** a namespace with its peers already running, shared by consecutive runs (see openSharedEnv) */
  shared?: SharedEnv;
}

/**
 * A namespace kept across runs of a tool that changes no namespace state and needs a peer that
 * is slow to start (curl, dig and nslookup talk to companion.ts, a Node process).
 */
export interface SharedEnv {
  ns: string;
  peers: ChildProcess[];
}

/**
 * Tools whose runs may share a namespace (one per worker, one run at a time): they have no way to
 * change the namespace's state that the policy means to allow. ip, tc, ethtool, conntrack and ss
 * (-K) do, so each of their runs gets a fresh namespace.
 */
export const SHARED_ENV_TOOLS: ReadonlySet<string> = new Set([
  'curl', 'dig', 'nslookup', 'tcpdump', 'iperf3', 'iperf', 'ping', 'tracepath', 'traceroute', 'nstat',
]);

export async function openSharedEnv(tool: string): Promise<SharedEnv> {
  const ns = await createNetns();
  try {
    return { ns: ns.name, peers: await startEnvPeers(tool, ns.name) };
  } catch (err) {
    await removeNetns(ns.name);
    throw err;
  }
}

export async function closeSharedEnv(env: SharedEnv): Promise<void> {
  for (const c of env.peers) killGroup(c.pid, 'SIGKILL');
  await removeNetns(env.ns);
}

export interface RunResult {
  argv: string[];
  findings: Finding[];
  /** strace lines that did not parse (reported, never silently dropped) */
  unparsed: string[];
  timedOut: boolean;
  exitCode: number | null;
  stderrHead: string;
  ms: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Absolute path of a program on PATH, or undefined. */
export async function whichTool(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (await access(p, constants.X_OK).then(() => true, () => false)) {
      // strace prints the path it executed; resolve /sbin → /usr/sbin style links the same way the kernel reports them
      return p;
    }
  }
  return undefined;
}

/** The run's temporary directory, laid out as values.ts promises. */
async function makeTmp(): Promise<{ base: string; tmp: string }> {
  const base = await mkdtemp(path.join(tmpdir(), 'snp-diff-'));
  const tmp = path.join(base, 't');
  await mkdir(path.join(tmp, 'cwd'), { recursive: true });
  await mkdir(path.join(tmp, 'home'), { recursive: true });
  await mkdir(path.join(tmp, 'hostproc/1/root/etc/cron.d'), { recursive: true });
  await mkdir(path.join(tmp, 'hostproc/1/root/root/.ssh'), { recursive: true });
  await writeFile(path.join(tmp, 'in.txt'), 'snoopy policy-diff input\n');
  await writeFile(path.join(tmp, 'c=v'), 'snoopy policy-diff file named with =\n');
  await writeFile(path.join(tmp, 'prog.sh'), '#!/bin/sh\nexit 0\n');
  await chmod(path.join(tmp, 'prog.sh'), 0o755);
  await writeFile(path.join(tmp, 'hostproc/1/root/etc/crontab'), '# the node\'s crontab (fake)\n');
  await writeFile(path.join(tmp, 'hostproc/1/root/root/.ssh/authorized_keys'), '# fake\n');
  await writeFile(path.join(tmp, 'hostproc/1/status'), 'Name:\tinit (fake)\n');
  return { base, tmp };
}

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('close', (code) => resolve(code));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone
  }
}

/** Starts the peers a tool needs to show what it does with a connection (see companion.ts). */
async function startEnvPeers(tool: string, ns: string): Promise<ChildProcess[]> {
  const peers: ChildProcess[] = [];
  if (tool === 'curl' || tool === 'dig' || tool === 'nslookup') {
    const c = spawn('ip', ['netns', 'exec', ns, process.execPath, path.join(here, 'companion.js'), '20000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    peers.push(c);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 3000);
      c.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      c.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  return peers;
}

/** Peers started with every run: a client for a tool that serves. */
function startRunPeers(tool: string, ns: string, toolPath: string): ChildProcess[] {
  const peers: ChildProcess[] = [];
  if (tool === 'iperf3' || tool === 'iperf') {
    // a client for a tool that serves: iperf3 opens -F/--logfile… only when a test starts
    const args = tool === 'iperf3' ? ['-c', '127.0.0.1', '-n', '64K', '--connect-timeout', '300'] : ['-c', '127.0.0.1', '-t', '1'];
    const delayed = spawn('sh', ['-c', 'sleep 0.25; exec ip netns exec "$0" "$@"', ns, toolPath, ...args], { stdio: 'ignore', detached: true });
    peers.push(delayed);
  }
  return peers;
}

const execFileP = promisify(execFile);

/** Two connection-tracking entries, one of them DNAT'd, so that a delete or flush has something to act on. */
async function seedConntrack(ns: string): Promise<void> {
  const entry = ['-I', '-s', '127.0.0.1', '-d', '127.0.0.2', '-p', 'tcp', '--state', 'ESTABLISHED', '-t', '120'];
  await execFileP('ip', ['netns', 'exec', ns, 'conntrack', ...entry, '--sport', '1', '--dport', '2', '-u', 'ASSURED']);
  await execFileP('ip', ['netns', 'exec', ns, 'conntrack', ...entry, '--sport', '3', '--dport', '4', '--dst-nat', '127.0.0.5']);
}

export async function runOne(tool: string, toolPath: string, generated: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const { base, tmp } = await makeTmp();
  const places: RunPlaces = { tmp, decoyNs: uniqueName('snp-diff-decoy') };
  const argv = substitute(generated, places);
  const nstatHistory = path.join(tmp, 'nstat.history');
  try {
    assertContained(tool, argv, places);
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
  const ns = opts.shared ? { name: opts.shared.ns } : await createNetns();
  const findings: Finding[] = [];
  let peers: ChildProcess[] = opts.shared ? opts.shared.peers : [];
  let child: ChildProcess | undefined;
  let timedOut = false;
  let exitCode: number | null;
  let stderrHead = '';
  const traceFile = path.join(base, 'strace.out');
  try {
    if (tool === 'conntrack') await seedConntrack(ns.name);
    if (!opts.shared) peers = await startEnvPeers(tool, ns.name);
    const runPeers = startRunPeers(tool, ns.name, toolPath);
    peers = [...peers, ...runPeers];
    child = spawn(
      'ip',
      [
        'netns', 'exec', ns.name,
        'strace', '-f', '-qq', '-y', '--seccomp-bpf', '-s', '4096', '-e', 'signal=none', '-e', `trace=${TRACED_SYSCALLS.join(',')}`,
        '-o', traceFile, '--', toolPath, ...argv,
      ],
      {
        cwd: path.join(tmp, 'cwd'),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, killed as one
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: path.join(tmp, 'home'), LANG: 'C.UTF-8', NSTAT_HISTORY: nstatHistory },
      },
    );
    child.stdout!.resume();
    child.stderr!.on('data', (d: Buffer) => {
      if (stderrHead.length < 2000) stderrHead += d.toString();
    });
    const exited = waitExit(child);
    const done = await Promise.race([exited.then(() => true), sleep(opts.timeoutMs).then(() => false)]);
    if (!done) {
      timedOut = true;
      const tracer = child.pid!;
      const pids = (await netnsPids(ns.name)).filter((p) => !peers.some((c) => c.pid === p));
      // a process that left the tool's process group (setsid, daemon()) would survive the group kill a capture ends with
      for (const p of pids) {
        const pg = await processGroup(p);
        const peerGroup = peers.some((c) => c.pid === pg);
        if (pg !== undefined && pg !== tracer && !peerGroup) {
          findings.push({ rule: 'outlived', line: `pid ${p} in process group ${pg}, not the tool's group ${tracer}`, target: `pid ${p}` });
        }
      }
      // SIGTERM to the tool's processes first (not to strace), so that what they do on the way out is traced
      for (const p of pids) {
        if (p === tracer) continue;
        const pg = await processGroup(p);
        if (peers.some((c) => c.pid === pg)) continue;
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          // gone
        }
      }
      const term = await Promise.race([exited.then(() => true), sleep(300).then(() => false)]);
      if (!term) {
        killGroup(tracer, 'SIGKILL');
        for (const p of pids) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    }
    exitCode = await exited;
    for (const c of opts.shared ? runPeers : peers) killGroup(c.pid, 'SIGKILL');
    // a peer of this run that is still starting is not the tool's: give its group the time to go
    await Promise.all(runPeers.map((c) => waitExit(c)));
    // anything of the tool's still in the namespace now escaped both the tracer and the group
    for (const p of await netnsPids(ns.name)) {
      const pg = await processGroup(p);
      if (pg === undefined || peers.some((c) => c.pid === pg)) continue; // gone meanwhile, or a peer
      if (!findings.some((f) => f.rule === 'outlived')) findings.push({ rule: 'outlived', line: `pid ${p} (group ${pg}) still running after the tool was stopped`, target: `pid ${p}` });
    }
    for (const p of await netnsPids(ns.name)) {
      const pg = await processGroup(p);
      if (peers.some((c) => c.pid === pg || c.pid === p)) continue;
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    const text = await readFile(traceFile, 'utf8').catch(() => '');
    const { calls, unparsed } = parseStrace(text);
    findings.push(...judge(calls, { toolPath, tool, home: path.join(tmp, 'home'), readOnly: opts.readOnly, stateFiles: [nstatHistory] }));
    return { argv, findings, unparsed, timedOut, exitCode, stderrHead, ms: Date.now() - started };
  } finally {
    if (child?.exitCode === null && child.signalCode === null) killGroup(child.pid, 'SIGKILL');
    if (!opts.shared) {
      for (const c of peers) killGroup(c.pid, 'SIGKILL');
      await removeNetns(ns.name);
    } else {
      for (const c of peers) if (!opts.shared.peers.includes(c)) killGroup(c.pid, 'SIGKILL');
    }
    if (await netnsExists(places.decoyNs)) await removeNetns(places.decoyNs);
    // a daemon chdir()s to "/" before it writes a relative file; that one name is the generator's
    await rm('/snpdiff-rel.out', { force: true });
    await rm(base, { recursive: true, force: true });
  }
}
