// Benchmark: what one evidence snapshot (evidence.ts) costs on a busy network namespace — by
// default 10,000 conntrack entries and 5,000 sockets (2,500 TCP connections over lo, both ends).
// Time of takeSnapshot, and the growth of this process's RSS and heap while it runs (the tools'
// own memory is not counted: they are separate, short processes in the sandbox), and the CPU time
// of podtracer and of the tools (fair under load, where the wall-clock time is not).
//   npm run bench:evidence [-- --rounds 5 --connections 2500 --conntrack 10000]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_TOOL_POLICY } from '../../lib/tool-policy.js';
import { takeSnapshot } from '../evidence.js';
import { TargetNetns, run, waitFor } from '../test/helpers.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, connections: { type: 'string', default: '2500' }, conntrack: { type: 'string', default: '10000' } },
});
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const conntrackEntries = Number(values.conntrack);

/** A node process in the namespace holding `n` TCP connections over lo (2n sockets) until killed. */
function holdConnections(ns: string, n: number): ChildProcess {
  const script = `
    const net = require('node:net'); const held = []; let accepted = 0, open = 0;
    // both ends counted: a connection the client sees established may still wait for the server's
    // accept queue (its ACK dropped while the queue was full, until a SYN-ACK retransmit)
    const check = () => { if (accepted === ${n} && open === ${n}) console.log('held'); };
    const srv = net.createServer((s) => { held.push(s); accepted++; check(); }).listen({ port: 7000, host: '127.0.0.1', backlog: ${n} }, () => {
      for (let i = 0; i < ${n}; i++) net.connect(7000, '127.0.0.1', function () { held.push(this); open++; check(); });
    });`;
  return spawn('ip', ['netns', 'exec', ns, 'prlimit', `--nofile=${2 * n + 100}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** UDP datagrams to `n` distinct ports on lo: one conntrack entry each (the namespace tracks). */
async function conntrackFlows(ns: string, n: number): Promise<void> {
  const script = `const s = require('node:dgram').createSocket('udp4'); let sent = 0;
    for (let i = 0; i < ${n}; i++) s.send('x', 20000 + (i % 40000), '127.0.0.1', () => { if (++sent === ${n}) s.close(); });`;
  await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
}

/** CPU time of this process's ended children (the tools and their sandboxes), from /proc/self/stat. */
async function childrenCpuMs(): Promise<number> {
  const fields = (await readFile('/proc/self/stat', 'utf8')).replace(/^.*\) /, '').split(' ');
  // cutime and cstime: fields 16 and 17 of stat, in clock ticks (100 a second on Linux)
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

async function main(): Promise<void> {
  const net = new TargetNetns('bev');
  await net.create();
  let holder: ChildProcess | undefined;
  try {
    // connection tracking on in the namespace, unreplied UDP kept long enough for the rounds
    await run('ip', ['netns', 'exec', net.a, 'nft', 'add table ip bev']);
    await run('ip', ['netns', 'exec', net.a, 'nft', 'add chain ip bev out { type filter hook output priority 0 ; }']);
    await run('ip', ['netns', 'exec', net.a, 'nft', 'add rule ip bev out ct state new counter']);
    await run('ip', ['netns', 'exec', net.a, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_udp_timeout=600']);
    holder = holdConnections(net.a, connections);
    let out = '';
    holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('held'), `${connections} connections`, 120_000);
    await conntrackFlows(net.a, Math.max(0, conntrackEntries - connections));
    const count = Number((await run('ip', ['netns', 'exec', net.a, 'conntrack', '-C'])).stdout.trim());
    const sockets = (await run('ip', ['netns', 'exec', net.a, 'ss', '-tuan'])).stdout.split('\n').length - 2;
    process.stdout.write(`namespace: ${count} conntrack entries, ${sockets} sockets\n`);
    const target = { procRoot: '/proc', pid: net.targetPid, policy: DEFAULT_TOOL_POLICY, conntrackMaxPath: '/proc/sys/net/netfilter/nf_conntrack_max' };
    for (let r = 1; r <= rounds; r++) {
      global.gc?.();
      const base = process.memoryUsage();
      let peakRss = base.rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
      const started = performance.now();
      const cpu0 = process.cpuUsage();
      const children0 = await childrenCpuMs();
      const snap = await takeSnapshot(target);
      const ms = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const childrenMs = (await childrenCpuMs()) - children0;
      const slowest = Object.entries(snap.sources).sort(([, a], [, b]) => b.ms - a.ms).slice(0, 3).map(([n, s]) => `${n} ${s.ms}`);
      clearInterval(sampler);
      const after = process.memoryUsage();
      peakRss = Math.max(peakRss, after.rss);
      const bytes = JSON.stringify(snap).length;
      const notOk = Object.entries(snap.sources).filter(([, s]) => s.status !== 'ok').map(([n, s]) => `${n}:${s.status}`);
      process.stdout.write(
        `round ${r}: ${ms.toFixed(0)} ms (CPU: podtracer ${cpuMs.toFixed(0)} ms, tools ${childrenMs.toFixed(0)} ms; slowest ${slowest.join(', ')} ms), RSS +${((peakRss - base.rss) / 1e6).toFixed(1)} MB at peak, heap +${((after.heapUsed - base.heapUsed) / 1e6).toFixed(1)} MB, ` +
          `snapshot ${(bytes / 1e6).toFixed(2)} MB, conntrack entries ${snap.counters.conntrackEntries ?? '?'}${notOk.length ? `, not ok: ${notOk.join(' ')}` : ''}\n`,
      );
    }
  } finally {
    holder?.kill('SIGKILL');
    await net.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
