// npm run bench:collector — throughput of N parallel segment uploads through the collector into
// an S3 server, side by side with the same bytes uploaded straight to that server with
// @aws-sdk/lib-storage, plus the collector's own CPU seconds per GiB stored and its peak memory.
// Phases alternate (direct, collector, collector, direct) so drift on a shared machine hits both
// sides alike.
//   node collector.bench.js [--s3 embedded|rgw|URL] [--streams 20] [--mib 32] [--rounds 3] [--chunk-kib 256] [--cpu-prof DIR]
// A URL takes its credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and needs the bucket
// "bench" to exist or be creatable.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CLIENT_HEAP_GROWING_PERCENT, tuneHeapForStreaming } from '../../../lib/heap-tuning.js';
import { createCollectorClient, uploadSegment, DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES } from '../../../lib/collector-client.js';
import { parseS3Spec, startS3TestServer } from '../../../infra/s3/harness.js';
import { startCollectorChild } from '../child.js';
import { cpuSeconds, statusKiB } from '../../../lib/proc.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const BUCKET = 'bench';

async function* chunks(buf: Buffer): AsyncGenerator<Buffer> {
  for (let off = 0; off < buf.length; off += MAX_CHUNK_BYTES) yield buf.subarray(off, off + MAX_CHUNK_BYTES);
}

