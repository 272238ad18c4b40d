// The spool over a real output file: segments cut by the real Segmenter from pcap and pcapng
// streams read back byte for byte from memory and from the file, their sha256, the bound (dropped
// segments counted and their disk space given back), what the reader may punch, a lost file, and
// unsent segments saved as files of their own.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { parseCapture, segmentOf, Segmenter, type Segment } from '../../lib/pcap/index.js';
import { pcapngZoo, pcapPair } from '../../lib/pcap/test/zoo.js';
import { HolePuncher } from '../hole-punch.js';
import { Spool, SpoolReadError } from '../spool.js';

let dir: string;
let punchers: HolePuncher[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
});
afterEach(async () => {
  // each puncher's helper process ends here
  await Promise.all(punchers.map((p) => p.close()));
  punchers = [];
  await rm(dir, { recursive: true, force: true });
});

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return Buffer.concat(out);
}

/** The stream written to a file, as the tool writes its stdout, and cut into segments. */
async function outputFile(stream: Buffer, maxBytes: number, punchStep = 1 << 30): Promise<{ file: HolePuncher; segments: Segment[] }> {
  const file = join(dir, 'tool-output');
  await writeFile(file, stream);
  const seg = new Segmenter({ maxBytes });
  const segments: Segment[] = [];
  // chunks of their own memory (small Buffer.from/concat results share pooled slabs), as the
  // reader's are
  for (let off = 0; off < stream.length; off += 100) {
    const chunk = Buffer.alloc(Math.min(100, stream.length - off));
    stream.copy(chunk, 0, off);
    segments.push(...seg.push(chunk));
  }
  const end = seg.end();
  if (end.segment) segments.push(end.segment);
  const puncher = new HolePuncher(file, punchStep);
  punchers.push(puncher);
  return { file: puncher, segments };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Spool', () => {
  test.each([
    ['pcap', pcapPair(false, 60).le, 3000],
    ['pcapng, two sections', pcapngZoo().data, 300],
  ])('%s: every segment reads back whole, from memory and from the file, with its sha256', async (_name, stream, maxBytes) => {
    const { file, segments } = await outputFile(stream, maxBytes);
    expect(segments.length).toBeGreaterThan(4);
    // memory for about half of them: the rest is read back from the file
    const probe = new Spool(file, 1 << 30, 1 << 30);
    for (const s of segments) probe.add(s);
    const spool = new Spool(file, 1 << 30, Math.floor(probe.memoryBytes / 2));
    const entries = segments.map((s) => spool.add(s)!);
    const inMemory = entries.filter((e) => e.parts !== undefined).length;
    expect(inMemory).toBeGreaterThanOrEqual(1);
    expect(inMemory).toBeLessThan(segments.length - 1);
    for (let i = 0; i < segments.length; i++) {
      const back = await collect(spool.readChunks(entries[i]!, 1000));
      expect(back.equals(segments[i]!.data)).toBe(true);
      expect(entries[i]!.sha256).toBe(sha256(segments[i]!.data));
      expect(entries[i]!.sequence).toBe(i);
      expect(parseCapture(back).errors).toEqual([]);
    }
  });

  test('neededFrom: the oldest unconfirmed range; memory is given back on removal', async () => {
    const { file, segments } = await outputFile(pcapPair(true, 40).le, 4000);
    const spool = new Spool(file, 1 << 30, 1 << 30);
    expect(spool.neededFrom()).toBe(Infinity);
    const [a, b, c] = segments.slice(0, 3).map((s) => spool.add(s)!);
    expect(spool.neededFrom()).toBe(0);
    spool.remove(a!);
    expect(spool.neededFrom()).toBe(b!.start);
    spool.remove(c!);
    expect(spool.neededFrom()).toBe(b!.start);
    spool.remove(b!);
    expect(spool.neededFrom()).toBe(Infinity);
    expect(spool.usedBytes).toBe(0);
    expect(spool.memoryBytes).toBe(0);
  });

  test('a segment that does not fit is dropped and counted, and its disk space given back', async () => {
    // 4 MiB of records in 1 MiB segments, room for one
    const stream = pcapPair(false, 6000).le;
    const probe = await outputFile(stream, 1 << 20);
    const droppedRange = probe.segments.slice(1).reduce((n, s) => n + s.source!.end - s.source!.start, 0);
    // the punch step is exactly what gets dropped: one punch, when the last segment is dropped
    const { file, segments } = await outputFile(stream, 1 << 20, droppedRange);
    expect(segments.length).toBeGreaterThanOrEqual(4);
    const blocksBefore = (await stat(file.path)).blocks;
    const spool = new Spool(file, (1 << 20) + 100, 1 << 30);
    const kept = spool.add(segments[0]!)!;
    for (const s of segments.slice(1)) expect(spool.add(s)).toBeUndefined();
    expect(spool.droppedSegments).toBe(segments.length - 1);
    expect(spool.droppedBytes).toBe(segments.slice(1).reduce((n, s) => n + s.bytes, 0));
    // the dropped ranges (all but the kept first segment) are punched out; the file keeps its size
    const freedAtLeast = (droppedRange - 2 * 4096) / 512;
    await file.close();
    expect(file.requested).toBe(1);
    expect((await stat(file.path)).blocks).toBeLessThanOrEqual(blocksBefore - freedAtLeast);
    expect((await stat(file.path)).size).toBe(segments[segments.length - 1]!.source!.end);
    expect((await collect(spool.readChunks({ ...kept, parts: undefined }, 65536))).equals(segments[0]!.data)).toBe(true);
  });

  test('a small kept segment between dropped ones is not punched with them', async () => {
    const { file } = await outputFile(randomBytes(3 * 8192), 1000, 8192);
    const data = await readFile(file.path);
    const seg = (from: number, to: number) =>
      segmentOf([data.subarray(from, to)], { format: 'text', records: 1, source: { head: Buffer.alloc(0), start: from, end: to } });
    const spool = new Spool(file, 8192 + 10, 0);
    expect(spool.add(seg(0, 8192))).toBeDefined(); // fills the spool
    expect(spool.add(seg(8192, 12_288))).toBeUndefined(); // dropped
    spool.remove(spool.entries[0]!);
    const kept = spool.add(seg(12_288, 12_298))!; // 10 bytes, kept
    expect(spool.add(seg(12_298, 24_576))).toBeUndefined(); // dropped: a step's worth, punched now
    await file.close();
    expect(file.requested).toBe(2);
    expect((await collect(spool.readChunks(kept, 4096))).equals(data.subarray(12_288, 12_298))).toBe(true);
  });

  test('memory is counted by the buffers the parts are views of, each once', async () => {
    const { file } = await outputFile(Buffer.alloc(0), 1000);
    const big = Buffer.alloc(1 << 20);
    const seg = (from: number, to: number) => segmentOf([big.subarray(from, to)], { format: 'text', records: 1, source: { head: Buffer.alloc(0), start: from, end: to } });
    // a 100-byte segment that keeps a 1 MiB buffer alive does not fit a 512 KiB budget
    expect(new Spool(file, 1 << 30, 512 * 1024).add(seg(0, 100))!.parts).toBeUndefined();
    const spool = new Spool(file, 1 << 30, 2 << 20);
    const a = spool.add(seg(0, 100))!;
    const b = spool.add(seg(100, 200))!;
    expect(a.parts).toBeDefined();
    expect(b.parts).toBeDefined();
    expect(spool.memoryBytes).toBe(1 << 20);
    spool.remove(a);
    expect(spool.memoryBytes).toBe(1 << 20);
    spool.remove(b);
    expect(spool.memoryBytes).toBe(0);
  });

  test('bytes read back that differ from what was spooled: a SpoolReadError after the last chunk', async () => {
    const { file, segments } = await outputFile(pcapPair(false, 30).le, 2000);
    const spool = new Spool(file, 1 << 20, 0);
    const entry = spool.add(segments[1]!)!;
    const fh = await open(file.path, 'r+');
    await fh.write(Buffer.alloc(16), 0, 16, entry.start + 30);
    await fh.close();
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const c of spool.readChunks(entry, 256)) chunks.push(c);
    })();
    await expect(reading).rejects.toThrow(/differs from what was spooled/);
    // every chunk had been handed out before the error: an upload fed from here is cancelled
    // before its end, so the collector stores nothing
    expect(Buffer.concat(chunks).length).toBe(entry.bytes);
  });

  test('an output file lost before a segment is read back is a SpoolReadError', async () => {
    const { file, segments } = await outputFile(pcapPair(false, 30).le, 2000);
    const spool = new Spool(file, 1 << 20, 0);
    const entry = spool.add(segments[1]!)!;
    expect(entry.parts).toBeUndefined();
    await unlink(file.path);
    await expect(collect(spool.readChunks(entry, 1024))).rejects.toBeInstanceOf(SpoolReadError);
  });

  test('unsent segments are saved as files of their own, each a valid capture, with a sidecar', async () => {
    const { file, segments } = await outputFile(pcapPair(false, 60).le, 9000);
    const spool = new Spool(file, 1 << 20, 0);
    for (const s of segments) spool.add(s);
    spool.remove(spool.entries[0]!);
    const out = join(dir, 'unsent');
    // nowhere to write: every entry counted as not saved, nothing thrown
    expect(await spool.saveUnsent(join(dir, 'missing'), () => ({}))).toMatchObject({ saved: 0, failed: segments.length - 1, firstError: expect.stringMatching(/ENOENT/) });
    expect(file.requested).toBe(0);
    await mkdir(out);
    expect(await spool.saveUnsent(out, (e) => ({ header: { captureId: 'c1', sequence: e.sequence } }))).toEqual({ saved: segments.length - 1, failed: 0 });
    // each saved range that holds a whole 4 KiB block is given back at once
    const punchable = segments.slice(1).filter((s) => Math.floor(s.source!.end / 4096) > Math.ceil(s.source!.start / 4096));
    expect(punchable.length).toBeGreaterThan(1);
    expect(file.requested).toBe(punchable.length);
    const files = (await readdir(out)).sort();
    expect(files.filter((f) => f.endsWith('.seg'))).toHaveLength(segments.length - 1);
    expect(files[0]).toBe('000001.json');
    for (let i = 1; i < segments.length; i++) {
      const name = join(out, String(i).padStart(6, '0'));
      expect((await readFile(`${name}.seg`)).equals(segments[i]!.data)).toBe(true);
      expect(JSON.parse(await readFile(`${name}.json`, 'utf8'))).toMatchObject({
        header: { captureId: 'c1', sequence: i },
        sequence: i,
        format: 'pcap',
        bytes: segments[i]!.bytes,
        sha256: sha256(segments[i]!.data),
        records: segments[i]!.records,
      });
    }
  });
});
