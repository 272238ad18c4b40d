import { describe, expect, test } from '@jest/globals';
import { verifyToken } from '../../lib/token.js';
import { ToolPolicyError, parseToolInvocation, toolPolicyFromEnv } from '../../lib/tool-policy.js';
import { assignmentSecretName, captureCronJobName, captureJobName, labelValue, MAX_CRONJOB_NAME, MAX_JOB_NAME, nodeCaptureCronJobName, nodeCaptureJobName, oneShotCaptureId, targetTokenKey, tokenSecretName, Labels } from '../../lib/api/names.js';
import { NODE_ASSIGNMENT_DIR, parseAssignment, renderAssignment } from '../../lib/contracts/node-capture.js';
import { formatQuantity, nodeCaptureResources, parseQuantity } from '../render/resources.js';
import { fromArgs } from '../../lib/contracts/podtracer-invocation.js';
import { evidenceEnabled } from '../../lib/api/schema.js';
import { KILL_GRACE_SECONDS, podtracerArgs, uploadGraceSeconds, renderCaptureCronJob, renderCaptureJob, renderNodeCaptureCronJob, renderNodeCaptureJob, type CaptureRequest, type CaptureSettings, type NodeCaptureRequest } from '../render/capture.js';
import { cronTargetToken, oneShotTargetToken } from '../tokens.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const sj = { name: 'snoopy-samplejob', namespace: 'snoopy-operator', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' };
const settings: CaptureSettings = {
  namespace: 'snoopy-operator',
  podtracerImage: 'snoopy/podtracer:latest',
  privileged: false,
  graceSeconds: 60,
  ttlSecondsAfterFinished: 3600,
  backoffLimit: 1,
  serviceAccount: 'snoopy-capture',
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  resourcesPerTarget: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
};
function request(over: Partial<CaptureRequest> = {}): CaptureRequest {
  return {
    sj,
    command: 'tcpdump',
    argv: ['-i', 'eth0', '-U', '-w', '-'],
    timer: '2m',
    timerSeconds: 120,
    collector: 'snoopy-data-svc.snoopy-operator.svc.cluster.local:51001',
    target: { pod: 'cnf-example-pod-7d9f-abcde', namespace: 'cnf-telco', uid: 'pod-uid-1', node: 'node-a', container: 'ping' },
    tokenSecret: tokenSecretName(sj),
    tokenKey: 'k',
    captureId: oneShotCaptureId(sj),
    ...over,
  };
}

describe('names', () => {
  test('deterministic, DNS labels, within the limits, unique per (SnoopyJob, pod)', () => {
    const long = 'a'.repeat(200);
    const seen = new Set<string>();
    for (const name of ['x', 'snoopy-samplejob', long, 'UPPER.case_name']) {
      for (const pod of ['p', 'cnf-example-pod-7d9f-abcde', long, `${long}-2`]) {
        const j = captureJobName({ name, uid: sj.uid }, { namespace: 'ns', name: pod });
        const c = captureCronJobName({ name, uid: sj.uid }, { namespace: 'ns', name: pod });
        expect(j.length).toBeLessThanOrEqual(MAX_JOB_NAME);
        expect(c.length).toBeLessThanOrEqual(MAX_CRONJOB_NAME);
        expect(j).toMatch(DNS_LABEL);
        expect(c).toMatch(DNS_LABEL);
        expect(captureJobName({ name, uid: sj.uid }, { namespace: 'ns', name: pod })).toBe(j);
        expect(seen.has(j)).toBe(false);
        seen.add(j);
      }
    }
    // same names, another SnoopyJob uid or pod namespace: other objects
    const base = captureJobName(sj, { namespace: 'ns', name: 'p' });
    expect(captureJobName({ ...sj, uid: 'other' }, { namespace: 'ns', name: 'p' })).not.toBe(base);
    expect(captureJobName(sj, { namespace: 'ns2', name: 'p' })).not.toBe(base);
    expect(captureJobName(sj, { namespace: 'ns', name: 'cnf-example-pod-7d9f-abcde' })).toMatch(/^snoopy-samplejob-cnf-example-pod-7d9f-abcde-[0-9a-f]{10}$/);
    expect(tokenSecretName({ name: long, uid: 'u' }).length).toBeLessThanOrEqual(63);
    expect(labelValue(long).length).toBeLessThanOrEqual(63);
    expect(labelValue('short')).toBe('short');
  });
});

