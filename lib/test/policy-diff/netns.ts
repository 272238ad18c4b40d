// The throwaway network namespace each run happens in: loopback up and a veth pair whose both
// ends stay inside (sd0 10.253.7.1/24, sd1 10.253.7.2/24; this kernel may lack the dummy
// driver). No route leads out of it, so nothing a tool sends can leave. `ip netns exec` also
// bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf, which points resolvers at
// 127.0.0.1 inside the namespace.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, readlink, rm, mkdir, writeFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { NETNS_V4 } from './values.js';

const run = promisify(execFile);

export interface Netns {
  name: string;
  remove(): Promise<void>;
}

/** Names of namespaces created by this process and not yet removed (removed on exit, too). */
const live = new Set<string>();
/** Set once removeAllNetns() ran: a namespace still being made then is removed as soon as it exists. */
let closing = false;

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

function runWithInput(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
    child.stdin.end(input);
  });
}

export async function createNetns(): Promise<Netns> {
  const name = uniqueName('snp-diff');
  live.add(name); // before it exists, so that an exit while it is being made still removes it
  await run('ip', ['netns', 'add', name]).catch(async (err: unknown) => {
    live.delete(name);
    throw err;
  });
  const ns: Netns = { name, remove: () => removeNetns(name) };
  if (closing) {
    await ns.remove();
    throw new Error('policy-diff: shutting down');
  }
  try {
    await runWithInput('ip', ['-n', name, '-batch', '-'], [
      'link set lo up',
      'link add sd0 type veth peer name sd1',
      `addr add ${NETNS_V4.sd0}/${NETNS_V4.prefix} dev sd0`,
      `addr add ${NETNS_V4.sd1}/${NETNS_V4.prefix} dev sd1`,
      'link set sd0 up',
      'link set sd1 up',
      '',
    ].join('\n'));
    await mkdir(`/etc/netns/${name}`, { recursive: true });
    await writeFile(`/etc/netns/${name}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  } catch (err) {
    await ns.remove();
    throw err;
  }
  return ns;
}

/** Processes whose network namespace is `name` (what `ip netns pids` reports), read from /proc directly. */
export async function netnsPids(name: string): Promise<number[]> {
  let ino: number;
  try {
    ino = (await stat(`/run/netns/${name}`)).ino;
  } catch {
    return [];
  }
  const want = `net:[${ino}]`;
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const link = await readlink(`/proc/${entry}/ns/net`).catch(() => '');
    if (link === want) out.push(Number(entry));
  }
  return out;
}

/** The process group of a process, or undefined once it is gone. */
export async function processGroup(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[2]);
}

export async function killNetnsProcesses(name: string): Promise<number[]> {
  const pids = await netnsPids(name);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

export async function removeNetns(name: string): Promise<void> {
  // processes still inside would keep the namespace alive after its name is gone
  for (let i = 0; i < 20; i++) {
    const left = await killNetnsProcesses(name);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await run('ip', ['netns', 'del', name]).catch(() => undefined);
  await rm(`/etc/netns/${name}`, { recursive: true, force: true });
  live.delete(name);
}

/** Removes every namespace this process created and still holds (for exit and signal handlers). */
export async function removeAllNetns(): Promise<void> {
  closing = true;
  await Promise.all([...live].map((n) => removeNetns(n)));
}

/** Whether a namespace of that name exists (a decoy must not). */
export async function netnsExists(name: string): Promise<boolean> {
  return stat(`/run/netns/${name}`).then(
    () => true,
    () => false,
  );
}
