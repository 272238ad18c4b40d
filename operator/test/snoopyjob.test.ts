// The SnoopyJob reconciler against the dev cluster's API server over HTTP. Pods are created bound
// to nodes and reported Running as a kubelet would; Job outcomes are reported as the Job
// controller would. These cases are the per-target design (SNOOPY_CAPTURE_PODS=per-target); the
// per-node default is node-capture.test.ts.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { CRONJOBS, JOBS, MERGE_PATCH, SNOOPYJOBS, DATAENDPOINTS, createObject, getObject } from '../../lib/kube/client.js';
import { Operator } from '../operator.js';
import type { SnoopyDataEndpoint, SnoopyJob } from '../../lib/api/schema.js';
import { Labels, FINALIZER } from '../../lib/api/names.js';
import { SEED_SPEC, createRunningPod, createSnoopyJob, finishJob, listJobs, quiet, startTestCluster, testConfig, waitFor, type TestCluster } from './helpers.js';
import { startRecordingSink } from '../../lib/testing/event-sink-server.js';
import { TARGET_GONE_MESSAGE } from '../snoopyjob/status.js';

let cluster: TestCluster;
let operator: Operator;
let sink: Awaited<ReturnType<typeof startRecordingSink>>;

beforeAll(async () => {
  cluster = await startTestCluster(['snoopy-operator', 'cnf-telco', 'team-a']);
  sink = await startRecordingSink();
  operator = new Operator({ kubeConfig: cluster.kc, config: testConfig({ K_SINK: sink.url, SNOOPY_MIN_PING_INTERVAL: '0.2', SNOOPY_CAPTURE_PODS: 'per-target' }), logger: quiet });
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await sink?.close();
  await cluster?.stop();
});

const getSJ = (ns: string, name: string) => getObject<SnoopyJob>(cluster.kube, SNOOPYJOBS, ns, name);
const jobsOf = async (uid: string) => (await listJobs(cluster.kube)).filter((j) => j.metadata?.labels?.[Labels.jobUid] === uid);
async function cronJobsOf(uid: string): Promise<V1CronJob[]> {
  const list = (await cluster.kube.custom.listNamespacedCustomObject({ ...CRONJOBS, namespace: 'snoopy-operator' })) as { items: V1CronJob[] };
  return list.items.filter((j) => j.metadata?.labels?.[Labels.jobUid] === uid);
}
const arg = (job: V1Job | V1CronJob, flag: string) => {
  const args = ('jobTemplate' in (job.spec ?? {}) ? (job as V1CronJob).spec!.jobTemplate.spec!.template : (job as V1Job).spec!.template).spec!.containers[0]!.args!;
  return args[args.indexOf(flag) + 1];
};
const nodeOf = (job: V1Job) => job.spec!.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.values![0];

