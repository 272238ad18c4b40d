// The demo's own parts: its CloudEvents receiver gets what the project's event sender sends (real
// HTTP on loopback), and its verdict demands ICMP from every target's own IP.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from '@jest/globals';
import { EventSink } from '../../lib/event-sink.js';
import { EventType } from '../../lib/events.js';
import { createLogger } from '../../lib/log.js';
import { tcpdumpCount } from '../demo/captures.js';
import { formatReport, verdict, type DemoObservation } from '../demo/report.js';
import { startEventReceiver } from '../demo/sink.js';

const run = promisify(execFile);

describe('event receiver', () => {
  test('receives binary-mode CloudEvents from lib/event-sink and refuses other posts', async () => {
    const receiver = await startEventReceiver('127.0.0.1');
    try {
      const sink = new EventSink({ sink: receiver.url, logger: createLogger('test', 'silent'), maxAttempts: 1 });
      sink.emit({ type: EventType.CaptureCompleted, source: '/test', subject: 'cnf-telco/pod-a', data: { keys: ['a/b/000000.pcap'] }, extensions: { targetpod: 'pod-a' } });
      sink.emit({ type: EventType.JobStarted, source: '/test', data: { targets: 2 } });
      await sink.close();
      expect(sink.stats.sent).toBe(2);
      expect(receiver.events.map((e) => e.type).sort()).toEqual([EventType.CaptureCompleted, EventType.JobStarted].sort());
      const completed = receiver.events.find((e) => e.type === EventType.CaptureCompleted)!;
      expect(completed.subject).toBe('cnf-telco/pod-a');
      expect(completed.data).toEqual({ keys: ['a/b/000000.pcap'] });

      const res = await fetch(receiver.url, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(400);
      expect(receiver.rejected).toBe(1);
      expect(receiver.events).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });
});

describe('packet counts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snoopy-demo-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('tcpdumpCount counts what tcpdump -r reads, with and without a filter', async () => {
    // A real capture: ping on the loopback of a fresh network namespace.
    const ns = `sdemo-${Math.random().toString(36).slice(2, 8)}`;
    const file = join(dir, 'lo.pcap');
    await run('ip', ['netns', 'add', ns]);
    try {
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const cap = execFile('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'lo', '-U', '-w', file, '-c', '6', 'icmp']);
      const done = new Promise((r) => cap.on('exit', r));
      // bounded: tcpdump stops after 6 packets (3 requests + 3 replies); ping retries until it is listening
      for (let i = 0; i < 20 && cap.exitCode === null; i++) {
        await run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '127.0.0.1']).catch(() => undefined);
      }
      cap.kill('SIGINT');
      await done;
    } finally {
      await run('ip', ['netns', 'del', ns]);
    }
    expect(await tcpdumpCount(file)).toBe(6);
    expect(await tcpdumpCount(file, ['icmp'])).toBe(6);
    expect(await tcpdumpCount(file, ['icmp[icmptype] == icmp-echo'])).toBe(3);
    expect(await tcpdumpCount(file, ['tcp'])).toBe(0);
  });
});

describe('verdict', () => {
  const base: DemoObservation = {
    snoopyJob: { namespace: 'snoopy-operator', name: 'snoopy-samplejob', phase: 'Completed' },
    targets: [
      { namespace: 'cnf-telco', name: 'pod-a', node: 'node-a', ip: '10.1.1.2' },
      { namespace: 'cnf-telco', name: 'pod-b', node: 'node-b', ip: '10.1.2.2' },
    ],
    jobs: [],
    captures: [
      { key: 'k/a/000000.pcap', bytes: 900, pod: 'pod-a', podNamespace: 'cnf-telco', packets: 10, icmp: 10, icmpFromTarget: 5 },
      { key: 'k/b/000000.pcap', bytes: 900, pod: 'pod-b', podNamespace: 'cnf-telco', packets: 10, icmp: 10, icmpFromTarget: 5 },
    ],
    events: [],
    seconds: 60,
  };

  test('passes when every target has ICMP from its own IP', () => {
    const v = verdict(base);
    expect(v).toEqual({ ok: true, reasons: [] });
    expect(formatReport(base, v)).toMatch(/OK: pcaps with ICMP packets from all 2 targets are in S3/);
  });

  test('fails for a target with no object, or with ICMP only from elsewhere', () => {
    const noObject = verdict({ ...base, captures: base.captures.slice(0, 1) });
    expect(noObject.reasons).toEqual(['no object stored for cnf-telco/pod-b']);
    const foreign = verdict({ ...base, captures: [base.captures[0]!, { ...base.captures[1]!, icmpFromTarget: 0 }] });
    expect(foreign.ok).toBe(false);
    expect(foreign.reasons).toEqual(['no ICMP packet from 10.1.2.2 in the objects of cnf-telco/pod-b']);
    expect(verdict({ ...base, targets: [] }).reasons).toEqual(['no target pods']);
    expect(formatReport({ ...base, targets: [] }, verdict({ ...base, targets: [] }))).toMatch(/^FAILED: no target pods$/m);
  });
});
