import { describe, expect, test } from '@jest/globals';
import {
  InvocationSyntaxError,
  POD_TERMINATION_LOG,
  PodtracerEnv,
  RUN_OPTIONS,
  takesOption,
  type PodtracerCommand,
  defaultTerminationLog,
  fromArgs,
  toArgs,
  toolPolicyEnv,
  ToolPolicyEnv,
  type PodtracerInvocation,
  type ValueOptionKey,
} from '../contracts/podtracer-invocation.js';
import { toolPolicyFromEnv } from '../tool-policy.js';

/** fromArgs reads the words after `podtracer run` (or `podtracer node`). */
const roundTrip = (inv: PodtracerInvocation): PodtracerInvocation => {
  const argv = toArgs(inv);
  expect(argv[0]).toBe(inv.command ?? 'run');
  return fromArgs(argv.slice(1), inv.command);
};

describe('podtracer invocation: toArgs / fromArgs', () => {
  test("the operator's invocation round-trips, tool argv untouched", () => {
    const inv: PodtracerInvocation = {
      options: {
        pod: 'web-0', namespace: 'shop', container: 'app', timer: '2m', maxBytes: '1000', collector: 'c.snoopy.svc:51001',
        killGrace: '10s', uploadGrace: '40s', terminationLog: POD_TERMINATION_LOG,
      },
      tool: ['tcpdump', '-i', 'eth0', '-U', '-w', '-', '--', 'port 80'],
    };
    expect(toArgs(inv)).toEqual([
      'run', '--pod', 'web-0', '--namespace', 'shop', '--container', 'app', '--timer', '2m', '--max-bytes', '1000',
      '--collector', 'c.snoopy.svc:51001', '--kill-grace', '10s', '--upload-grace', '40s', '--termination-log', '/dev/termination-log',
      '--', 'tcpdump', '-i', 'eth0', '-U', '-w', '-', '--', 'port 80',
    ]);
    expect(roundTrip(inv)).toEqual(inv);
  });

  test('the seed syntax: a positional tool, short options, a value that begins with "-"', () => {
    const read = fromArgs(['tcpdump', '-a', '-i eth0 -U -w -', '-t', '2m', '-d', 'svc', '-p', '51001', '--pod=web-0', '-n', 'ns']);
    expect(read).toEqual({
      options: { args: '-i eth0 -U -w -', timer: '2m', dataHost: 'svc', dataPort: '51001', pod: 'web-0', namespace: 'ns' },
      positionals: ['tcpdump'],
    });
    expect(roundTrip(read)).toEqual(read);
    expect(fromArgs(['--help', '--pod', 'p'])).toEqual({ options: { pod: 'p' }, help: true });
    expect(roundTrip({ options: {}, help: true })).toEqual({ options: {}, help: true });
  });

  test('every option, with values that look like options, round-trips (seeded, 200 cases)', () => {
    const allKeys = (Object.keys(RUN_OPTIONS) as Array<keyof typeof RUN_OPTIONS>).filter((k): k is ValueOptionKey => k !== 'help');
    const values = ['x', '-', '--', '-i eth0', '--pod', 'a=b', '', ' spaced out ', 'ümlaut', '-h'];
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 200; i++) {
      const command: PodtracerCommand = next(2) === 0 ? 'run' : 'node';
      const options: PodtracerInvocation['options'] = {};
      for (const k of allKeys) if (takesOption(command, k) && next(3) === 0) options[k] = values[next(values.length)]!;
      const inv: PodtracerInvocation = command === 'run' ? { options } : { command, options };
      if (next(2) === 0) inv.tool = ['ss', ...values.slice(0, next(values.length))];
      if (next(4) === 0) inv.positionals = ['tcpdump'];
      expect(roundTrip(inv)).toEqual(inv);
    }
  });

  test('bad command lines are refused with the word named', () => {
    expect(() => fromArgs(['--bogus'])).toThrow(new InvocationSyntaxError('unknown option "--bogus" (see podtracer --help)'));
    expect(() => fromArgs(['--pod'])).toThrow(/option --pod needs a value/);
    expect(() => fromArgs(['--pod', 'a', '--pod', 'b'])).toThrow(/--pod given twice/);
    expect(() => fromArgs(['--help=yes'])).toThrow(/takes no value/);
    expect(() => toArgs({ options: {}, positionals: ['-x'] })).toThrow(/would read as an option/);
  });

  test('podtracer node: the run options but the target, plus --assignment-dir; each command refuses the other\'s', () => {
    const inv: PodtracerInvocation = {
      command: 'node',
      options: { assignmentDir: '/etc/snoopy/assignment', timer: '2m', collector: 'c:51001', targetPoll: '2s', terminationLog: POD_TERMINATION_LOG },
      tool: ['tcpdump', '-i', 'eth0', '-U', '-w', '-'],
    };
    expect(toArgs(inv)).toEqual([
      'node', '--assignment-dir', '/etc/snoopy/assignment', '--timer', '2m', '--collector', 'c:51001', '--target-poll', '2s',
      '--termination-log', '/dev/termination-log', '--', 'tcpdump', '-i', 'eth0', '-U', '-w', '-',
    ]);
    expect(roundTrip(inv)).toEqual(inv);
    for (const k of ['pod', 'namespace', 'container', 'pid'] as const) {
      expect(takesOption('node', k)).toBe(false);
      expect(() => toArgs({ command: 'node', options: { [k]: 'x' } })).toThrow(new InvocationSyntaxError(`option --${RUN_OPTIONS[k].long} is not an option of podtracer node`));
    }
    expect(() => fromArgs(['-n', 'shop'], 'node')).toThrow(/option -n is not an option of podtracer node \(the assignment names the targets\)/);
    expect(() => fromArgs(['--assignment-dir', '/x'])).toThrow(/option --assignment-dir is not an option of podtracer run/);
    expect(() => toArgs({ options: { assignmentDir: '/x' } })).toThrow(/not an option of podtracer run/);
  });
});

describe('podtracer environment', () => {
  test('the tool policy survives the trip through the environment', () => {
    for (const policy of [
      { allowedTools: ['tcpdump', 'ip'], allowMutating: false },
      { allowedTools: ['mtr'], allowMutating: true },
      { allowedTools: ['ping', 'curl'], allowMutating: false, minPingIntervalSeconds: 0.2, trafficCidrs: ['10.0.0.0/8'], maxCurlUrls: 5 },
    ]) {
      const env = Object.fromEntries(toolPolicyEnv(policy).map((e) => [e.name, e.value]));
      expect(Object.keys(env).every((k) => (Object.values(ToolPolicyEnv) as string[]).includes(k))).toBe(true);
      expect(toolPolicyFromEnv(env)).toEqual(policy);
    }
  });

  test('the termination log defaults to the pod\'s only inside a pod', () => {
    expect(defaultTerminationLog({})).toBeUndefined();
    expect(defaultTerminationLog({ [PodtracerEnv.kubernetesServiceHost]: '10.96.0.1' })).toBe(POD_TERMINATION_LOG);
  });
});