describe('one-shot SnoopyJob (the seed samples)', () => {
  test('one Job per target pod on its node with podtracer args, then a correct status and CloudEvents', async () => {
    const { kube } = cluster;
    const labels = { networkMonitor: 'true', app: 'cnf-example-pod' };
    await createRunningPod(kube, 'cnf-telco', 'cnf-example-pod-1', labels, 'node-a');
    await createRunningPod(kube, 'cnf-telco', 'cnf-example-pod-2', labels, 'node-b');
    await createRunningPod(kube, 'cnf-telco', 'unrelated', { app: 'other' }, 'node-a');
    await createObject(kube, DATAENDPOINTS, 'snoopy-operator', { apiVersion: 'data.fennecproject.io/v1alpha1', kind: 'SnoopyDataEndpoint', metadata: { name: 'snoopydataendpoint-sample', namespace: 'snoopy-operator' }, spec: { serviceName: 'snoopy-data-svc', servicePort: 51001 } } as never);
    await createSnoopyJob(kube, 'snoopy-operator', 'snoopy-samplejob', SEED_SPEC);

    const sj0 = await waitFor('the SnoopyJob', () => getSJ('snoopy-operator', 'snoopy-samplejob'));
    const uid = sj0.metadata.uid!;
    const jobs = await waitFor('two capture Jobs', async () => {
      const j = await jobsOf(uid);
      return j.length === 2 ? j : undefined;
    });
    const byPod = new Map(jobs.map((j) => [arg(j, '--pod'), j]));
    expect([...byPod.keys()].sort()).toEqual(['cnf-example-pod-1', 'cnf-example-pod-2']);
    expect(nodeOf(byPod.get('cnf-example-pod-1')!)).toBe('node-a');
    expect(nodeOf(byPod.get('cnf-example-pod-2')!)).toBe('node-b');
    for (const j of jobs) {
      const c = j.spec!.template.spec!.containers[0]!;
      expect(c.image).toBe('snoopy/podtracer:latest');
      expect(c.args!.slice(0, 1)).toEqual(['run']);
      expect(arg(j, '--namespace')).toBe('cnf-telco');
      expect(arg(j, '--container')).toBe('ping');
      expect(arg(j, '--timer')).toBe('2m');
      expect(arg(j, '--collector')).toBe('snoopy-data-svc.snoopy-operator.svc.cluster.local:51001');
      expect(c.args!.slice(c.args!.indexOf('--'))).toEqual(['--', 'tcpdump', '-i', 'eth0', '-U', '-w', '-']);
      expect(j.spec!.activeDeadlineSeconds).toBe(180);
      expect(j.metadata!.namespace).toBe('snoopy-operator');
    }
    // token Secret with one key per Job
    const secrets = await cluster.kube.core.listNamespacedSecret({ namespace: 'snoopy-operator', labelSelector: `${Labels.jobUid}=${uid}` });
    expect(Object.keys(secrets.items[0]!.data ?? {}).sort()).toEqual(jobs.map((j) => j.metadata!.name!).sort());

    const running = await waitFor('status Running', async () => {
      const sj = await getSJ('snoopy-operator', 'snoopy-samplejob');
      return sj?.status?.phase === 'Running' && sj.status.targets?.length === 2 ? sj : undefined;
    });
    expect(running.metadata.finalizers).toContain(FINALIZER);
    expect(running.status!.targetCount).toBe(2);
    expect(running.status!.observedGeneration).toBe(running.metadata.generation);
    expect(running.status!.conditions!.find((c) => c.type === 'Valid')!.status).toBe('True');
    expect(running.status!.targets!.map((t) => [t.pod, t.node, t.state])).toEqual([
      ['cnf-example-pod-1', 'node-a', 'Pending'],
      ['cnf-example-pod-2', 'node-b', 'Pending'],
    ]);

    await finishJob(kube, byPod.get('cnf-example-pod-1')!, 'Complete', { segments: 3, bytes: 4096, objects: ['a/1.pcap', 'a/2.pcap', 'a/3.pcap'], packetsDroppedByKernel: 0, toolExitCode: 0 });
    await finishJob(kube, byPod.get('cnf-example-pod-2')!, 'Complete', { segments: 1, bytes: 100, objects: ['b/1.pcap'], packetsDroppedByKernel: 2, toolExitCode: 0 });
    const done = await waitFor('status Completed', async () => {
      const sj = await getSJ('snoopy-operator', 'snoopy-samplejob');
      return sj?.status?.phase === 'Completed' ? sj : undefined;
    });
    expect(done.status!.targets!.map((t) => [t.pod, t.state, t.bytes, t.segments, t.objects?.length, t.packetsDroppedByKernel])).toEqual([
      ['cnf-example-pod-1', 'Succeeded', 4096, 3, 3, 0],
      ['cnf-example-pod-2', 'Succeeded', 100, 1, 1, 2],
    ]);
    expect(done.status!.completionTime).toBeDefined();
    expect(done.status!.conditions!.find((c) => c.type === 'Completed')).toMatchObject({ status: 'True', reason: 'Succeeded' });

    // a pod that appears after the run finished is not captured
    await createRunningPod(kube, 'cnf-telco', 'cnf-example-pod-3', labels, 'node-c');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await jobsOf(uid)).toHaveLength(2);

    const events = await waitFor('two CloudEvents', () => (sink.events.filter((e) => e.headers['ce-snoopyjob'] === 'snoopy-samplejob').length >= 2 ? sink.events : undefined));
    const mine = events.filter((e) => e.headers['ce-snoopyjob'] === 'snoopy-samplejob');
    expect(mine.map((e) => e.headers['ce-type'])).toEqual(['io.fennecproject.snoopy.job.started', 'io.fennecproject.snoopy.job.completed']);
    for (const e of mine) {
      expect(e.headers).toMatchObject({
        'ce-specversion': '1.0',
        'ce-source': '/apis/job.fennecproject.io/v1alpha1/namespaces/snoopy-operator/snoopyjobs/snoopy-samplejob',
        'ce-snoopyns': 'snoopy-operator',
        'ce-targetns': 'cnf-telco',
        'content-type': expect.stringContaining('application/json'),
      });
      expect(e.headers['ce-id']).toBeTruthy();
    }
    expect((mine[1]!.body as { targets: unknown[]; succeeded: number }).succeeded).toBe(2);
    // Kubernetes Events on the CR
    const kevents = await cluster.kube.core.listNamespacedEvent({ namespace: 'snoopy-operator' });
    const reasons = kevents.items.filter((e) => e.involvedObject.uid === uid).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['JobsCreated', 'Started', 'Completed']));
  });

  test('pods scaled up during a run get their own Job; a failed target fails the run', async () => {
    const { kube } = cluster;
    const labels = { scale: 'oneshot' };
    await createRunningPod(kube, 'team-a', 'web-1', labels, 'node-a');
    await createSnoopyJob(kube, 'team-a', 'scaling', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: labels, timer: '30s' });
    const uid = (await waitFor('sj', () => getSJ('team-a', 'scaling'))).metadata.uid!;
    await waitFor('one Job', async () => ((await jobsOf(uid)).length === 1 ? true : undefined));
    await createRunningPod(kube, 'team-a', 'web-2', labels, 'node-b');
    await createRunningPod(kube, 'team-a', 'web-3', labels, 'node-b');
    const jobs = await waitFor('three Jobs', async () => {
      const j = await jobsOf(uid);
      return j.length === 3 ? j : undefined;
    });
    // scaling down: the pod goes, its capture Job stays to finish gracefully
    await kube.core.deleteNamespacedPod({ namespace: 'team-a', name: 'web-3' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await jobsOf(uid)).toHaveLength(3);
    await finishJob(kube, jobs[0]!, 'Complete', { segments: 1, bytes: 10, objects: [], packetsDroppedByKernel: 0, toolExitCode: 0 });
    await finishJob(kube, jobs[1]!, 'Complete', { segments: 1, bytes: 10, objects: [], packetsDroppedByKernel: 0, toolExitCode: 0 });
    await finishJob(kube, jobs[2]!, 'Failed', { segments: 0, bytes: 0, objects: [], packetsDroppedByKernel: 0, toolExitCode: 1 });
    const sj = await waitFor('Failed', async () => {
      const s = await getSJ('team-a', 'scaling');
      return s?.status?.phase === 'Failed' ? s : undefined;
    });
    expect(sj.status!.targets!.map((t) => t.state).sort()).toEqual(['Failed', 'Succeeded', 'Succeeded']);
    expect(sj.status!.conditions!.find((c) => c.type === 'Completed')!.message).toContain('1 of 3 target(s) failed');
    await waitFor('job.failed event', () => sink.events.find((e) => e.headers['ce-snoopyjob'] === 'scaling' && e.headers['ce-type'] === 'io.fennecproject.snoopy.job.failed'));
  });
});