describe('per-node names', () => {
  test('Jobs ≤ 63, CronJobs ≤ 52, Secrets ≤ 63, label values ≤ 63, whatever the node name; never a per-target name', () => {
    const longNode = `${'n'.repeat(60)}.${'x'.repeat(60)}.${'y'.repeat(60)}.example.com`;
    const seen = new Set<string>();
    for (const name of ['x', 'snoopy-samplejob', 'a'.repeat(200)]) {
      for (const node of ['node-a', 'ip-10-0-0-1.eu-west-1.compute.internal', longNode, `${longNode}2`]) {
        const j = nodeCaptureJobName({ name, uid: sj.uid }, node);
        const c = nodeCaptureCronJobName({ name, uid: sj.uid }, node);
        const s = assignmentSecretName({ name, uid: sj.uid }, node);
        expect(j.length).toBeLessThanOrEqual(MAX_JOB_NAME);
        expect(c.length).toBeLessThanOrEqual(MAX_CRONJOB_NAME);
        expect(s.length).toBeLessThanOrEqual(63);
        for (const x of [j, c, s]) expect(x).toMatch(DNS_LABEL);
        expect(seen.has(j) || seen.has(s)).toBe(false);
        seen.add(j);
        seen.add(s);
        expect(j).not.toBe(captureJobName({ name, uid: sj.uid }, { namespace: '', name: node }));
        expect(labelValue(node).length).toBeLessThanOrEqual(63);
      }
    }
    expect(nodeCaptureJobName(sj, 'node-a')).toMatch(/^snoopy-samplejob-node-a-[0-9a-f]{10}$/);
    // token keys: Secret key characters, distinct per pod, never the assignment's own keys
    const k = targetTokenKey({ namespace: 'cnf-telco', name: 'Pod.With_Odd' });
    expect(k).toMatch(/^[-._a-zA-Z0-9]{1,63}$/);
    expect(targetTokenKey({ namespace: 'other', name: 'Pod.With_Odd' })).not.toBe(k);
    expect(targetTokenKey({ namespace: 'ns', name: 'x'.repeat(253) }).length).toBeLessThanOrEqual(63);
  });
});

describe('per-node capture pod resources', () => {
  test('base + per target × targets, exact in millicores and bytes', () => {
    expect(parseQuantity('50m')).toBe(50);
    expect(parseQuantity('1')).toBe(1000);
    expect(parseQuantity('1.5')).toBe(1500);
    expect(parseQuantity('64Mi')).toBe(64 * 1024 * 1024 * 1000);
    expect(formatQuantity(parseQuantity('1Gi'), 'memory')).toBe('1Gi');
    expect(formatQuantity(parseQuantity('1500Mi'), 'memory')).toBe('1500Mi');
    expect(formatQuantity(parseQuantity('1k'), 'memory')).toBe('1000');
    expect(() => parseQuantity('1.5.5')).toThrow();
    const r = nodeCaptureResources(settings.resources, settings.resourcesPerTarget, 10);
    expect(r).toEqual({ requests: { cpu: '150m', memory: '544Mi' }, limits: { cpu: '2000m', memory: '1792Mi' } });
    expect(nodeCaptureResources(settings.resources, settings.resourcesPerTarget, 1)).toEqual({ requests: { cpu: '60m', memory: '112Mi' }, limits: { cpu: '1100m', memory: '640Mi' } });
  });
});

