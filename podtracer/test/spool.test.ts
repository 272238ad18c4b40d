// The spool on a real directory: durable files in sequence order, sha256 of the parts as given,
// bytes read back in chunks, the bound, and a lost file reported as such.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { Spool, SpoolReadError } from '../spool.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

describe('Spool', () => {
  test('parts are written in order as one file with their sha256; read back in chunks of the asked size', async () => {
    const spool = new Spool(dir, 64 * 1024 * 1024);
    const parts = [randomBytes(1000), randomBytes(300_000), randomBytes(1), randomBytes(70_000)];
    const whole = Buffer.concat(parts);
    const entry = spool.add(parts, 'pcap', 12)!;
    await entry.written;
    expect(entry.bytes).toBe(whole.length);
    expect(entry.sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    expect((await readFile(entry.dataPath)).equals(whole)).toBe(true);
    const chunks = await collect(spool.readChunks(entry, 64 * 1024));
    expect(Buffer.concat(chunks).equals(whole)).toBe(true);
    expect(chunks.slice(0, -1).every((c) => c.length === 64 * 1024)).toBe(true);
    expect(JSON.parse(await readFile(entry.metaPath, 'utf8'))).toMatchObject({ sequence: 0, format: 'pcap', bytes: whole.length, records: 12 });
  });

  test('a segment that does not fit is dropped and counted; nothing is written for it', async () => {
    const spool = new Spool(dir, 1000);
    const kept = spool.add([randomBytes(600)], 'text', 1)!;
    expect(spool.add([randomBytes(300), randomBytes(200)], 'text', 1)).toBeUndefined();
    await spool.flushed();
    expect(spool.droppedSegments).toBe(1);
    expect(spool.droppedBytes).toBe(500);
    expect((await readdir(dir)).sort()).toEqual(['000000.json', '000000.seg']);
    await spool.remove(kept);
    expect(spool.usedBytes).toBe(0);
  });

  test('a spool file lost before it is read back is a SpoolReadError', async () => {
    const spool = new Spool(dir, 1 << 20);
    const entry = spool.add([randomBytes(5000)], 'pcap', 1)!;
    await entry.written;
    await unlink(entry.dataPath);
    await expect(collect(spool.readChunks(entry, 1024))).rejects.toBeInstanceOf(SpoolReadError);
  });
});
