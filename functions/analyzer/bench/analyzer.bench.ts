// npm run bench:analyzer — the analyzer CLI against tshark on the same files, side by side in
// this one run, on two workloads made here from real traffic in test namespaces:
// - many flows (BENCH_WORKLOAD=many): thousands of short TCP connections with small packets and
//   DNS queries, a share of packets dropped (retransmissions), captured by tcpdump; that real
//   capture is then replicated with shifted client addresses and times to ≥ 3M packets
//   (bench/replicate.ts: making 3M real packets takes ~20 minutes on the 2-core machine), and
//   compared with `tshark -q -z conv,tcp -z conv,udp`: packets/s wall and CPU, the ratio, peak
//   RSS; then the start-up time of both on a 10-packet file.
// - bulk (BENCH_WORKLOAD=bulk): a ≥ 500 MB capture (iperf3 bulk transfer plus many short HTTP
//   connections, full snapshot length, offloads off so frames are wire-sized) against
//   `tshark -q -z conv,tcp`: MB/s.
// Both by default. Each tool runs twice (start-up: five times), alternating, from the page cache.
// The captures are deleted.
import { execFile } from 'node:child_process';
import { copyFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLIENT_IP, createLab, HTTP_PORT, inNs, SERVER_IP, startInNs, startServers, stopChild, type Lab } from '../test/lab.js';
import { captureManyFlows } from './many-flows.js';
import { replicate, writeFirst } from './replicate.js';
import { parseConversations } from '../test/tshark.js';
import type { Summary } from '../../../lib/api/analysis-summary.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const TARGET_BYTES = Number(process.env.BENCH_CAPTURE_MB ?? 520) * 1e6;
const SHORT_CONNECTIONS = Number(process.env.BENCH_SHORT_CONNECTIONS ?? 3000);
const WORKLOAD = process.env.BENCH_WORKLOAD ?? 'both';
const MANY_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20_000);
const MANY_DNS = Number(process.env.BENCH_DNS_QUERIES ?? 20_000);
const MANY_PACKETS = Number(process.env.BENCH_PACKETS ?? 3_200_000);

interface Timed {
  seconds: number;
  /** user + system CPU seconds: steadier than wall time on a busy machine */
  cpuSeconds: number;
  maxRssKb: number;
  stdout: string;
}