describe('per-node capture Job rendering', () => {
  const nodeReq = (over: Partial<NodeCaptureRequest> = {}): NodeCaptureRequest => ({
    sj,
    command: 'tcpdump',
    argv: ['-i', 'eth0', '-U', '-w', '-'],
    timer: '2m',
    timerSeconds: 120,
    collector: 'collector:51001',
    node: 'node-a',
    assignmentSecret: assignmentSecretName(sj, 'node-a'),
    targets: 3,
    captureId: oneShotCaptureId(sj),
    ...over,
  });

  test('podtracer node on the node, the assignment Secret mounted, no target or token in the pod', () => {
    const job = renderNodeCaptureJob(nodeCaptureJobName(sj, 'node-a'), nodeReq(), settings);
    expect(job.metadata!.labels).toMatchObject({ [Labels.jobUid]: sj.uid, [Labels.node]: 'node-a' });
    expect(job.metadata!.labels![Labels.targetPod]).toBeUndefined();
    expect(job.spec!.backoffLimit).toBe(0);
    expect(job.spec!.activeDeadlineSeconds).toBe(180);
    const pod = job.spec!.template.spec!;
    expect(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.values).toEqual(['node-a']);
    expect(pod.volumes).toContainEqual({ name: 'assignment', secret: { secretName: assignmentSecretName(sj, 'node-a'), defaultMode: 0o400 } });
    const c = pod.containers[0]!;
    expect(c.volumeMounts).toContainEqual({ name: 'assignment', mountPath: NODE_ASSIGNMENT_DIR, readOnly: true });
    expect(c.args![0]).toBe('node');
    // what podtracer node reads back through the shared contract: no target option, the assignment's directory
    expect(fromArgs(c.args!.slice(1), 'node')).toEqual({
      command: 'node',
      options: { assignmentDir: NODE_ASSIGNMENT_DIR, timer: '2m', collector: 'collector:51001', killGrace: '10s', uploadGrace: '40s', terminationLog: '/dev/termination-log' },
      tool: ['tcpdump', '-i', 'eth0', '-U', '-w', '-'],
    });
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ SNOOPY_JOB: sj.name, SNOOPY_JOB_NAMESPACE: sj.namespace, SNOOPY_CAPTURE_ID: oneShotCaptureId(sj), NODE_NAME: 'node-a' });
    expect(env.SNOOPY_CAPTURE_TOKEN).toBeUndefined();
    expect(env.POD_UID).toBeUndefined();
    expect(c.resources).toEqual(nodeCaptureResources(settings.resources, settings.resourcesPerTarget, 3));
  });

  test('the CronJob: each run its own capture id; its template hash follows the target count (resources)', () => {
    const name = nodeCaptureCronJobName(sj, 'node-a');
    const cj = renderNodeCaptureCronJob(name, { ...nodeReq({ targets: 2 }), captureId: undefined, schedule: '*/5 * * * *', suspend: false } as NodeCaptureRequest & { schedule: string; suspend: boolean }, settings);
    const env = cj.spec!.jobTemplate.spec!.template.spec!.containers[0]!.env!;
    expect(env.find((e) => e.name === 'SNOOPY_CAPTURE_ID')!.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.labels['job-name']" } });
    const again = renderNodeCaptureCronJob(name, { ...nodeReq({ targets: 2 }), captureId: undefined, schedule: '*/5 * * * *', suspend: false } as NodeCaptureRequest & { schedule: string; suspend: boolean }, settings);
    const more = renderNodeCaptureCronJob(name, { ...nodeReq({ targets: 3 }), captureId: undefined, schedule: '*/5 * * * *', suspend: false } as NodeCaptureRequest & { schedule: string; suspend: boolean }, settings);
    expect(again.metadata!.annotations).toEqual(cj.metadata!.annotations);
    expect(more.metadata!.annotations!['snoopy.fennecproject.io/template-hash']).not.toBe(cj.metadata!.annotations!['snoopy.fennecproject.io/template-hash']);
  });

  test('an assignment renders and parses back, one token key per target', () => {
    const targets = ['p2', 'p1'].map((p) => ({ namespace: 'cnf-telco', pod: p, uid: `u-${p}`, container: 'main', tokenKey: targetTokenKey({ namespace: 'cnf-telco', name: p }) }));
    const a = parseAssignment(renderAssignment({ node: 'node-a', captureId: 'run-1', targets }));
    expect(a.targets.map((t) => t.pod)).toEqual(['p1', 'p2']);
  });
});