describe('a target pod deleted during a one-shot run', () => {
  test('its Job completes with stop reason target-gone: the target Succeeded and said so, the run Completed, the job.completed CloudEvent carries it', async () => {
    const { kube } = cluster;
    const labels = { gone: 'midrun' };
    await createRunningPod(kube, 'team-a', 'stays', labels, 'node-a');
    await createRunningPod(kube, 'team-a', 'goes', labels, 'node-b');
    await createSnoopyJob(kube, 'team-a', 'gone-midrun', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: labels, timer: '30s' });
    const uid = (await waitFor('sj', () => getSJ('team-a', 'gone-midrun'))).metadata.uid!;
    const jobs = await waitFor('two Jobs', async () => {
      const j = await jobsOf(uid);
      return j.length === 2 ? j : undefined;
    });
    const byPod = new Map(jobs.map((j) => [arg(j, '--pod'), j]));
    await kube.core.deleteNamespacedPod({ namespace: 'team-a', name: 'goes' });
    // what podtracer reports for a target that went away: tcpdump failed (1), the capture ended target-gone, exit 0
    await finishJob(kube, byPod.get('goes')!, 'Complete', { segments: 1, bytes: 500, objects: ['g/000000.pcap'], packetsDroppedByKernel: 0, toolExitCode: 1, stopReason: 'target-gone', exitCode: 0 });
    await finishJob(kube, byPod.get('stays')!, 'Complete', { segments: 1, bytes: 900, objects: ['s/000000.pcap'], packetsDroppedByKernel: 0, toolExitCode: 0, stopReason: 'timer', exitCode: 0 });
    const sj = await waitFor('Completed', async () => {
      const s = await getSJ('team-a', 'gone-midrun');
      return s?.status?.phase === 'Completed' || s?.status?.phase === 'Failed' ? s : undefined;
    });
    expect(sj.status!.phase).toBe('Completed');
    expect(sj.status!.targets!.map((t) => [t.pod, t.state, t.stopReason, t.message])).toEqual([
      ['goes', 'Succeeded', 'target-gone', TARGET_GONE_MESSAGE],
      ['stays', 'Succeeded', 'timer', undefined],
    ]);
    const event = await waitFor('job.completed event', () => sink.events.find((e) => e.headers['ce-snoopyjob'] === 'gone-midrun' && e.headers['ce-type'] === 'io.fennecproject.snoopy.job.completed'));
    const body = event.body as { succeeded: number; failed: number; targets: Array<{ pod: string; state: string; stopReason?: string; message?: string }> };
    expect(body).toMatchObject({ succeeded: 2, failed: 0 });
    expect(body.targets.find((t) => t.pod === 'goes')).toMatchObject({ state: 'Succeeded', stopReason: 'target-gone', message: TARGET_GONE_MESSAGE });
    expect(body.targets.find((t) => t.pod === 'stays')).toMatchObject({ state: 'Succeeded', stopReason: 'timer' });
  });
});