async function emptyBucket(s3: S3Client): Promise<void> {
  for (let page = 0; page < 100; page++) {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (res.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
  }
}

/** Undone in reverse order at the end, also when the run fails half-way. */
const cleanups: Array<() => unknown> = [];
async function cleanUp(): Promise<void> {
  for (const undo of cleanups.splice(0).reverse()) {
    try {
      await undo();
    } catch {
      /* keep undoing the rest */
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      streams: { type: 'string', default: process.env.BENCH_STREAMS ?? '20' },
      mib: { type: 'string', default: process.env.BENCH_MIB ?? '32' },
      rounds: { type: 'string', default: '3' },
      'chunk-kib': { type: 'string', default: String(DEFAULT_CHUNK_BYTES / 1024) },
      s3: { type: 'string', default: process.env.BENCH_S3 ?? 'embedded' },
      // writes the collector's CPU profile (node --cpu-prof) into this directory when it exits
      'cpu-prof': { type: 'string' },
    },
  });
  let spec;
  try {
    spec = parseS3Spec(values.s3!);
  } catch (err) {
    process.stderr.write(`collector.bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const streams = Number(values.streams);
  const size = Number(values.mib) * MIB;
  const rounds = Number(values.rounds);
  const chunkBytes = Number(values['chunk-kib']) * 1024;
  if (![streams, size, rounds, chunkBytes].every((n) => Number.isInteger(n) && n > 0)) {
    process.stderr.write('collector.bench: --streams, --mib, --rounds and --chunk-kib must be positive integers\n');
    process.exit(2);
  }

  // This process stands in for podtracer, the collector's real client, and is tuned like it.
  tuneHeapForStreaming(CLIENT_HEAP_GROWING_PERCENT);
  const s3server = await startS3TestServer(spec, { buckets: [BUCKET] });
  cleanups.push(() => s3server.stop());
  if (spec.backend === 'url') await s3server.createBucket(BUCKET);
  // Tuning knobs pass through to the collector, so their effect can be measured.
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => /^(S3_PART_SIZE|S3_QUEUE_SIZE|UPLOAD_BUFFER_BYTES|MALLOC_\w+|NODE_OPTIONS)$/.test(e[0]) && e[1] !== undefined,
    ),
  );
  const profArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
  const collector = await startCollectorChild({ ...s3server.env(BUCKET), ...passThrough }, 20_000, profArgs);
  cleanups.push(async () => {
    collector.child.kill('SIGTERM');
    await collector.exited;
  });
  const pid = collector.child.pid!;
  const s3 = s3server.client();
  cleanups.push(() => s3.destroy());
  const client = createCollectorClient(collector.address);
  cleanups.push(() => client.close());
  // One random buffer shared by every stream: the bench process itself stays small.
  const data = randomBytes(size);
  let peakRssKiB = 0;
  const sampler = setInterval(() => (peakRssKiB = Math.max(peakRssKiB, statusKiB(pid, 'VmRSS'))), 50);
  const idleRssKiB = statusKiB(pid, 'VmRSS');

  const viaCollector = async (round: number) => {
    await Promise.all(
      Array.from({ length: streams }, (_, i) =>
        uploadSegment(
          client,
          {
            captureId: `bench-${round}`,
            snoopyJob: 'bench',
            snoopyJobNamespace: 'bench',
            pod: `pod-${i}`,
            podNamespace: 'bench',
            sequence: 0,
            format: 'FORMAT_PCAP',
          },
          chunks(data),
          { chunkBytes },
        ),
      ),
    );
  };
  const direct = async (round: number) => {
    await Promise.all(
      Array.from({ length: streams }, (_, i) =>
        new Upload({
          client: s3,
          params: { Bucket: BUCKET, Key: `direct/${round}/pod-${i}.pcap`, Body: data },
          partSize: 5 * MIB,
        }).done(),
      ),
    );
  };

  const totals = { collector: { bytes: 0, ms: 0, cpu: 0 }, direct: { bytes: 0, ms: 0, cpu: 0 } };
  // The collector is a long-running process: its first round also pays V8's JIT warm-up (compiling
  // the hot paths, on a background thread that counts in its CPU), so rounds after the first are
  // reported apart as well.
  const warm = { bytes: 0, cpu: 0 };
  const phase = async (name: 'collector' | 'direct', round: number) => {
    const cpu0 = { bench: process.cpuUsage(), collector: cpuSeconds(pid) };
    const t0 = performance.now();
    await (name === 'collector' ? viaCollector(round) : direct(round));
    const ms = performance.now() - t0;
    const bench = process.cpuUsage(cpu0.bench);
    const collectorCpu = cpuSeconds(pid) - cpu0.collector;
    totals[name].bytes += streams * size;
    totals[name].ms += ms;
    totals[name].cpu += collectorCpu;
    if (name === 'collector' && round > 0) {
      warm.bytes += streams * size;
      warm.cpu += collectorCpu;
    }
    process.stdout.write(
      `  round ${round} ${name.padEnd(9)} ${((streams * size) / MIB / (ms / 1000)).toFixed(1)} MiB/s` +
        `  (${(ms / 1000).toFixed(1)} s; CPU s: bench ${((bench.user + bench.system) / 1e6).toFixed(1)},` +
        ` collector ${collectorCpu.toFixed(2)}${name === 'collector' ? ` = ${(collectorCpu / ((streams * size) / GIB)).toFixed(2)} s/GiB` : ''})\n`,
    );
    await emptyBucket(s3);
  };

  process.stdout.write(
    `collector bench: S3 ${s3server.backend} (${s3server.endpoint}), ${streams} parallel streams × ${values.mib} MiB, ${chunkBytes / 1024} KiB messages, ${rounds} round(s); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`,
  );
  try {
    for (let r = 0; r < rounds; r++) {
      const order: Array<'collector' | 'direct'> = r % 2 === 0 ? ['direct', 'collector'] : ['collector', 'direct'];
      for (const name of order) await phase(name, r);
    }
  } finally {
    clearInterval(sampler);
  }
  const hwmKiB = statusKiB(pid, 'VmHWM');
  const rate = (t: { bytes: number; ms: number }) => t.bytes / (t.ms / 1000);
  const viaRate = rate(totals.collector);
  const directRate = rate(totals.direct);
  const peakMiB = Math.max(peakRssKiB, hwmKiB) / 1024;
  const cpuPerGiB = totals.collector.cpu / (totals.collector.bytes / GIB);
  // The collector's work runs on one thread: with a core of its own it could store about
  // 1/cpuPerGiB GiB/s, so the collector path would run at the direct rate up to that.
  const ownCoreRate = GIB / cpuPerGiB;
  process.stdout.write(
    [
      `through collector: ${(viaRate / MIB).toFixed(1)} MiB/s (${Math.round(viaRate)} bytes/s)`,
      `direct lib-storage: ${(directRate / MIB).toFixed(1)} MiB/s (${Math.round(directRate)} bytes/s)`,
      `ratio collector/direct (${s3server.backend}): ${(viaRate / directRate).toFixed(3)} measured on this machine`,
      `collector CPU: ${cpuPerGiB.toFixed(2)} s per GiB stored, all rounds (target <= 3)`,
      warm.bytes > 0
        ? `collector CPU after the first round (JIT warm): ${(warm.cpu / (warm.bytes / GIB)).toFixed(2)} s per GiB stored (rounds 1..${rounds - 1})`
        : 'collector CPU after the first round: (run --rounds 2 or more)',
      `load average now: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (CPU seconds are the fair figure on a shared machine; rates are not)`,
      `estimate with a core of its own: the collector alone could store ${(ownCoreRate / MIB).toFixed(0)} MiB/s, so ratio ≈ ${Math.min(1, ownCoreRate / directRate).toFixed(2)} against this direct rate`,
      `collector RSS: idle ${(idleRssKiB / 1024).toFixed(0)} MiB, peak ${peakMiB.toFixed(0)} MiB = ${((peakMiB * MIB) / 1e6).toFixed(0)} MB (VmHWM ${(hwmKiB / 1024).toFixed(0)} MiB; target < 200 MB)`,
      '',
    ].join('\n'),
  );

  await cleanUp();
}

main().catch(async (err: unknown) => {
  process.stderr.write(`collector.bench: ${(err as Error).stack ?? String(err)}\n`);
  await cleanUp();
  process.exit(1);
});