/** Runs a command under GNU time: wall seconds and peak RSS from the kernel's rusage. */
async function timed(argv: string[]): Promise<Timed> {
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'BENCHTIME %e %M %U %S', ...argv], { maxBuffer: 512 << 20 });
  const m = /BENCHTIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${stderr.slice(-500)}`);
  return { seconds: Number(m[1]), maxRssKb: Number(m[2]), cpuSeconds: Number(m[3]) + Number(m[4]), stdout };
}

/** Many short connections, `concurrency` at a time, each its own TCP connection. */
const SHORT_CLIENT = `
const http = require('http');
let left = ${SHORT_CONNECTIONS}, done = 0;
function one() {
  if (left-- <= 0) return;
  http.get({ host: '${SERVER_IP}', port: ${HTTP_PORT}, path: '/', agent: false }, (res) => {
    res.resume();
    res.on('end', () => { done++; one(); });
  }).on('error', () => one());
}
for (let i = 0; i < 16; i++) one();
const t = setInterval(() => { if (done >= ${SHORT_CONNECTIONS} || left <= -16) { clearInterval(t); console.log('done ' + done); } }, 100);
`;

async function makeCapture(lab: Lab, file: string): Promise<void> {
  for (const [ns, dev] of [
    [lab.nsClient, lab.ifClient],
    [lab.nsServer, lab.ifServer],
  ] as const) {
    await inNs(ns, ['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']).catch(() => undefined);
  }
  await startServers(lab);
  const iperf = await startInNs(lab.nsServer, ['iperf3', '-s', '-B', SERVER_IP, '--forceflush'], /Server listening/);
  const tcpdump = await startInNs(lab.nsClient, ['tcpdump', '-i', lab.ifClient, '-B', '32768', '-w', file], /listening on/);
  try {
    const short = inNs(lab.nsClient, [process.execPath, '-e', SHORT_CLIENT], 600_000);
    for (let round = 0; round < 8; round++) {
      const size = (await stat(file).catch(() => ({ size: 0 }))).size;
      if (size >= TARGET_BYTES) break;
      const mb = Math.max(50, Math.ceil((TARGET_BYTES - size) / 1e6 / 2) + 20);
      await inNs(lab.nsClient, ['iperf3', '-c', SERVER_IP, '-n', `${mb}M`, '-l', '64K'], 600_000);
    }
    const { stdout } = await short;
    process.stdout.write(`short HTTP connections: ${stdout.trim()}\n`);
  } finally {
    await stopChild(tcpdump, 'SIGINT');
    await stopChild(iperf, 'SIGTERM');
  }
}

/** The best (fastest wall) of a tool's runs: the machine is shared, the slower runs show the noise. */
function best(ts: Timed[]): Timed {
  return ts.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

const seconds = (ts: Timed[]) => ts.map((t) => `${t.seconds.toFixed(2)}/${t.cpuSeconds.toFixed(2)}`).join(', ');

async function manyFlows(): Promise<void> {
  const lab = await createLab();
  try {
    const base = join(lab.dir, 'base.pcap');
    const file = join(lab.dir, 'many.pcap');
    const tiny = join(lab.dir, 'tiny.pcap');
    process.stdout.write(`many flows: capturing ${MANY_CONNECTIONS} short TCP connections and ${MANY_DNS} DNS queries, 1% of packets dropped each way…\n`);
    const t0 = Date.now();
    await captureManyFlows(lab, base, { connections: MANY_CONNECTIONS, dnsQueries: MANY_DNS, lossPercent: 1 });
    const one = replicate(base, file, CLIENT_IP, 1);
    const copies = Math.ceil(MANY_PACKETS / one);
    const packets = replicate(base, file, CLIENT_IP, copies);
    writeFirst(base, tiny, 10);
    // BENCH_KEEP=DIR keeps the files, to compare builds on the same captures
    if (process.env.BENCH_KEEP) for (const f of [base, file, tiny]) await copyFile(f, join(process.env.BENCH_KEEP, basename(f)));
    const mb = (await stat(file)).size / 1e6;
    process.stdout.write(`real capture: ${one} packets in ${((Date.now() - t0) / 1000).toFixed(0)} s; replicated ${copies}× (shifted client addresses and times): ${packets} packets, ${mb.toFixed(0)} MB\n`);

    await run('bash', ['-c', 'cat "$0" > /dev/null', file]);
    const runs: { analyzer: Timed[]; tshark: Timed[] } = { analyzer: [], tshark: [] };
    for (let i = 0; i < 2; i++) {
      runs.analyzer.push(await timed([process.execPath, MAIN, 'summarize', file, '--json']));
      runs.tshark.push(await timed(['tshark', '-q', '-z', 'conv,tcp', '-z', 'conv,udp', '-r', file]));
    }
    process.stdout.write(`runs (wall/CPU s): analyzer ${seconds(runs.analyzer)}; tshark ${seconds(runs.tshark)}\n`);
    const analyzer = best(runs.analyzer);
    const tshark = best(runs.tshark);
    const summary = JSON.parse(analyzer.stdout) as Summary;
    const convs = parseConversations(tshark.stdout);
    const tcpConvs = convs.filter((c) => c.protocol === 'tcp').length;
    const udpConvs = convs.length - tcpConvs;
    process.stdout.write(
      `capture: ${summary.packets} packets, ${summary.flowCount} flows (${summary.tcp.flows} TCP, ${summary.udp.flows} UDP; ` +
        `tshark: ${tcpConvs} TCP and ${udpConvs} UDP conversations), ${summary.tcp.attempted} connections, ` +
        `${summary.tcp.retransmissions} retransmissions, ${summary.dns.queries} DNS queries\n`,
    );
    const row = (name: string, t: Timed) =>
      `${name.padEnd(28)} ${t.seconds.toFixed(2).padStart(7)} s ${(packets / t.seconds / 1e6).toFixed(2).padStart(6)} Mpackets/s wall ` +
      `${t.cpuSeconds.toFixed(2).padStart(7)} s ${(packets / t.cpuSeconds / 1e6).toFixed(2).padStart(6)} Mpackets/s CPU ${(t.maxRssKb / 1024).toFixed(0).padStart(6)} MB peak RSS\n`;
    process.stdout.write(row('snoopy-analyzer', analyzer));
    process.stdout.write(row('tshark conv,tcp + conv,udp', tshark));
    process.stdout.write(
      `ratio: the analyzer is ${(tshark.seconds / analyzer.seconds).toFixed(1)}× faster than tshark in wall time, ` +
        `${(tshark.cpuSeconds / analyzer.cpuSeconds).toFixed(1)}× in CPU time (target ≥ 10×, ≥ 2 Mpackets/s); ` +
        `analyzer peak RSS ${(analyzer.maxRssKb / 1024).toFixed(0)} MB (target < 200 MB)\n`,
    );
    if (summary.tcp.flows !== tcpConvs) process.stdout.write(`note: TCP flow counts differ (analyzer ${summary.tcp.flows}, tshark ${tcpConvs})\n`);

    const start: { analyzer: Timed[]; tshark: Timed[] } = { analyzer: [], tshark: [] };
    for (let i = 0; i < 5; i++) {
      start.analyzer.push(await timed([process.execPath, MAIN, 'summarize', tiny]));
      start.tshark.push(await timed(['tshark', '-q', '-z', 'conv,tcp', '-z', 'conv,udp', '-r', tiny]));
    }
    const sa = best(start.analyzer);
    const st = best(start.tshark);
    process.stdout.write(
      `start-up on a 10-packet file (best of 5, wall/CPU s): analyzer ${sa.seconds.toFixed(2)}/${sa.cpuSeconds.toFixed(2)}, ` +
        `tshark ${st.seconds.toFixed(2)}/${st.cpuSeconds.toFixed(2)} (target < 0.15 s); all runs: analyzer ${seconds(start.analyzer)}; tshark ${seconds(start.tshark)}\n\n`,
    );
  } finally {
    await lab.close();
  }
}

async function bulk(): Promise<void> {
  const lab = await createLab();
  try {
    const file = join(lab.dir, 'bench.pcap');
    process.stdout.write(`making a capture of ≥ ${(TARGET_BYTES / 1e6).toFixed(0)} MB (iperf3 + ${SHORT_CONNECTIONS} short connections)…\n`);
    await makeCapture(lab, file);
    const size = (await stat(file)).size;
    const mb = size / 1e6;
    if (size < 500e6 && !process.env.BENCH_CAPTURE_MB) throw new Error(`the capture has only ${mb.toFixed(0)} MB`);

    // Both read the file from the page cache; each runs twice, alternating, and its faster run
    // counts (the machine is shared: the slower run shows the noise).
    await run('bash', ['-c', 'cat "$0" > /dev/null', file]);
    const runs: { analyzer: Timed[]; tshark: Timed[] } = { analyzer: [], tshark: [] };
    for (let i = 0; i < 2; i++) {
      runs.analyzer.push(await timed([process.execPath, MAIN, 'summarize', file, '--json']));
      runs.tshark.push(await timed(['tshark', '-q', '-z', 'conv,tcp', '-r', file]));
    }
    const analyzer = best(runs.analyzer);
    const tshark = best(runs.tshark);
    process.stdout.write(
      `runs (wall s): analyzer ${runs.analyzer.map((t) => t.seconds.toFixed(2)).join(', ')}; tshark ${runs.tshark.map((t) => t.seconds.toFixed(2)).join(', ')}\n`,
    );
    const summary = JSON.parse(analyzer.stdout) as Summary;
    const convs = parseConversations(tshark.stdout).filter((c) => c.protocol === 'tcp');
    const tcpFlows = summary.tcp.flows;

    const row = (name: string, t: Timed) =>
      `${name.padEnd(16)} ${t.seconds.toFixed(2).padStart(8)} s ${(mb / t.seconds).toFixed(1).padStart(9)} MB/s wall ` +
      `${t.cpuSeconds.toFixed(2).padStart(8)} s ${(mb / t.cpuSeconds).toFixed(1).padStart(9)} MB/s CPU ${(t.maxRssKb / 1024).toFixed(0).padStart(6)} MB peak RSS\n`;
    process.stdout.write(
      `\ncapture: ${mb.toFixed(1)} MB, ${summary.packets} packets, ${tcpFlows} TCP flows ` +
        `(tshark: ${convs.length} TCP conversations), ${summary.tcp.attempted} connections attempted, ` +
        `${summary.tcp.established} established, ${summary.tcp.retransmissions} retransmissions\n`,
    );
    process.stdout.write(row('snoopy-analyzer', analyzer));
    process.stdout.write(row('tshark conv,tcp', tshark));
    const ratio = tshark.seconds / analyzer.seconds;
    const cpuRatio = tshark.cpuSeconds / analyzer.cpuSeconds;
    process.stdout.write(`ratio: the analyzer is ${ratio.toFixed(1)}× faster than tshark in wall time, ${cpuRatio.toFixed(1)}× in CPU time (target ≥ 10×)\n`);
    process.stdout.write(`analyzer peak RSS ${(analyzer.maxRssKb / 1024).toFixed(0)} MB (target < 200 MB)\n`);
    if (tcpFlows !== convs.length) process.stdout.write(`note: TCP flow counts differ (analyzer ${tcpFlows}, tshark ${convs.length})\n`);
  } finally {
    await lab.close();
  }
}

async function main(): Promise<void> {
  if (WORKLOAD !== 'bulk') await manyFlows();
  if (WORKLOAD !== 'many') await bulk();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:analyzer failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
