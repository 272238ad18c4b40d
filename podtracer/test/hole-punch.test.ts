// Hole punching through the helper shell on a real file: whole blocks inside the range become
// zeros and give their space back, everything else stays as it was, the length never changes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { HolePuncher } from '../hole-punch.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hole-punch-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('several punches in one helper: whole blocks inside each range, the rest untouched', async () => {
  const file = join(dir, 'out');
  const data = randomBytes(4 << 20);
  await writeFile(file, data);
  const before = await stat(file);
  const p = new HolePuncher(file, 4096);
  p.punch(100, (1 << 20) + 100); // blocks 4096 … 1 MiB
  p.punch(2 << 20, 3 << 20);
  p.punch(10, 4000); // no whole block inside: nothing asked
  await p.close();
  expect(p.requested).toBe(2);
  const after = await stat(file);
  expect(after.size).toBe(data.length);
  expect(before.blocks * 512 - after.blocks * 512).toBeGreaterThanOrEqual((1 << 20) - 4096 + (1 << 20));
  const back = await readFile(file);
  const expected = Buffer.from(data);
  expected.fill(0, 4096, 1 << 20);
  expected.fill(0, 2 << 20, 3 << 20);
  expect(back.equals(expected)).toBe(true);
});

test('a failed punch is reported once, and is not an error; no punch at all starts nothing', async () => {
  const problems: string[] = [];
  const p = new HolePuncher(join(dir, 'missing'), 4096, (m) => problems.push(m));
  p.punch(0, 1 << 20);
  p.punch(1 << 20, 2 << 20);
  await p.close();
  expect(p.requested).toBe(2);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/missing|No such file|failed/);
  const idle = new HolePuncher(join(dir, 'idle'), 4096, (m) => problems.push(m));
  await idle.close();
  expect(idle.requested).toBe(0);
  expect(problems).toHaveLength(1);
});
