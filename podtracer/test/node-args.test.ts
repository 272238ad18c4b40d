// `podtracer node`'s command line and what each target's `podtracer run` is given: the node's
// options as written but its own (assignment, termination log, spool, output, timer, capture id),
// the target, and the tool. Pure.
import { describe, expect, test } from '@jest/globals';
import { fromArgs } from '../../lib/contracts/podtracer-invocation.js';
import { UsageError, parseCommandLine } from '../cli.js';
import { childArgs, childEnv } from '../node/child.js';
import { notStarted, reportOf, targetOutcome } from '../node/report.js';

const target = { namespace: 'shop', pod: 'web-0', uid: 'u-0', container: 'app', tokenKey: 'token-web-0' };

describe('podtracer node command line', () => {
  test('the run options but the target; --assignment-dir defaults to the mount path', () => {
    const parsed = parseCommandLine(['node', '--timer', '2m', '--collector', 'c:51001', '--target-poll', '2s', '--', 'tcpdump', '-i', 'eth0'], {});
    expect(parsed.kind).toBe('node');
    if (parsed.kind !== 'node') return;
    expect(parsed.options).toMatchObject({ assignmentDir: '/etc/snoopy/assignment', timerMs: 120_000, targetPollMs: 2000, collector: 'c:51001', command: 'tcpdump', args: ['-i', 'eth0'] });
    expect(() => parseCommandLine(['node', '--pod', 'x', '--collector', 'c:1', '--', 'ip'], {})).toThrow(new UsageError('option --pod is not an option of podtracer node (the assignment names the targets)'));
    // checked by the same code as run's
    expect(() => parseCommandLine(['node', '--collector', 'c:1', '--timer', 'soon', '--', 'ip'], {})).toThrow(/--timer/);
    expect(() => parseCommandLine(['node', '--', 'ip'], {})).toThrow(/nowhere to send the output/);
  });

  test("a target's podtracer run: the node's words, its own files, what is left of the timer", () => {
    const parsed = parseCommandLine(
      ['node', '--assignment-dir', '/a', '--timer', '2m', '-d', 'svc', '-p', '51001', '--termination-log', '/dev/termination-log', '--spool-dir', '/s', '--evidence', 'on', '--', 'tcpdump', '-i', 'eth0'],
      {},
    );
    if (parsed.kind !== 'node') throw new Error('not node');
    const argv = childArgs(parsed.options.invocation, target, { captureId: 'cid-1', terminationLog: '/s/u-0.summary.json', spoolDir: '/s/u-0', timerMs: 61_234.5 });
    expect(argv[0]).toBe('run');
    expect(fromArgs(argv.slice(1))).toEqual({
      options: {
        pod: 'web-0', namespace: 'shop', container: 'app', timer: '61235ms', dataHost: 'svc', dataPort: '51001', captureId: 'cid-1',
        spoolDir: '/s/u-0', terminationLog: '/s/u-0.summary.json', evidence: 'on',
      },
      tool: ['tcpdump', '-i', 'eth0'],
    });
    const run = parseCommandLine(argv, {});
    expect(run).toMatchObject({ kind: 'run', options: { timerMs: 61_235, collector: 'svc:51001' } });
  });

  test("a child's environment: its own token and UID, the node's name, no termination log of the node's", () => {
    const env = childEnv({ PATH: '/bin', SNOOPY_CAPTURE_TOKEN: 'node-level', PODTRACER_TERMINATION_LOG: '/x', SNOOPY_JOB: 'j' }, target, 'tok-0', 'node-a');
    expect(env).toEqual({ PATH: '/bin', SNOOPY_CAPTURE_TOKEN: 'tok-0', SNOOPY_JOB: 'j', POD_UID: 'u-0', NODE_NAME: 'node-a' });
    expect(childEnv({ NODE_NAME: 'real-node' }, target, 't', 'node-a').NODE_NAME).toBe('real-node');
  });
});

describe('a target outcome from how its child ended', () => {
  const times = { startTime: '2026-12-08T01:00:00.000Z', completionTime: '2026-12-08T01:01:00.000Z' };

  test('exit 0 with a summary: Succeeded with its figures and objects', () => {
    const summary = { exitCode: 0, container: 'app', bytes: 10, segments: 2, packetsDroppedByKernel: 0, toolExitCode: 0, stopReason: 'timer', objects: ['k/0', 'k/1'] };
    const t = targetOutcome(target, { code: 0, signal: null, summary, ...times });
    expect(t).toEqual({ namespace: 'shop', pod: 'web-0', uid: 'u-0', container: 'app', state: 'Succeeded', objects: ['k/0', 'k/1'], bytes: 10, segments: 2, packetsDroppedByKernel: 0, toolExitCode: 0, stopReason: 'timer', ...times });
    expect(reportOf(t)).toEqual({ namespace: 'shop', pod: 'web-0', state: 'Succeeded', bytes: 10, segments: 2, packetsDroppedByKernel: 0, toolExitCode: 0, stopReason: 'timer' });
  });

  test("failures say why: the tool's last line, podtracer's error, the signal that killed the child", () => {
    const toolFailed = targetOutcome(target, { code: 1, signal: null, summary: { exitCode: 1, toolExitCode: 1, stopReason: 'tool-exit', objects: [] }, lastToolLine: 'tcpdump: eth0: No such device exists', ...times });
    expect(toolFailed).toMatchObject({ state: 'Failed', toolExitCode: 1, message: 'tcpdump: eth0: No such device exists' });
    const lost = targetOutcome(target, { code: 4, signal: null, summary: { exitCode: 4, error: 'capture token refused', objects: [] }, ...times });
    expect(lost).toMatchObject({ state: 'Failed', message: 'capture token refused' });
    const notFound = targetOutcome(target, { code: 3, signal: null, failure: 'pod shop/web-0 not found', ...times });
    expect(notFound).toMatchObject({ state: 'Failed', objects: [], message: 'pod shop/web-0 not found' });
    const killed = targetOutcome(target, { code: null, signal: 'SIGKILL', lastError: 'upload failed', ...times });
    expect(killed).toMatchObject({ state: 'Failed', message: 'podtracer run was killed by SIGKILL (last error: upload failed)' });
    expect(notStarted(target, 'no capture token')).toEqual({ namespace: 'shop', pod: 'web-0', uid: 'u-0', container: 'app', state: 'Failed', objects: [], message: 'no capture token' });
  });
});
