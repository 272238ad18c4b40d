import { describe, expect, test } from '@jest/globals';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { TARGET_GONE_MESSAGE, jsonEqual, parseTerminationMessage, setCondition, targetFromJob } from '../snoopyjob/status.js';
import { scheduledTimeOf } from '../snoopyjob/reconciler.js';

const base = { pod: 'p', namespace: 'ns', job: 'j', node: 'n1' };
const pod = (terminated?: { exitCode: number; reason?: string; message?: string }, phase = 'Running'): V1Pod => ({
  status: { phase, containerStatuses: [{ name: 'podtracer', ready: !terminated, restartCount: 0, image: 'x', imageID: '', state: terminated ? { terminated } : { running: {} } }] },
});

describe('status computation', () => {
  test('termination message: known fields kept, wrong types and junk dropped', () => {
    expect(parseTerminationMessage('{"segments":3,"bytes":4096,"objects":["a","b",7],"packetsDroppedByKernel":1,"toolExitCode":0,"extra":true}')).toEqual({ segments: 3, bytes: 4096, objects: ['a', 'b'], packetsDroppedByKernel: 1, toolExitCode: 0 });
    expect(parseTerminationMessage('{"segments":-1,"bytes":"10"}')).toEqual({});
    expect(parseTerminationMessage('{"segments":3,"byt')).toEqual({}); // truncated
    expect(parseTerminationMessage('null')).toEqual({});
    expect(parseTerminationMessage(undefined)).toEqual({});
  });

  test('target state from the Job conditions and the capture pod', () => {
    expect(targetFromJob(base, { status: {} }).state).toBe('Pending');
    expect(targetFromJob(base, { status: { active: 1 } }, pod(undefined, 'Pending')).state).toBe('Pending');
    expect(targetFromJob(base, { status: { active: 1, startTime: '2026-01-01T00:00:00Z' as unknown as Date } }, pod()).state).toBe('Running');
    const done = targetFromJob(
      base,
      { status: { succeeded: 1, startTime: '2026-01-01T00:00:00Z' as unknown as Date, completionTime: '2026-01-01T00:02:00Z' as unknown as Date, conditions: [{ type: 'Complete', status: 'True' }] } },
      pod({ exitCode: 0, message: '{"segments":1,"bytes":24,"objects":["k"],"packetsDroppedByKernel":0,"toolExitCode":0}' }, 'Succeeded'),
    );
    expect(done).toEqual({ ...base, state: 'Succeeded', startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:02:00Z', segments: 1, bytes: 24, objects: ['k'], packetsDroppedByKernel: 0, toolExitCode: 0 });
    const failedJob: V1Job = { status: { failed: 2, conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', lastTransitionTime: '2026-01-01T00:05:00Z' as unknown as Date }] } };
    expect(targetFromJob(base, failedJob, pod({ exitCode: 137, reason: 'Error' }, 'Failed'))).toMatchObject({ state: 'Failed', message: 'DeadlineExceeded: Job was active longer than specified deadline', completionTime: '2026-01-01T00:05:00Z' });
  });

  test('stop reason: read from the summary when it is one podtracer gives', () => {
    expect(parseTerminationMessage('{"segments":1,"stopReason":"target-gone"}')).toEqual({ segments: 1, stopReason: 'target-gone' });
    expect(parseTerminationMessage('{"stopReason":"timer"}')).toEqual({ stopReason: 'timer' });
    expect(parseTerminationMessage('{"stopReason":"whatever"}')).toEqual({});
    expect(parseTerminationMessage('{"stopReason":3}')).toEqual({});
    // the minimal form of a summary too long for the termination log keeps it
    expect(parseTerminationMessage('{"segments":9,"exitCode":0,"stopReason":"target-gone","truncated":true}')).toEqual({ segments: 9, stopReason: 'target-gone' });
  });

  test('a target pod gone during the capture: Succeeded, stop reason target-gone, said so in the message', () => {
    const complete: V1Job = { status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } };
    const summary = '{"segments":2,"bytes":5000,"objects":["k0","k1"],"toolExitCode":1,"stopReason":"target-gone","exitCode":0}';
    expect(targetFromJob(base, complete, pod({ exitCode: 0, message: summary }, 'Succeeded'))).toEqual({
      ...base, state: 'Succeeded', segments: 2, bytes: 5000, objects: ['k0', 'k1'], toolExitCode: 1, stopReason: 'target-gone', message: TARGET_GONE_MESSAGE,
    });
    // a capture that lost data as its target went away failed (exit 4): its Job's failure stands
    const failed: V1Job = { status: { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] } };
    const lost = targetFromJob(base, failed, pod({ exitCode: 4, reason: 'Error', message: '{"unsentSegments":1,"stopReason":"target-gone","exitCode":4}' }, 'Failed'));
    expect(lost).toMatchObject({ state: 'Failed', stopReason: 'target-gone', message: 'BackoffLimitExceeded: Job has reached the specified backoff limit' });
  });

  test('conditions keep their transition time while their status holds', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Running', message: 'm1' }, 't1');
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Running', message: 'm2' }, 't2');
    expect(b).toEqual([{ type: 'Ready', status: 'True', reason: 'Running', message: 'm2', lastTransitionTime: 't1' }]);
    const c = setCondition(b, { type: 'Ready', status: 'False', reason: 'RunFinished', message: 'm3' }, 't3');
    expect(c[0]!.lastTransitionTime).toBe('t3');
    expect(a[0]!.message).toBe('m1'); // inputs are not changed
  });

  test('jsonEqual ignores undefined members and key order', () => {
    expect(jsonEqual({ a: 1, b: undefined, c: [1, { d: 2 }] }, { c: [1, { d: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: '1' })).toBe(false);
  });

  test('scheduled time of a CronJob run: annotation first, else the name suffix of a CronJob-owned Job', () => {
    expect(scheduledTimeOf({ metadata: { name: 'x-1', annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-01-01T10:15:00Z' } } })).toBe('2026-01-01T10:15:00.000Z');
    expect(scheduledTimeOf({ metadata: { name: 'cj-29000000', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'cj', uid: 'u' }] } })).toBe(new Date(29_000_000 * 60_000).toISOString());
    expect(scheduledTimeOf({ metadata: { name: 'oneshot-29000000' } })).toBeUndefined();
  });
});
