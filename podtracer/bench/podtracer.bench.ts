// Benchmark: iperf3 at full speed for 10 s across a veth pair while (a) a plain `tcpdump -w FILE`
// and (b) podtracer → snoopy-collector → local S3 capture the same interface at the same time.
// Prints packets captured and dropped by the kernel for both and the ratio (b)/(a), where (b)
// counts the packets actually stored. Target: ≥ 0.95.
//   npm run bench:podtracer [-- --seconds 10] [--snaplen 128] [--sink dir|collector] [--spool-max-bytes 8Gi]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startS3Server } from '../../infra/s3/child.js';
import { startCollectorChild } from '../../functions/collector/test/helpers.js';
import { parseTcpdumpStats } from '../summary.js';
import { TargetNetns, countPackets, run, sleep, startPodtracer, waitFor } from '../test/helpers.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      snaplen: { type: 'string', default: '128' },
      // "dir" isolates podtracer's own cost from the collector's and the S3 server's
      sink: { type: 'string', default: 'collector' },
      // podtracer's spool bound (its default, 1Gi, unless given): a full-snaplen capture at several
      // Gbit/s outruns the local storage path, and segments beyond the bound are dropped and counted
      'spool-max-bytes': { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const snaplen = values.snaplen!;
  const toDir = values.sink === 'dir';
  if (!(seconds > 0) || !/^\d+$/.test(snaplen) || !['dir', 'collector'].includes(values.sink!)) {
    process.stderr.write('podtracer bench: --seconds must be > 0, --snaplen an integer, --sink dir or collector\n');
    process.exit(2);
  }
  const work = await mkdtemp(join(tmpdir(), 'podtracer-bench-'));
  const net = new TargetNetns('bench');
  let s3: Awaited<ReturnType<typeof startS3Server>> | undefined;
  let collector: Awaited<ReturnType<typeof startCollectorChild>> | undefined;
  try {
    await net.create();
    if (!toDir) {
      s3 = await startS3Server({ dir: join(work, 's3'), buckets: ['bench'] });
      collector = await startCollectorChild(s3.env('bench'));
    }

    const server = net.spawnIn('b', ['iperf3', '-s', '-1', '--forceflush', '-B', net.ipB]);
    let serverOut = '';
    server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
    await waitFor(() => serverOut.includes('Server listening'), 'the iperf3 server');

    // (a) plain tcpdump writing a file
    const refFile = join(work, 'plain.pcap');
    const plain = net.spawnIn('a', ['tcpdump', '-i', net.vethA, '-n', '-s', snaplen, '-w', refFile, 'tcp']);
    let plainErr = '';
    plain.stderr!.on('data', (d: Buffer) => (plainErr += d.toString()));
    // (b) podtracer through the collector into S3
    const term = join(work, 'podtracer.json');
    const p = startPodtracer(
      [
        'run', '--pod', 'bench', '-n', 'bench', '--pid', String(net.targetPid),
        ...(toDir ? ['--output-dir', join(work, 'out')] : ['--collector', collector!.address]),
        '--capture-id', 'bench', '--spool-dir', join(work, 'spool'), '--upload-grace', '10m',
        ...(values['spool-max-bytes'] ? ['--spool-max-bytes', values['spool-max-bytes']] : []),
        '--', 'tcpdump', '-i', net.vethA, '-n', '-s', snaplen, '-w', '-', 'tcp',
      ],
      { env: { SNOOPY_JOB: 'bench', SNOOPY_JOB_NAMESPACE: 'bench', LOG_LEVEL: 'warn' }, terminationLog: term },
    );
    await waitFor(() => plainErr.includes('listening on'), 'the plain tcpdump');
    await sleep(500);

    const started = Date.now();
    const { stdout: iperfOut } = await run('ip', ['netns', 'exec', net.a, 'iperf3', '-c', net.ipB, '-t', String(seconds), '-f', 'g'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const elapsed = (Date.now() - started) / 1000;
    await sleep(1500);
    plain.kill('SIGINT');
    p.child.kill('SIGTERM');
    await new Promise((r) => (plain.exitCode !== null ? r(undefined) : plain.once('close', r)));
    const uploadStart = Date.now();
    const r = await p.result;
    const drainSeconds = (Date.now() - uploadStart) / 1000;

    const a = parseTcpdumpStats(plainErr);
    const aStored = await countPackets(refFile, 'tcp');
    const s = r.summary ?? {};
    const bStored = Number(s.records ?? 0);
    const sender = /([\d.]+) Gbits\/sec.*sender/.exec(iperfOut)?.[1] ?? '?';
    const rows = [
      ['', 'captured', 'dropped by kernel', 'stored'],
      ['(a) tcpdump -w file', String(a.packetsCaptured), String(a.packetsDroppedByKernel), String(aStored)],
      [toDir ? '(b) podtracer → directory' : '(b) podtracer → collector → S3', String(s.packetsCaptured), String(s.packetsDroppedByKernel), String(bStored)],
    ];
    process.stdout.write(`podtracer bench: iperf3 ${seconds}s over a veth at ${sender} Gbit/s (sender), snaplen ${snaplen}, ${elapsed.toFixed(1)} s\n`);
    for (const row of rows) process.stdout.write(`  ${row[0]!.padEnd(32)}${row[1]!.padStart(12)}${row[2]!.padStart(20)}${row[3]!.padStart(12)}\n`);
    process.stdout.write(
      `  podtracer: exit ${r.code}, ${s.segments} segments, ${s.bytes} bytes stored, ${s.uploadRetries} retries, ` +
        `${s.spoolDroppedSegments} dropped by the spool, uploads finished ${drainSeconds.toFixed(1)} s after the stop, ` +
        `podtracer CPU ${s.cpuSeconds} s\n`,
    );
    const ratio = aStored > 0 ? bStored / aStored : NaN;
    process.stdout.write(`  ratio (b)/(a) packets stored: ${ratio.toFixed(3)} (target ≥ 0.95)\n`);
  } finally {
    collector?.child.kill('SIGKILL');
    await s3?.kill();
    await net.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`podtracer bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
