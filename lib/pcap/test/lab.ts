// Test fixtures: a pair of network namespaces joined by a veth pair (unique names per test
import type { Packet } from '../types.js';
import { parseCapture } from '../reader.js';
import type { Segment } from '../index.js';
// file), real capture processes inside them, and helpers that ask tcpdump for its view.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createVethPair, type VethPair } from '../../testing/veth-pair.js';

const run = promisify(execFile);

/** The shared veth pair, closed as the other fixtures here are. */
export type VethLab = Omit<VethPair, 'remove'> & { close(): Promise<void> };

export async function createVethLab(): Promise<VethLab> {
  const pair = await createVethPair({ tag: 'pcap', ipA: '192.0.2.1', ipB: '192.0.2.2' });
  return { ...pair, close: () => pair.remove() };
}

export function inNetns(ns: string, argv: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('ip', ['netns', 'exec', ns, ...argv], { maxBuffer: 64 * 1024 * 1024 });
}

export interface RunningCapture {
  /** what the tool has written so far */
  written(): Buffer;
  /** SIGINT (the capture tool flushes and exits), then everything it wrote to stdout */
  stop(): Promise<Buffer>;
}

/** Starts a capture tool in a namespace and resolves once its stderr says it is capturing. */
export async function startCapture(
  ns: string,
  argv: string[],
  ready: RegExp,
  onChunk?: (chunk: Buffer) => void,
): Promise<RunningCapture> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out.push(c);
    onChunk?.(c);
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${argv[0]} not ready after 30 s: ${err}`)), 30_000);
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        if (ready.test(err)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`${argv[0]} exited (${code}) before capturing: ${err}`));
      });
    });
  } catch (e) {
    await stopChild(child, exited);
    throw e;
  }
  return {
    written: () => Buffer.concat(out),
    stop: async () => {
      await stopChild(child, exited);
      return Buffer.concat(out);
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A temp directory removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pcap-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TcpdumpView {
  /** one line per packet (-nn -tt -x: timestamp, decode and hex of the bytes) */
  text: string;
  packets: number;
  stderr: string;
}

/** How tcpdump reads a capture file (nanosecond timestamps). Exit status ignored: truncated
 *  files make tcpdump print what it could and complain, which the caller inspects. */
export async function tcpdumpRead(file: string, extra: string[] = []): Promise<TcpdumpView> {
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(
      'tcpdump',
      ['--time-stamp-precision=nano', '-r', file, '-nn', '-tt', '-x', ...extra],
      { maxBuffer: 256 * 1024 * 1024 },
      (_e, stdout, stderr) => resolve({ stdout, stderr }),
    );
  });
  return { text: r.stdout, packets: countPacketLines(r.stdout), stderr: r.stderr };
}

/** tcpdump's per-packet lines begin with the timestamp; hex lines begin with a tab. */
export function countPacketLines(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (/^\d/.test(line)) n++;
  return n;
}

/** tcpdump -r over many files, one process each but a single shell: returns the concatenated
 *  output and fails if any of them fails. */
export async function tcpdumpReadEach(dir: string, files: string[]): Promise<string> {
  const script =
    'set -e; for f in "$@"; do tcpdump --time-stamp-precision=nano -r "$f" -nn -tt -x 2>>"$0.err"; done';
  const { stdout } = await run('bash', ['-c', script, join(dir, 'each'), ...files], {
    maxBuffer: 256 * 1024 * 1024,
    cwd: dir,
  });
  return stdout;
}

export async function writeTemp(dir: string, name: string, data: Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
}

/** Deterministic pseudo-random numbers (xorshift32), so a failing chunking can be replayed. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** Splits a buffer into chunks of random sizes in [1, max]. */
export function randomChunks(buf: Buffer, max: number, seed: number): Buffer[] {
  const next = rng(seed);
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; ) {
    const n = 1 + next(max);
    out.push(buf.subarray(o, o + n));
    o += n;
  }
  return out;
}

export function oneByteChunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; o++) out.push(buf.subarray(o, o + 1));
  return out;
}

/** The first difference between two packet lists, or undefined when they are equal (a fast
 *  stand-in for deep equality over thousands of Buffers). */
export function diffPackets(a: Packet[], b: Packet[]): string | undefined {
  if (a.length !== b.length) return `${a.length} packets vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    for (const k of ['timestampNs', 'linkType', 'interfaceId', 'capturedLength', 'originalLength', 'timestampUnknown'] as const) {
      if (x[k] !== y[k]) return `packet ${i}: ${k} ${String(x[k])} vs ${String(y[k])}`;
    }
    if (!x.data.equals(y.data)) return `packet ${i}: data differs`;
  }
  return undefined;
}

/** Every packet of a list of segments, each checked to parse cleanly and to hold the records it claims. */
export function packetsOf(segments: Segment[]): Packet[] {
  const all: Packet[] = [];
  for (const s of segments) {
    const r = parseCapture(s.data);
    if (r.errors.length) throw new Error(`segment does not parse: ${r.errors.join('; ')}`);
    if (r.packets !== s.records) throw new Error(`segment says ${s.records} records, holds ${r.packets}`);
    all.push(...r.packetList);
  }
  return all;
}
