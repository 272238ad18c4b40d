// podtracer end to end without a collector (--output-dir): real tcpdump in a real namespace,
// the timer, the byte limit, SIGKILL after the grace, the target disappearing, the seed syntax
// and the policy refusing before anything runs.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCapture } from '../../lib/pcap/index.js';
import { TargetNetns, countPackets, runPodtracer, startPodtracer, waitForLog, echoRequestSeqs, sleep, suffix } from './helpers.js';

let net: TargetNetns;
let work: string;

beforeAll(async () => {
  net = new TargetNetns('loc');
  await net.create();
  work = await mkdtemp(join(tmpdir(), 'podtracer-local-'));
});

let afterStubborn: (() => Promise<void>) | undefined;

afterAll(async () => {
  await afterStubborn?.();
  await net?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

function base(out: string, extra: string[] = []): string[] {
  return ['run', '--pod', 'web-0', '--namespace', 'shop', '--pid', String(net.targetPid), '--output-dir', out, ...extra];
}

describe('podtracer --output-dir', () => {
  test('tcpdump -U -w - in the target namespace holds exactly the 40 echo requests', async () => {
    const out = join(work, 'ping40');
    const term = join(work, 'ping40.json');
    const tmp = join(work, 'ping40-tmp');
    await mkdir(tmp);
    const p = startPodtracer(base(out, ['--timer', '60s', '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-']), {
      terminationLog: term,
      env: { TMPDIR: tmp },
    });
    await waitForLog(p, 'listening on');
    await net.ping(40);
    // tcpdump reads the kernel's packet ring in blocks handed over at the latest after its 1 s
    // buffer timeout, and on SIGINT it exits without draining a partly filled block: let the
    // last block arrive first, as any capture stopped right after the traffic would have to.
    await sleep(2500);
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['000000.pcap']);
    const file = join(out, files[0]!);
    expect(await countPackets(file, 'icmp[icmptype] == icmp-echo')).toBe(40);
    expect(await echoRequestSeqs(file)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const s = r.summary!;
    expect(s.stopReason).toBe('signal');
    expect(s.toolExitCode).toBe(0);
    expect(s.segments).toBe(1);
    expect(s.bytes).toBe((await stat(file)).size);
    expect(s.objects).toEqual([file]);
    // tcpdump's own closing statistics, parsed from its stderr
    expect(typeof s.packetsDroppedByKernel).toBe('number');
    expect(s.packetsDroppedByKernel).toBe(0);
    expect(s.packetsCaptured).toBeGreaterThanOrEqual(80);
    expect(s.records).toBe(s.packetsCaptured);
    expect(r.stderr.trim().split('\n').pop()).toContain('"msg":"summary"');
    // the file that took the tool's stdout is gone with its temporary directory
    expect(await readdir(tmp)).toEqual([]);
  });

  test('the seed syntax (TOOL -a "ARGS" -t) runs the same capture and stops on the timer', async () => {
    const out = join(work, 'seed');
    const term = join(work, 'seed.json');
    const p = startPodtracer(
      ['run', 'tcpdump', '-a', `-i ${net.vethA} -U -n -w - 'icmp'`, '-t', '4s', '--pod', 'web-0', '-n', 'shop', '--pid', String(net.targetPid), '--output-dir', out],
      { terminationLog: term },
    );
    await waitForLog(p, 'listening on');
    await net.ping(5);
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.summary!.stopReason).toBe('timer');
    expect(r.summary!.args).toEqual(['-i', net.vethA, '-U', '-n', '-w', '-', 'icmp']);
    expect(await countPackets(join(out, '000000.pcap'), 'icmp[icmptype] == icmp-echo')).toBe(5);
  });

  test('--max-bytes stops the tool and keeps at most that many bytes, as whole packets', async () => {
    const out = join(work, 'maxbytes');
    const term = join(work, 'maxbytes.json');
    const p = startPodtracer(base(out, ['--max-bytes', '2000', '--timer', '60s', '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-', 'icmp']), {
      terminationLog: term,
    });
    await waitForLog(p, 'listening on');
    const pinging = net.ping(100, '0.02').catch(() => undefined);
    const r = await p.result;
    await pinging;
    expect(r.code).toBe(0);
    const s = r.summary!;
    expect(s.stopReason).toBe('max-bytes');
    expect(s.bytesRead).toBe(2000);
    const data = await readFile(join(out, '000000.pcap'));
    expect(data.length).toBeLessThanOrEqual(2000);
    const parsed = parseCapture(data);
    expect(parsed.errors).toEqual([]);
    expect(parsed.truncated).toBe(false);
    // 24-byte header + 16-byte record headers + 98-byte ICMP frames: 16 whole packets fit in 2000
    expect(parsed.packets).toBe(Math.floor((2000 - 24) / (16 + 98)));
    expect(s.truncatedBytes).toBe(2000 - data.length);
  });

  test('a tool that ignores SIGINT is killed after --kill-grace; text output is kept', async () => {
    // an allowlisted (by configuration) tool that ignores SIGINT and keeps printing
    // not under /tmp: the tool's sandbox has a /tmp of its own; readable by all, since bash sets
    // its effective uid to the sandbox's real uid before it reads the script
    const bin = await mkdtemp(join('/var/tmp', 'podtracer-bin-'));
    await chmod(bin, 0o755);
    afterStubborn = () => rm(bin, { recursive: true, force: true });
    await writeFile(join(bin, 'stubborn'), '#!/bin/bash\ntrap "" INT\nfor i in $(seq 1 400); do echo "tick $i"; sleep 0.05; done\n');
    await chmod(join(bin, 'stubborn'), 0o755);
    const out = join(work, 'stubborn-out');
    const term = join(work, 'stubborn.json');
    const r = await runPodtracer(base(out, ['--timer', '1s', '--kill-grace', '1s', '--', 'stubborn']), {
      terminationLog: term,
      env: { PATH: `${bin}:${process.env.PATH}`, SNOOPY_ALLOWED_TOOLS: 'stubborn' },
    });
    const s = r.summary!;
    expect(s.stopReason).toBe('timer');
    expect(s.killed).toBe(true);
    expect(s.toolSignal).toBe('SIGKILL');
    expect(s.toolExitCode).toBeNull();
    expect(r.code).toBe(0);
    const text = await readFile(join(out, '000000.txt'), 'utf8');
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('tick 1');
    // it went on printing through the grace period (after SIGINT) until SIGKILL
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.length).toBeLessThan(400);
    lines.forEach((l, i) => expect(l).toBe(`tick ${i + 1}`));
  });

  test('the target process disappearing ends the capture gracefully', async () => {
    const t = new TargetNetns('gone');
    await t.create();
    try {
      const out = join(work, 'gone');
      const term = join(work, 'gone.json');
      const p = startPodtracer(
        ['run', '--pod', 'p', '-n', 'ns', '--pid', String(t.targetPid), '--output-dir', out, '--timer', '60s', '--', 'tcpdump', '-i', t.vethA, '-U', '-w', '-'],
        { terminationLog: term },
      );
      await waitForLog(p, 'listening on');
      t.killTarget();
      const r = await p.result;
      expect(r.summary!.stopReason).toBe('target-gone');
      expect(r.code).toBe(0);
      expect((await readdir(out)).length).toBe(1);
    } finally {
      await t.destroy();
    }
  });

  test('a tool without any output still leaves one (empty) final segment', async () => {
    const out = join(work, 'silent');
    const term = join(work, 'silent.json');
    const r = await runPodtracer(base(out, ['--', 'ip', 'addr', 'show', 'dev', 'lo', 'to', '192.0.2.1']), { terminationLog: term });
    expect(r.code).toBe(0);
    expect(await readdir(out)).toEqual(['000000.txt']);
    expect((await stat(join(out, '000000.txt'))).size).toBe(0);
    expect(r.summary!.toolExitCode).toBe(0);
  });

  test('a tool failing on its own gives exit code 1 and its exit code in the summary', async () => {
    const out = join(work, 'fail');
    const term = join(work, 'fail.json');
    const r = await runPodtracer(base(out, ['--', 'ping', '-c', '1', '-W', '1', '10.77.0.99']), { terminationLog: term });
    expect(r.code).toBe(1);
    expect(r.summary!.toolExitCode).toBe(1);
    expect(r.summary!.stopReason).toBe('tool-exit');
    const text = await readFile(join(out, '000000.txt'), 'utf8');
    expect(text).toContain('1 packets transmitted, 0 received');
  });
});