describe('capture Job rendering', () => {
  test('the seed sample renders the capture pod on the target node with podtracer args', () => {
    const req = request();
    const job = renderCaptureJob('job-1', req, settings);
    expect(job.metadata!.namespace).toBe('snoopy-operator');
    expect(job.metadata!.labels).toMatchObject({ [Labels.jobUid]: sj.uid, [Labels.jobName]: sj.name, [Labels.jobNamespace]: sj.namespace, [Labels.targetPod]: req.target.pod });
    expect(job.spec!.activeDeadlineSeconds).toBe(180);
    // podtracer stops, kills and gives up retrying uploads before that deadline
    expect(KILL_GRACE_SECONDS + uploadGraceSeconds(60)).toBeLessThan(60);
    expect(job.spec!.ttlSecondsAfterFinished).toBe(3600);
    expect(job.spec!.backoffLimit).toBe(1);
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions).toEqual([
      { key: 'kubernetes.io/hostname', operator: 'In', values: ['node-a'] },
    ]);
    expect(pod.serviceAccountName).toBe('snoopy-capture');
    const c = pod.containers[0]!;
    expect(c.image).toBe('snoopy/podtracer:latest');
    expect(c.args).toEqual([
      'run', '--pod', 'cnf-example-pod-7d9f-abcde', '--namespace', 'cnf-telco', '--container', 'ping', '--timer', '2m',
      '--collector', 'snoopy-data-svc.snoopy-operator.svc.cluster.local:51001', '--kill-grace', '10s', '--upload-grace', '40s',
      '--termination-log', '/dev/termination-log',
      '--', 'tcpdump', '-i', 'eth0', '-U', '-w', '-',
    ]);
    // what podtracer reads back through the shared contract
    expect(fromArgs(c.args!.slice(1))).toEqual({
      options: {
        pod: 'cnf-example-pod-7d9f-abcde', namespace: 'cnf-telco', container: 'ping', timer: '2m',
        collector: 'snoopy-data-svc.snoopy-operator.svc.cluster.local:51001', killGrace: '10s', uploadGrace: '40s',
        terminationLog: c.terminationMessagePath,
      },
      tool: ['tcpdump', '-i', 'eth0', '-U', '-w', '-'],
    });
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(c.securityContext!.capabilities!.add).toEqual(['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE']);
    expect(c.securityContext!.privileged).toBe(false);
    // podtracer mounts the tool's sandbox, which the runtimes' default AppArmor profile forbids
    expect(c.securityContext!.appArmorProfile).toEqual({ type: 'Unconfined' });
    expect(job.spec!.template.metadata!.annotations!['container.apparmor.security.beta.kubernetes.io/podtracer']).toBe('unconfined');
    expect(c.volumeMounts).toEqual([{ name: 'host-proc', mountPath: '/host/proc', readOnly: true }]);
    expect(pod.volumes).toEqual([{ name: 'host-proc', hostPath: { path: '/proc', type: 'Directory' } }]);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      SNOOPY_JOB: sj.name,
      SNOOPY_JOB_NAMESPACE: sj.namespace,
      SNOOPY_CAPTURE_ID: oneShotCaptureId(sj),
      NODE_NAME: 'node-a',
      POD_UID: 'pod-uid-1',
      SNOOPY_CAPTURE_TOKEN: { secretKeyRef: { name: tokenSecretName(sj), key: 'k' } },
    });
    // podtracer's test-only policy bypass (podtracer/test-bypass.ts) is never rendered
    expect(Object.keys(env).filter((k) => k === 'NODE_ENV' || k.startsWith('PODTRACER_TEST_'))).toEqual([]);
    expect(renderCaptureJob('job-1', request(), settings)).toEqual(job);
    expect(renderCaptureJob('job-1', request(), { ...settings, privileged: true }).spec!.template.spec!.containers[0]!.securityContext!.privileged).toBe(true);
  });

  test("the operator's configured tool policy reaches podtracer, which checks the invocation again", () => {
    const policy = { allowedTools: ['tcpdump', 'ip', 'mtr'], allowMutating: true };
    const c = renderCaptureJob('job-1', request({ command: 'ip', argv: ['link', 'set', 'eth0', 'down'] }), { ...settings, toolPolicy: policy }).spec!.template.spec!.containers[0]!;
    const podEnv = Object.fromEntries(c.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    // podtracer reads its policy with toolPolicyFromEnv (podtracer/main.ts)
    const seen = toolPolicyFromEnv(podEnv);
    expect(seen).toEqual(policy);
    expect(() => parseToolInvocation('ip', ['link', 'set', 'eth0', 'down'], seen)).not.toThrow();
    expect(() => parseToolInvocation('ip', ['link', 'set', 'eth0', 'down'], toolPolicyFromEnv({}))).toThrow(ToolPolicyError);
    expect(() => parseToolInvocation('mtr', ['10.0.0.1'], seen)).not.toThrow();
  });

  test('max bytes and arguments with spaces pass through as single argv elements', () => {
    expect(podtracerArgs(request({ maxBytes: 1000, command: 'ping', argv: ['-c', '3', 'a b'] }), 60).slice(-7)).toEqual(['--termination-log', '/dev/termination-log', '--', 'ping', '-c', '3', 'a b']);
    expect(fromArgs(podtracerArgs(request({ maxBytes: 1000, command: 'ping', argv: ['-c', '3', 'a b'] }), 60).slice(1))).toMatchObject({
      options: { maxBytes: '1000' },
      tool: ['ping', '-c', '3', 'a b'],
    });
  });

  test('evidence: on by default for tcpdump, as spec.evidence says otherwise, passed as --evidence on', () => {
    expect(evidenceEnabled({ command: 'tcpdump' })).toBe(true);
    expect(evidenceEnabled({ command: 'tcpdump', evidence: false })).toBe(false);
    expect(evidenceEnabled({ command: 'ping' })).toBe(false);
    expect(evidenceEnabled({ command: 'ping', evidence: true })).toBe(true);
    expect(fromArgs(podtracerArgs(request({ evidence: true }), 60).slice(1)).options.evidence).toBe('on');
    expect(podtracerArgs(request({ evidence: false }), 60)).not.toContain('--evidence');
  });

  test('CronJob: schedule, Forbid, per-run capture id from the Job name, hash changes with the node', () => {
    const { captureId: _omit, ...rest } = request();
    void _omit;
    const cj = renderCaptureCronJob('cj', { ...rest, schedule: '*/15 * * * *', suspend: false }, settings);
    expect(cj.spec!.schedule).toBe('*/15 * * * *');
    expect(cj.spec!.concurrencyPolicy).toBe('Forbid');
    const env = cj.spec!.jobTemplate.spec!.template.spec!.containers[0]!.env!;
    expect(env.find((e) => e.name === 'SNOOPY_CAPTURE_ID')!.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.labels['job-name']" } });
    const moved = renderCaptureCronJob('cj', { ...rest, target: { ...rest.target, node: 'node-b' }, schedule: '*/15 * * * *', suspend: false }, settings);
    expect(moved.metadata!.annotations!['snoopy.fennecproject.io/template-hash']).not.toBe(cj.metadata!.annotations!['snoopy.fennecproject.io/template-hash']);
  });
});

