import { describe, expect, test } from '@jest/globals';
import { DEFAULT_TOOL_POLICY } from '../../lib/tool-policy.js';
import { validateSnoopyJob, nextScheduleTime, type ValidationContext } from '../../lib/api/validation.js';
import type { SnoopyJobSpec } from '../../lib/api/schema.js';
import { SEED_SPEC } from './helpers.js';

const ctx: ValidationContext = { operatorNamespace: 'snoopy-operator', allowCrossNamespace: false, policy: DEFAULT_TOOL_POLICY };
const seed: SnoopyJobSpec = SEED_SPEC;
const sj = (spec: Partial<SnoopyJobSpec> & Record<string, unknown>, namespace = 'snoopy-operator') => ({
  metadata: { name: 'j', namespace },
  spec: { ...seed, ...spec } as SnoopyJobSpec,
});
function problems(spec: Partial<SnoopyJobSpec> & Record<string, unknown>, c: Partial<ValidationContext> = {}, ns?: string) {
  const v = validateSnoopyJob(sj(spec, ns), { ...ctx, ...c });
  if (v.ok) throw new Error('expected problems');
  return v.problems;
}

describe('SnoopyJob validation', () => {
  test('the seed sample resolves: argv, timer, collector, target namespace', () => {
    const v = validateSnoopyJob(sj({}), ctx);
    expect(v).toMatchObject({
      ok: true,
      resolved: { command: 'tcpdump', argv: ['-i', 'eth0', '-U', '-w', '-'], timerSeconds: 120, targetNamespace: 'cnf-telco', collector: 'snoopy-data-svc.snoopy-operator.svc.cluster.local:51001', suspend: false },
    });
  });

  test.each([
    [{ command: 'bash' }, 'spec.command', 'ToolNotAllowed', 'bash'],
    [{ command: 'nmap' }, 'spec.command', 'ToolNotAllowed', 'nmap'],
    [{ args: '-i eth0 -w /tmp/x.pcap' }, 'spec.args', 'ArgsRefused', '-w'],
    [{ args: '-i eth0 -z /bin/sh' }, 'spec.args', 'ArgsRefused', '-z'],
    [{ args: '-i eth0; rm -rf /' }, 'spec.args', 'ArgsRefused', ';'],
    [{ timer: 'soon' }, 'spec.timer', 'SchemaViolation', 'spec.timer'],
    [{ timer: '0s' }, 'spec.timer', 'InvalidTimer', 'longer than zero'],
    [{ timer: '30d' }, 'spec.timer', 'InvalidTimer', 'maximum'],
    [{ schedule: '* * * *' }, 'spec.schedule', 'InvalidSchedule', '5 fields'],
    [{ schedule: '61 * * * *' }, 'spec.schedule', 'InvalidSchedule', 'not a valid cron expression'],
    [{ labelSelector: {} }, 'spec.labelSelector', 'SchemaViolation', 'spec.labelSelector'],
    [{ labelSelector: { 'bad key!': 'x' } }, 'spec.labelSelector', 'InvalidSelector', 'bad key!'],
    [{ dataServiceIP: undefined, dataServicePort: undefined }, 'spec.dataServiceIP', 'NoCollector', 'no collector'],
    [{ dataServicePort: '99999' }, 'spec.dataServicePort', 'InvalidCollector', '99999'],
  ] as [Record<string, unknown>, string, string, string][])('%j is refused on %s (%s)', (spec, field, reason, text) => {
    const p = problems(spec);
    expect(p).toContainEqual(expect.objectContaining({ field, reason }));
    expect(p.find((x) => x.field === field)!.message).toContain(text);
  });

  test('cross-namespace targets: only from the operator namespace, unless allowed', () => {
    expect(problems({}, {}, 'team-a')).toEqual([expect.objectContaining({ field: 'spec.targetNamespace', reason: 'CrossNamespaceNotAllowed' })]);
    expect(problems({}, {}, 'team-a')[0]!.message).toContain('"cnf-telco" differs from the SnoopyJob\'s namespace "team-a"');
    expect(validateSnoopyJob(sj({}, 'team-a'), { ...ctx, allowCrossNamespace: true }).ok).toBe(true);
    expect(validateSnoopyJob(sj({ targetNamespace: undefined }, 'team-a'), ctx)).toMatchObject({ ok: true, resolved: { targetNamespace: 'team-a' } });
  });

  test('dataEndpointRef: unknown endpoint is invalid, a found one gives its address', () => {
    const ref = { dataServiceIP: undefined, dataServicePort: undefined, dataEndpointRef: { name: 'sde', namespace: 'snoopy-operator' } };
    expect(problems(ref, { endpoint: { found: false } })).toEqual([
      expect.objectContaining({ field: 'spec.dataEndpointRef', reason: 'EndpointNotFound', message: expect.stringContaining('"snoopy-operator/sde" does not exist') }),
    ]);
    expect(validateSnoopyJob(sj(ref), { ...ctx, endpoint: { found: true, address: 'c.snoopy-operator.svc:8080' } })).toMatchObject({ ok: true, resolved: { collector: 'c.snoopy-operator.svc:8080' } });
    expect(problems({ dataEndpointRef: { name: 'sde' } }, { endpoint: { found: true } })[0]!.reason).toBe('AmbiguousCollector');
  });

  test('every problem is reported, not just the first', () => {
    expect(problems({ command: 'bash', timer: '0s', schedule: 'x' }).map((p) => p.field).sort()).toEqual(['spec.command', 'spec.schedule', 'spec.timer']);
  });

  test('next schedule time', () => {
    expect(nextScheduleTime('*/15 * * * *', new Date('2026-01-01T10:07:00Z'))).toBe('2026-01-01T10:15:00.000Z');
  });
});
