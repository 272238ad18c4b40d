import { describe, expect, test } from '@jest/globals';
import { POD_TERMINATION_LOG, PodtracerEnv, toArgs } from '../../lib/contracts/podtracer-invocation.js';
import { UPLOAD_DEADLINE_MS } from '../../lib/knative-serving.js';
import { DEFAULTS, UsageError, parseCommandLine, parseSize, type RunOptions } from '../cli.js';
import { EXIT, exitCodeFor, parseTcpdumpStats, terminationLogText, type Summary } from '../summary.js';

function runOptions(argv: string[], env: NodeJS.ProcessEnv = {}): RunOptions {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected run, got ${parsed.kind}`);
  return parsed.options;
}

describe('command line', () => {
  test('the default upload deadline is the one the collector\'s Knative timeouts are sized for', () => {
    expect(DEFAULTS.uploadDeadlineMs).toBe(UPLOAD_DEADLINE_MS);
  });

  test('the new syntax: options, then the tool and its argv after --', () => {
    const o = runOptions([
      'run', '--pod', 'web-0', '--namespace', 'shop', '--container', 'app', '--timer', '2m', '--max-bytes', '10Mi',
      '--collector', 'collector.snoopy:8080', '--capture-id', 'c1', '--segment-bytes', '1Mi', '--segment-seconds', '5',
      '--spool-dir', '/spool', '--spool-memory-bytes', '0', '--spool-punch-bytes', '64Mi', '--', 'tcpdump', '-i', 'eth0', '-w', '-', 'port 80',
    ]);
    expect(o).toMatchObject({
      pod: 'web-0', namespace: 'shop', container: 'app', timerMs: 120_000, maxBytes: 10 * 1024 * 1024,
      collector: 'collector.snoopy:8080', captureId: 'c1', segmentBytes: 1024 * 1024, segmentSeconds: 5, spoolDir: '/spool',
      spoolMemoryBytes: 0, spoolPunchBytes: 64 * 1024 * 1024,
      command: 'tcpdump', args: ['-i', 'eth0', '-w', '-', 'port 80'],
    });
  });

  test('the seed syntax: TOOL -a "ARGS" -t -d -p --pod -n', () => {
    const o = runOptions(['run', 'tcpdump', '-a', '-i eth0 -U -w -', '-t', '2m', '-d', 'snoopy-data-svc.snoopy-operator.svc', '-p', '51001', '--pod', 'web-0', '-n', 'cnf-telco']);
    expect(o).toMatchObject({
      command: 'tcpdump', args: '-i eth0 -U -w -', timerMs: 120_000, collector: 'snoopy-data-svc.snoopy-operator.svc:51001',
      pod: 'web-0', namespace: 'cnf-telco', segmentBytes: DEFAULTS.segmentBytes, segmentSeconds: 60, killGraceMs: 10_000,
      spoolMaxBytes: 1024 * 1024 * 1024, spoolMemoryBytes: 64 * 1024 * 1024, spoolPunchBytes: 1024 * 1024 * 1024,
    });
  });

  test('environment defaults: capture id, termination log, job identity', () => {
    const o = runOptions(['run', '--pod', 'p', '-n', 'ns', '--output-dir', '/o', '--', 'ss', '-tan'], {
      SNOOPY_CAPTURE_ID: 'from-env', PODTRACER_TERMINATION_LOG: '/t', SNOOPY_JOB: 'j', SNOOPY_JOB_NAMESPACE: 'jn',
    });
    expect(o).toMatchObject({ captureId: 'from-env', terminationLog: '/t', job: 'j', jobNamespace: 'jn', args: ['-tan'] });
    expect(runOptions(['run', '--pod', 'p', '-n', 'ns', '--output-dir', '/o', '--capture-id', 'flag', '--', 'ss'], { SNOOPY_CAPTURE_ID: 'env' }).captureId).toBe('flag');
  });

  test('termination log: the pod\'s only inside a pod, else none unless given', () => {
    const argv = ['run', '--pod', 'p', '-n', 'ns', '--output-dir', '/o', '--', 'ss'];
    expect(runOptions(argv, {}).terminationLog).toBeUndefined();
    expect(runOptions(argv, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).terminationLog).toBe('/dev/termination-log');
    expect(runOptions(argv, { KUBERNETES_SERVICE_HOST: '10.96.0.1', PODTRACER_TERMINATION_LOG: '/t' }).terminationLog).toBe('/t');
    expect(runOptions(['run', '--termination-log', '/f', ...argv.slice(1)], {}).terminationLog).toBe('/f');
  });

  test('an invocation rendered through the shared contract reads back as the options it names', () => {
    const argv = toArgs({
      options: {
        pod: 'web-0', namespace: 'shop', container: 'app', timer: '2m', maxBytes: '1000', collector: 'c.snoopy.svc:51001',
        killGrace: '10s', uploadGrace: '40s', terminationLog: POD_TERMINATION_LOG,
      },
      tool: ['tcpdump', '-i', 'eth0', '-w', '-'],
    });
    const o = runOptions(argv, { [PodtracerEnv.job]: 'j', [PodtracerEnv.jobNamespace]: 'jn', [PodtracerEnv.captureId]: 'c1' });
    expect(o).toMatchObject({
      pod: 'web-0', namespace: 'shop', container: 'app', timerMs: 120_000, maxBytes: 1000, collector: 'c.snoopy.svc:51001',
      killGraceMs: 10_000, uploadGraceMs: 40_000, terminationLog: '/dev/termination-log', job: 'j', jobNamespace: 'jn',
      captureId: 'c1', command: 'tcpdump', args: ['-i', 'eth0', '-w', '-'],
    });
  });

  test('the longest durations still accepted: 24d', () => {
    expect(runOptions(['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--timer', '24d', '--', 'ss']).timerMs).toBe(24 * 86_400_000);
    expect(runOptions(['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--target-poll', '24d', '--', 'ss']).targetPollMs).toBe(24 * 86_400_000);
    expect(runOptions(['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--', 'ss']).targetPollMs).toBe(1000);
    expect(runOptions(['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--segment-seconds', '7d', '--', 'ss']).segmentSeconds).toBe(7 * 86_400);
  });

  test('help and version', () => {
    expect(parseCommandLine([])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['run', '--help'])).toEqual({ kind: 'help', topic: 'run' });
    expect(parseCommandLine(['version'])).toEqual({ kind: 'version' });
  });

  const bad: Array<[string[], RegExp]> = [
    [['trace'], /unknown command "trace"/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o'], /no tool given/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--'], /no tool after "--"/],
    [['run', '-n', 'n', '--output-dir', 'o', '--', 'ss'], /--pod is required/],
    [['run', '--pod', 'p', '--output-dir', 'o', '--', 'ss'], /--namespace \(-n\) is required/],
    [['run', '--pod', 'p', '-n', 'n', '--', 'ss'], /nowhere to send the output/],
    [['run', '--pod', 'p', '-n', 'n', '--collector', 'nohost', '--', 'ss'], /not HOST:PORT/],
    [['run', '--pod', 'p', '-n', 'n', '--collector', 'h:1', '--output-dir', 'o', '--', 'ss'], /either --collector or --output-dir/],
    [['run', '--pod', 'p', '-n', 'n', '--collector', 'h:70000', '--', 'ss'], /port 70000 is not between 1 and 65535/],
    [['run', '--pod', 'p', '-n', 'n', '-d', 'h', '-p', '0', '--', 'ss'], /port 0 is not between 1 and 65535/],
    [['run', '--pod', 'p', '-n', 'n', '--collector', '[::1]:65536', '--', 'ss'], /port 65536 is not between/],
    [['run', '--pod', 'p', '-n', 'n', '-d', 'h', '--', 'ss'], /-d HOST and -p PORT go together/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--timer', '2 minutes', '--', 'ss'], /--timer: invalid duration/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--pid', '12x', '--', 'ss'], /--pid "12x" is not a process id/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--max-bytes', 'lots', '--', 'ss'], /--max-bytes: "lots" is not a size/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--segment-seconds', '0', '--', 'ss'], /more than 0 seconds/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--bogus', '--', 'ss'], /unknown option "--bogus"/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', 'tcpdump', 'extra'], /unexpected argument "extra"/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', 'tcpdump', '--', 'ss'], /before "--"/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '-a', '-n', '--', 'ss'], /cannot be combined/],
    [['run', '--pod', 'p', '--pod', 'q', '-n', 'n', '--output-dir', 'o', '--', 'ss'], /given twice/],
    [['run', '--pod'], /needs a value/],
    // beyond node's timer range a timeout fires after 1 ms: the capture would stop at once
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--timer', '30d', '--', 'ss'], /--timer: "30d" is longer than the maximum of 24d/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--segment-seconds', '2592000', '--', 'ss'], /--segment-seconds: "2592000" is longer/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--kill-grace', '25d', '--', 'ss'], /--kill-grace: "25d" is longer/],
    [['run', '--pod', 'p', '-n', 'n', '--output-dir', 'o', '--target-poll', '0s', '--', 'ss'], /--target-poll must be more than 0/],
    [['run', '--pod', 'p', '-n', 'n', '--collector', 'h:1', '--upload-grace', '600h', '--', 'ss'], /--upload-grace: "600h" is longer/],
  ];
  test.each(bad)('%j is refused', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(message);
  });

  test('sizes', () => {
    expect(parseSize('1048576', 'x')).toBe(1048576);
    expect(parseSize('32Mi', 'x')).toBe(32 * 1024 * 1024);
    expect(parseSize('1GiB', 'x')).toBe(1024 ** 3);
    expect(parseSize('10k', 'x')).toBe(10_000);
    expect(() => parseSize('0', 'x')).toThrow(/at least 1 byte/);
    expect(() => parseSize('-5', 'x')).toThrow(UsageError);
  });
});

describe('summary', () => {
  test('tcpdump statistics from its stderr', () => {
    const stderr = [
      'tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
      '1234 packets captured',
      '1300 packets received by filter',
      '66 packets dropped by kernel',
      '2 packets dropped by interface',
      '',
    ].join('\n');
    expect(parseTcpdumpStats(stderr)).toEqual({
      packetsCaptured: 1234, packetsReceivedByFilter: 1300, packetsDroppedByKernel: 66, packetsDroppedByInterface: 2,
    });
    expect(parseTcpdumpStats('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n')).toEqual({
      packetsCaptured: 1, packetsReceivedByFilter: 1, packetsDroppedByKernel: 0,
    });
    expect(parseTcpdumpStats('tcpdump: eth9: No such device exists\n')).toEqual({});
  });

  const base = { spoolDroppedSegments: 0, unsentSegments: 0, toolExitCode: 0 as number | null };
  test.each([
    [{ ...base, stopReason: 'tool-exit' as const }, EXIT.ok],
    [{ ...base, toolExitCode: 1, stopReason: 'tool-exit' as const }, EXIT.toolFailed],
    [{ ...base, toolExitCode: null, stopReason: 'timer' as const }, EXIT.ok],
    [{ ...base, toolExitCode: 130, stopReason: 'signal' as const }, EXIT.ok],
    [{ ...base, stopReason: 'target-gone' as const }, EXIT.ok],
    [{ ...base, stopReason: 'timer' as const, spoolDroppedSegments: 1 }, EXIT.dataLost],
    [{ ...base, stopReason: 'timer' as const, unsentSegments: 2 }, EXIT.dataLost],
    [{ ...base, toolExitCode: 1, stopReason: 'tool-exit' as const, unsentSegments: 2 }, EXIT.dataLost],
  ])('exit code for %j is %d', (s, code) => expect(exitCodeFor(s)).toBe(code));

  test('the termination log stays within 4096 bytes, keeping the first and last objects', () => {
    const objects = Array.from({ length: 500 }, (_, i) => `snoopy-operator/job/cap/shop/web-0/${String(i).padStart(6, '0')}.pcap`);
    const summary = {
      captureId: 'cap', pod: 'web-0', namespace: 'shop', command: 'tcpdump', args: ['-w', '-'], segments: 500, bytes: 1e9, records: 9e6,
      objects, toolExitCode: 0, bytesRead: 1e9, spoolDroppedSegments: 0, spoolDroppedBytes: 0, unsentSegments: 0,
      uploadRetries: 0, startTime: 'a', endTime: 'b', exitCode: 0, packetsDroppedByKernel: 3,
    } satisfies Summary;
    const text = terminationLogText(summary);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    const parsed = JSON.parse(text) as Summary;
    expect(parsed.segments).toBe(500);
    expect(parsed.packetsDroppedByKernel).toBe(3);
    expect(parsed.objects[0]).toBe(objects[0]);
    expect(parsed.objects[parsed.objects.length - 1]).toBe(objects[499]);
    expect(parsed.objects.length + parsed.objectsOmitted!).toBe(500);
    const small = { ...summary, objects: objects.slice(0, 3), segments: 3 };
    expect(JSON.parse(terminationLogText(small))).toEqual(small);
  });
});