describe('tokens', () => {
  test('one-shot token names the capture id, pod and expiry; cron token is a prefix claim', () => {
    const now = 1_700_000_000;
    const t = oneShotTargetToken('key', { captureId: 'run-1', namespace: 'cnf-telco', pod: 'p', job: 'snoopy-operator/sj' }, 180, now);
    expect(verifyToken('key', t.token, { cid: 'run-1', ns: 'cnf-telco', pod: 'p', job: 'snoopy-operator/sj' }, now + 179)).toMatchObject({ ok: true });
    expect(verifyToken('key', t.token, { cid: 'run-1', ns: 'cnf-telco', pod: 'p', job: 'snoopy-operator/sj' }, now + 181)).toEqual({ ok: false, reason: 'token expired' });
    const c = cronTargetToken('key', { cronJobName: 'cj', namespace: 'cnf-telco', pod: 'p', job: 'snoopy-operator/sj' }, 86_400, now);
    expect(verifyToken('key', c.token, { cid: 'cj-29000000', ns: 'cnf-telco', pod: 'p', job: 'snoopy-operator/sj' }, now + 10)).toMatchObject({ ok: true });
    expect(verifyToken('key', c.token, { cid: 'other-29000000', ns: 'cnf-telco', pod: 'p', job: 'snoopy-operator/sj' }, now + 10)).toMatchObject({ ok: false });
    expect(c.exp).toBe(now + 86_400);
    // both name their SnoopyJob: the collector refuses them for another job's keys
    expect(verifyToken('key', t.token, { cid: 'run-1', ns: 'cnf-telco', pod: 'p', job: 'snoopy-operator/other' }, now + 10)).toMatchObject({ ok: false });
    expect(verifyToken('key', c.token, { cid: 'cj-29000000', ns: 'cnf-telco', pod: 'p', job: 'tenant/sj' }, now + 10)).toMatchObject({ ok: false });
  });
});