describe('suspended one-shot SnoopyJob', () => {
  test('waits with no Jobs while suspended, runs when resumed', async () => {
    const { kube } = cluster;
    await createRunningPod(kube, 'team-a', 'susp-1', { susp: 'yes' }, 'node-a');
    await createSnoopyJob(kube, 'team-a', 'later', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: { susp: 'yes' }, suspend: true });
    const sj = await waitFor('Suspended', async () => {
      const s = await getSJ('team-a', 'later');
      return s?.status?.conditions?.find((c) => c.reason === 'Suspended') ? s : undefined;
    });
    expect(sj.status!.phase).toBe('Pending');
    expect(await jobsOf(sj.metadata.uid!)).toHaveLength(0);
    await kube.custom.patchNamespacedCustomObject({ ...SNOOPYJOBS, namespace: 'team-a', name: 'later', body: { spec: { suspend: false } } }, MERGE_PATCH);
    await waitFor('a Job once resumed', async () => ((await jobsOf(sj.metadata.uid!)).length === 1 ? true : undefined));
  });
});

describe('scheduled SnoopyJob', () => {
  test('CronJobs follow pods that come, go and move node; tokens follow; status Scheduled', async () => {
    const { kube } = cluster;
    const labels = { scale: 'cron' };
    await createRunningPod(kube, 'team-a', 'db-1', labels, 'node-a');
    await createRunningPod(kube, 'team-a', 'db-2', labels, 'node-b');
    await createSnoopyJob(kube, 'team-a', 'nightly', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: labels, schedule: '*/15 * * * *', timer: '1m' });
    const uid = (await waitFor('sj', () => getSJ('team-a', 'nightly'))).metadata.uid!;
    let crons = await waitFor('two CronJobs', async () => {
      const c = await cronJobsOf(uid);
      return c.length === 2 ? c : undefined;
    });
    expect(crons.every((c) => c.spec!.schedule === '*/15 * * * *' && c.metadata!.name!.length <= 52)).toBe(true);
    expect(crons.map((c) => arg(c, '--pod')).sort()).toEqual(['db-1', 'db-2']);
    expect(await jobsOf(uid)).toHaveLength(0);
    const sj = await waitFor('Scheduled', async () => {
      const s = await getSJ('team-a', 'nightly');
      return s?.status?.phase === 'Scheduled' && s.status.targets?.length === 2 ? s : undefined;
    });
    expect(Date.parse(sj.status!.nextScheduleTime!)).toBeGreaterThan(Date.now());
    expect(new Date(sj.status!.nextScheduleTime!).getUTCMinutes() % 15).toBe(0);
    expect(sj.status!.cronJobList!.sort()).toEqual(crons.map((c) => c.metadata!.name!).sort());

    // scale up
    await createRunningPod(kube, 'team-a', 'db-3', labels, 'node-c');
    await waitFor('three CronJobs', async () => ((await cronJobsOf(uid)).length === 3 ? true : undefined));
    // scale down
    await kube.core.deleteNamespacedPod({ namespace: 'team-a', name: 'db-1' });
    crons = await waitFor('two CronJobs again', async () => {
      const c = await cronJobsOf(uid);
      return c.length === 2 ? c : undefined;
    });
    expect(crons.map((c) => arg(c, '--pod')).sort()).toEqual(['db-2', 'db-3']);
    // move node: same pod name, recreated elsewhere
    await kube.core.deleteNamespacedPod({ namespace: 'team-a', name: 'db-2' });
    await waitFor('db-2 CronJob removed', async () => ((await cronJobsOf(uid)).length === 1 ? true : undefined));
    await createRunningPod(kube, 'team-a', 'db-2', labels, 'node-z');
    const moved = await waitFor('db-2 CronJob on node-z', async () => {
      const c = (await cronJobsOf(uid)).find((x) => arg(x, '--pod') === 'db-2');
      const node = c?.spec!.jobTemplate.spec!.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions![0]!.values![0];
      return node === 'node-z' ? c : undefined;
    });
    expect(moved.spec!.jobTemplate.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'POD_UID')!.value).toBeTruthy();
    const secret = await waitFor('token keys follow the CronJobs', async () => {
      const s = (await kube.core.listNamespacedSecret({ namespace: 'snoopy-operator', labelSelector: `${Labels.jobUid}=${uid}` })).items[0];
      const names = (await cronJobsOf(uid)).map((c) => c.metadata!.name!).sort();
      return s && JSON.stringify(Object.keys(s.data ?? {}).sort()) === JSON.stringify(names) ? s : undefined;
    });
    // a scheduled run, as the CronJob controller makes it: one Job per CronJob for one time
    const current = await cronJobsOf(uid);
    const scheduled = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const runJobs: V1Job[] = [];
    for (const cj of current) {
      runJobs.push(
        await createObject<V1Job>(kube, JOBS, 'snoopy-operator', {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: {
            name: `${cj.metadata!.name}-${Math.floor(scheduled.getTime() / 60_000)}`,
            namespace: 'snoopy-operator',
            labels: cj.spec!.jobTemplate.metadata!.labels,
            annotations: { ...cj.spec!.jobTemplate.metadata!.annotations, 'batch.kubernetes.io/cronjob-scheduled-timestamp': scheduled.toISOString() },
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid! }],
          },
          spec: cj.spec!.jobTemplate.spec!,
        }),
      );
    }
    await waitFor('run started', () => sink.events.find((e) => e.headers['ce-snoopyjob'] === 'nightly' && e.headers['ce-type'] === 'io.fennecproject.snoopy.job.started'));
    for (const j of runJobs) await finishJob(kube, j, 'Complete', { segments: 2, bytes: 512, objects: ['o1', 'o2'], packetsDroppedByKernel: 0, toolExitCode: 0 });
    const completed = await waitFor('run completed', () => sink.events.find((e) => e.headers['ce-snoopyjob'] === 'nightly' && e.headers['ce-type'] === 'io.fennecproject.snoopy.job.completed'));
    expect(completed.body).toMatchObject({ scheduleTime: scheduled.toISOString(), succeeded: runJobs.length, failed: 0 });
    const afterRun = await waitFor('lastRun Succeeded', async () => {
      const s = await getSJ('team-a', 'nightly');
      return s?.status?.lastRun?.state === 'Succeeded' ? s : undefined;
    });
    expect(afterRun.status!.lastRun).toEqual({ scheduleTime: scheduled.toISOString(), state: 'Succeeded', jobs: runJobs.length, succeeded: runJobs.length, failed: 0 });
    // each target shows its latest run's figures, capture id = the run's Job name
    const t = afterRun.status!.targets!.find((x) => x.pod === 'db-3')!;
    expect(t).toMatchObject({ state: 'Scheduled', bytes: 512, segments: 2 });
    expect(t.captureId).toMatch(new RegExp(`^${t.job}-\\d+$`));
    expect(sink.events.filter((e) => e.headers['ce-snoopyjob'] === 'nightly')).toHaveLength(2);
    expect(await jobsOf(uid)).toHaveLength(runJobs.length); // the operator made no Jobs of its own

    const token = Buffer.from(Object.values(secret.data!)[0]!, 'base64').toString();
    const claims = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { cid: string; ns: string; exp: number };
    expect(claims.cid.endsWith('-*')).toBe(true);
    expect(claims.ns).toBe('team-a');
  });
});

