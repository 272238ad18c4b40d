// A target that goes away mid-capture the way a deleted pod does: its process ends, then its
// veth is deleted, and tcpdump fails at once ("The interface disappeared", exit 1). With the
// periodic target check made too slow to ever fire (--target-poll 24d), only podtracer's check
// at the tool's end can tell: the capture must end as target-gone, exit 0, with everything
// captured before stored whole. The veth deleted under a living target stays a tool failure.
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseCapture } from '../../lib/pcap/index.js';
import { TargetNetns, countPackets, startPodtracer, waitFor, waitForLog } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** ICMP echo request from B to A with ping's default 56 data bytes: 16 record + 98 frame bytes. */
const ECHO_RECORD_BYTES = 16 + 98;
const PCAP_HEADER_BYTES = 24;

async function setUp(tag: string) {
  const net = new TargetNetns(tag);
  cleanups.push(() => net.destroy());
  await net.create();
  const work = await mkdtemp(join(tmpdir(), `podtracer-${tag}-`));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const tmp = join(work, 'tmp');
  await mkdir(tmp);
  const out = join(work, 'out');
  const term = join(work, 'summary.json');
  const p = startPodtracer(
    [
      'run', '--pod', 'web-0', '-n', 'shop', '--pid', String(net.targetPid), '--output-dir', out, '--timer', '60s', '--target-poll', '24d',
      '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '--immediate-mode', '-w', '-', 'icmp[icmptype] == icmp-echo',
    ],
    { terminationLog: term, env: { TMPDIR: tmp } },
  );
  cleanups.push(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.result;
  });
  await waitForLog(p, 'listening on');
  /** Waits until the tool's output file (in podtracer's private temporary directory) holds n echo requests. */
  const captured = (n: number) =>
    waitFor(async () => {
      const dirs = await readdir(tmp);
      if (dirs.length !== 1) return false;
      const size = (await stat(join(tmp, dirs[0]!, 'tool-output')).catch(() => undefined))?.size ?? 0;
      return size >= PCAP_HEADER_BYTES + n * ECHO_RECORD_BYTES;
    }, `${n} echo requests in the tool's output`);
  return { net, out, p, captured };
}

describe('the target going away under a running capture', () => {
  test('target process ended, then its veth deleted (a pod deletion): target-gone, exit 0, the packets before it stored whole', async () => {
    const { net, out, p, captured } = await setUp('tgone');
    await net.ping(10);
    await captured(10);
    await net.killTargetAndWait();
    await net.removeVeth();
    const r = await p.result;
    const s = r.summary!;
    expect(r.stderr).toContain('The interface disappeared');
    expect(s.toolExitCode).toBe(1); // tcpdump failed on its own ...
    expect(s.stopReason).toBe('target-gone'); // ... because its target went away
    expect(r.code).toBe(0);
    expect(s.exitCode).toBe(0);
    expect(s.error).toBeUndefined();
    expect(r.stderr).toContain('the tool failed as its target went away');
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['000000.pcap']);
    const file = join(out, files[0]!);
    expect(await countPackets(file, 'icmp[icmptype] == icmp-echo')).toBe(10);
    // whole: every record complete, nothing after the last one
    const parsed = parseCapture(await readFile(file));
    expect(parsed.format).toBe('pcap');
    expect(parsed.truncated).toBe(false);
    expect(parsed.errors).toEqual([]);
    expect(parsed.packets).toBe(10);
    expect(s.bytes).toBe((await stat(file)).size);
  });

  test('the veth deleted while the target process lives: a tool failure (exit 1), not target-gone', async () => {
    const { net, out, p, captured } = await setUp('tveth');
    await net.ping(3);
    await captured(3);
    await net.removeVeth();
    const r = await p.result;
    expect(r.stderr).toContain('The interface disappeared');
    expect(r.summary!.toolExitCode).toBe(1);
    expect(r.summary!.stopReason).toBe('tool-exit');
    expect(r.code).toBe(1);
    expect(await countPackets(join(out, '000000.pcap'), 'icmp[icmptype] == icmp-echo')).toBe(3);
  });
});