describe('run by hand on a host', () => {
  // Only inside a pod is /dev/termination-log the default; a host keeps no file from a manual run.
  // Checked by this run's own capture id, so another podtracer on the host cannot disturb it.
  test('no termination log is written unless one is asked for', async () => {
    const captureId = `by-hand-${suffix()}`;
    const out = join(work, captureId);
    const r = await runPodtracer(base(out, ['--capture-id', captureId, '--', 'ip', 'addr', 'show', 'dev', 'lo']));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(captureId);
    expect(await readdir(out)).toEqual(['000000.txt']);
    let hostLog = '';
    try {
      hostLog = await readFile('/dev/termination-log', 'utf8');
    } catch {
      // none: as it should be on a host
    }
    expect(hostLog).not.toContain(captureId);
  });
});

describe('refused before anything runs', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a tool not on the allowlist', ['--', 'bash', '-c', 'touch MARKER'], /never allowed/],
    ['a path as the tool', ['--', '/usr/bin/touch', 'MARKER'], /is a path/],
    ['tcpdump -z', ['--', 'tcpdump', '-i', 'lo', '-w', '-', '-z', 'touch MARKER'], /"-z touch \S+marker-\w+" runs a command/],
    ['tcpdump -w to a file', ['--', 'tcpdump', '-i', 'lo', '-w', 'MARKER'], /writes a file/],
    ['$(...) in seed args', ['-a', '-i lo $(touch MARKER)', 'tcpdump'], /"\$\(" at position 7/],
    ['; in seed args', ['-a', '-i lo ; touch MARKER', 'tcpdump'], /";" at position 7/],
    ['backticks in seed args', ['-a', '-i lo `touch MARKER`', 'tcpdump'], /"`" at position 7/],
  ];
  test.each(cases)('%s', async (_name, rest, message) => {
    const marker = join(work, `marker-${suffix()}`);
    const out = join(work, `refused-${suffix()}`);
    const spool = join(work, `spool-${suffix()}`);
    const term = join(work, `refused-${suffix()}.json`);
    const args = ['run', '--pod', 'p', '-n', 'ns', '--pid', String(net.targetPid), '--output-dir', out, ...rest.map((a) => a.replace('MARKER', marker))];
    const r = await runPodtracer(args, { terminationLog: term, env: { TMPDIR: spool } });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^podtracer: refused by the tool policy: /);
    expect(lines[0]).toMatch(message);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(JSON.parse(await readFile(term, 'utf8'))).toMatchObject({ exitCode: 2 });
  });

  test('bad usage is one line and exit code 2', async () => {
    const r = await runPodtracer(['run', '--pod', 'p', '--', 'tcpdump']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('podtracer: --namespace (-n) is required\n');
    const h = await runPodtracer(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('podtracer run TOOL -a "ARGS"');
  });
});