describe('invalid specs', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['tool', { command: 'bash' }, 'ToolNotAllowed', 'spec.command'],
    ['args', { args: '-i eth0 -w /etc/passwd' }, 'ArgsRefused', '-w'],
    ['iperf3-file', { command: 'iperf3', args: '--server -F /host/proc/1/root/etc/x -1' }, 'ArgsRefused', '"-F /host/proc/1/root/etc/x" reads or writes a file'],
    ['ping-flood', { command: 'ping', args: '-i 0.01 10.0.0.1' }, 'ArgsRefused', 'SNOOPY_MIN_PING_INTERVAL (0.2 s)'],
    ['timer', { timer: '0s' }, 'InvalidTimer', 'spec.timer "0s" must be longer than zero'],
    ['cron', { schedule: '99 * * * *' }, 'InvalidSchedule', 'spec.schedule "99 * * * *" is not a valid cron expression'],
    ['cross', { targetNamespace: 'cnf-telco' }, 'CrossNamespaceNotAllowed', 'spec.targetNamespace "cnf-telco" differs from the SnoopyJob\'s namespace "team-a"'],
    ['endpoint', { dataServiceIP: undefined, dataServicePort: undefined, dataEndpointRef: { name: 'nope' } }, 'EndpointNotFound', 'SnoopyDataEndpoint "team-a/nope" does not exist'],
  ];
  test.each(cases)('%s: Invalid with a precise message and zero Jobs', async (name, over, reason, text) => {
    const { kube } = cluster;
    await createRunningPod(kube, 'team-a', `target-${name}`, { invalid: name }, 'node-a');
    await createSnoopyJob(kube, 'team-a', `bad-${name}`, { ...SEED_SPEC, targetNamespace: undefined, labelSelector: { invalid: name }, ...over });
    const sj = await waitFor('Invalid', async () => {
      const s = await getSJ('team-a', `bad-${name}`);
      return s?.status?.phase === 'Invalid' ? s : undefined;
    });
    const valid = sj.status!.conditions!.find((c) => c.type === 'Valid')!;
    expect(valid).toMatchObject({ status: 'False', reason });
    expect(valid.message).toContain(text);
    expect(await jobsOf(sj.metadata.uid!)).toHaveLength(0);
    expect(await cronJobsOf(sj.metadata.uid!)).toHaveLength(0);
  });

  test('an empty selector is refused by the CRD schema itself', async () => {
    await expect(createSnoopyJob(cluster.kube, 'team-a', 'bad-selector', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: {} })).rejects.toThrow(/labelSelector/);
  });
});

describe('deletion', () => {
  test('deleting the SnoopyJob removes its Jobs, CronJobs and Secrets and its finalizer', async () => {
    const { kube } = cluster;
    const labels = { del: 'yes' };
    await createRunningPod(kube, 'team-a', 'del-1', labels, 'node-a');
    await createRunningPod(kube, 'team-a', 'del-2', labels, 'node-b');
    await createSnoopyJob(kube, 'team-a', 'del-oneshot', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: labels });
    await createSnoopyJob(kube, 'team-a', 'del-cron', { ...SEED_SPEC, targetNamespace: undefined, labelSelector: labels, schedule: '0 * * * *' });
    const a = (await waitFor('sj', () => getSJ('team-a', 'del-oneshot'))).metadata.uid!;
    const b = (await waitFor('sj', () => getSJ('team-a', 'del-cron'))).metadata.uid!;
    await waitFor('Jobs and CronJobs', async () => ((await jobsOf(a)).length === 2 && (await cronJobsOf(b)).length === 2 ? true : undefined));
    for (const n of ['del-oneshot', 'del-cron']) await kube.custom.deleteNamespacedCustomObject({ ...SNOOPYJOBS, namespace: 'team-a', name: n });
    await waitFor('SnoopyJobs gone', async () => (!(await getSJ('team-a', 'del-oneshot')) && !(await getSJ('team-a', 'del-cron')) ? true : undefined));
    expect(await jobsOf(a)).toHaveLength(0);
    expect(await cronJobsOf(b)).toHaveLength(0);
    for (const uid of [a, b]) expect((await kube.core.listNamespacedSecret({ namespace: 'snoopy-operator', labelSelector: `${Labels.jobUid}=${uid}` })).items).toHaveLength(0);
  });
});

describe('SnoopyDataEndpoint', () => {
  test('Deployment + Service when Knative is not served; address, url, owner references; SnoopyJobs may reference it', async () => {
    const { kube } = cluster;
    await createObject(kube, DATAENDPOINTS, 'team-a', {
      apiVersion: 'data.fennecproject.io/v1alpha1',
      kind: 'SnoopyDataEndpoint',
      metadata: { name: 'store', namespace: 'team-a' },
      spec: { serviceName: 'collector', servicePort: 9000, storage: { bucket: 'captures', endpoint: 'http://minio.team-a:9000', credentialsSecret: { name: 'minio' } } },
    } as never);
    const de = await waitFor('address', async () => {
      const d = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, 'team-a', 'store');
      return d?.status?.address ? d : undefined;
    });
    expect(de.status).toMatchObject({ address: 'collector.team-a.svc.cluster.local:9000', mode: 'deployment', url: 'http://collector.team-a.svc.cluster.local:9000' });
    const dep = (await kube.custom.getNamespacedCustomObject({ group: 'apps', version: 'v1', namespace: 'team-a', plural: 'deployments', name: 'collector' })) as { metadata: { ownerReferences: { uid: string }[] }; spec: { template: { spec: { containers: { image: string; env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } } };
    expect(dep.metadata.ownerReferences[0]!.uid).toBe(de.metadata.uid);
    const env = Object.fromEntries(dep.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      STORAGE: 's3',
      S3_BUCKET: 'captures',
      S3_ENDPOINT: 'http://minio.team-a:9000',
      PORT: '9000',
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 'minio', key: 'AWS_ACCESS_KEY_ID' } },
      SNOOPY_TOKEN_KEY: { secretKeyRef: { name: 'snoopy-token-key-store', key: 'key' } },
    });
    const svc = await kube.core.readNamespacedService({ namespace: 'team-a', name: 'collector' });
    expect(svc.spec!.ports![0]).toMatchObject({ name: 'h2c', port: 9000 });
    // the copied token key equals the operator's
    const mine = await kube.core.readNamespacedSecret({ namespace: 'team-a', name: 'snoopy-token-key-store' });
    const theirs = await kube.core.readNamespacedSecret({ namespace: 'snoopy-operator', name: 'snoopy-token-key' });
    expect(mine.data!.key).toBe(theirs.data!.key);

    await createRunningPod(kube, 'team-a', 'ref-1', { ref: 'x' }, 'node-a');
    await createSnoopyJob(kube, 'team-a', 'by-ref', { command: 'ping', args: '-c 3 10.0.0.1', labelSelector: { ref: 'x' }, dataEndpointRef: { name: 'store' } });
    const uid = (await waitFor('sj', () => getSJ('team-a', 'by-ref'))).metadata.uid!;
    const [job] = await waitFor('Job', async () => {
      const j = await jobsOf(uid);
      return j.length === 1 ? j : undefined;
    });
    expect(arg(job!, '--collector')).toBe('collector.team-a.svc.cluster.local:9000');
    expect(job!.spec!.template.spec!.containers[0]!.args!.slice(-4)).toEqual(['ping', '-c', '3', '10.0.0.1']);
  });
});
