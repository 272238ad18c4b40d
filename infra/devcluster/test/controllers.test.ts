// The controllers with a real API server and two real kubelets: Jobs (failure conditions, TTL),
// CronJobs (seconds test clock, history limits), Deployments (scale, rollout), the scheduler
// (node affinity, unschedulable), Services (Endpoints, ClusterIP and DNS names from inside pods)
// and the Knative Service stand-in.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { V1Deployment, V1Job, V1Pod, V1Endpoints } from '@kubernetes/client-node';
import { startControllers, type Controllers } from '../controllers/index.js';
import { KNATIVE_SERVICE_CRD } from '../controllers/knative.js';
import { apiPath } from '../controllers/kube-client.js';
import { startKubelet, type Kubelet } from '../kubelet/index.js';
import { listNetns, podNetNames } from '../kubelet/network.js';
import { cgroupLeftovers, startTestApi, suffix, testLogger, waitFor, type TestApi } from './kubelet-helpers.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const NODE_SERVER = "require('http').createServer((q,r)=>r.end('hello from '+process.env.HOSTNAME)).listen(+process.env.PORT||8080)";

d('controllers on a two-node dev cluster', () => {
  let t: TestApi;
  let controllers: Controllers;
  const kubelets: Kubelet[] = [];
  const s = suffix();
  const nodes = [`ctl-a-${s}`, `ctl-b-${s}`];

  const job = (name: string, command: string[], spec: Record<string, unknown> = {}) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command }] } }, ...spec },
  });
  const ksvcPath = (name?: string) => apiPath('serving.knative.dev/v1', 'services', 'default', name);
  type KS = { status?: { url?: string; address?: { url?: string }; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } };
  const ksvc = (name: string, container: Record<string, unknown>) => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name }, spec: { template: { spec: { containers: [container] } } } });
  const readyCondition = async (name: string, status: string, reason?: string) => {
    const c = (await t.kube.get<KS>(ksvcPath(name)))?.status?.conditions?.find((x) => x.type === 'Ready');
    return c?.status === status && (!reason || c.reason === reason) ? c : undefined;
  };
  const getJob = (name: string) => t.kube.get<V1Job>(apiPath('batch/v1', 'jobs', 'default', name));
  const cond = (j: V1Job | undefined, type: string) => j?.status?.conditions?.find((c) => c.type === type && c.status === 'True');

  beforeAll(async () => {
    t = await startTestApi('controllers-');
    controllers = await startControllers({ kubeConfig: t.kc, logger: testLogger, cronSeconds: true });
    for (const n of nodes) kubelets.push(await startKubelet({ kubeConfig: t.kc, nodeName: n, stateDir: t.stateDir, kubeconfigPath: t.kubeconfigPath, logger: testLogger }));
  });

  afterAll(async () => {
    const uids = t ? (await t.kube.list<V1Pod>(apiPath('v1', 'pods'))).items.map((p) => p.metadata!.uid!) : [];
    await controllers?.stop();
    for (const k of kubelets) await k.stop();
    await t?.stop();
    // other dev clusters may run on this machine: look only for this one's pods
    const mine = new Set(uids.map((u) => podNetNames(u).netns));
    expect(listNetns().filter((n) => mine.has(n))).toEqual([]);
    expect(cgroupLeftovers(uids)).toEqual([]);
  });

  test("a Job whose pod runs sh -c 'exit 3' with backoffLimit 0 fails with BackoffLimitExceeded", async () => {
    await t.kube.create(apiPath('batch/v1', 'jobs', 'default'), job('fails', ['sh', '-c', 'exit 3'], { backoffLimit: 0 }));
    const j = await waitFor('job Failed', async () => {
      const x = await getJob('fails');
      return cond(x, 'Failed') ? x : undefined;
    });
    expect(cond(j, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(cond(j, 'FailureTarget')?.reason).toBe('BackoffLimitExceeded');
    expect(cond(j, 'Complete')).toBeUndefined();
    expect(j.status?.failed).toBe(1);
    expect(j.status?.succeeded ?? 0).toBe(0);
    expect(j.status?.active ?? 0).toBe(0);
    const pods = await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'job-name=fails' });
    expect(pods.items).toHaveLength(1);
    const p = pods.items[0]!;
    expect(p.metadata?.name).toMatch(/^fails-[a-z0-9]{5}$/);
    expect(p.metadata?.labels?.['batch.kubernetes.io/job-name']).toBe('fails');
    expect(p.metadata?.labels?.['controller-uid']).toBe(j.metadata?.uid);
    expect(p.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: 'fails', controller: true, blockOwnerDeletion: true });
    expect(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
    // what `kubectl describe` shows: who did what
    const reasons = async (name: string) =>
      (await t.kube.list<{ reason: string; involvedObject: { name: string }; source: { component: string } }>(apiPath('v1', 'events', 'default'))).items
        .filter((e) => e.involvedObject.name === name)
        .map((e) => `${e.source.component}/${e.reason}`);
    expect(await waitFor('job events', async () => ((await reasons('fails')).includes('job-controller/BackoffLimitExceeded') ? reasons('fails') : undefined))).toEqual(
      expect.arrayContaining(['job-controller/SuccessfulCreate', 'job-controller/BackoffLimitExceeded']),
    );
    expect(await waitFor('pod events', async () => ((await reasons(p.metadata!.name!)).includes('kubelet/Started') ? reasons(p.metadata!.name!) : undefined))).toEqual(
      expect.arrayContaining(['default-scheduler/Scheduled', 'kubelet/Created', 'kubelet/Started']),
    );
  });

  test('a Job that succeeds is Complete, then deleted (with its pods) after ttlSecondsAfterFinished', async () => {
    await t.kube.create(apiPath('batch/v1', 'jobs', 'default'), job('quick', ['sh', '-c', 'echo done'], { ttlSecondsAfterFinished: 2 }));
    const j = await waitFor('job Complete', async () => {
      const x = await getJob('quick');
      return cond(x, 'Complete') ? x : undefined;
    });
    expect(cond(j, 'SuccessCriteriaMet')).toBeDefined();
    expect(j.status?.succeeded).toBe(1);
    expect(j.status?.completionTime).toBeDefined();
    await waitFor('job deleted by TTL', async () => (await getJob('quick')) === undefined);
    await waitFor('its pod collected', async () => (await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'job-name=quick' })).items.length === 0);
  });

  test('a suspended Job creates no pods until resumed', async () => {
    await t.kube.create(apiPath('batch/v1', 'jobs', 'default'), job('later', ['true'], { suspend: true }));
    const j = await waitFor('Suspended', async () => {
      const x = await getJob('later');
      return cond(x, 'Suspended') ? x : undefined;
    });
    expect(cond(j, 'Suspended')?.reason).toBe('JobSuspended');
    expect(j.status?.startTime).toBeUndefined();
    expect((await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'job-name=later' })).items).toEqual([]);
    await t.kube.mergePatch(apiPath('batch/v1', 'jobs', 'default', 'later'), { spec: { suspend: false } });
    const done = await waitFor('Complete', async () => {
      const x = await getJob('later');
      return cond(x, 'Complete') ? x : undefined;
    });
    expect(done.status?.conditions?.find((c) => c.type === 'Suspended')).toMatchObject({ status: 'False', reason: 'JobResumed' });
  });

  test('a Job past activeDeadlineSeconds fails with DeadlineExceeded and its pod is stopped', async () => {
    await t.kube.create(apiPath('batch/v1', 'jobs', 'default'), job('slow', ['sleep', '60'], { activeDeadlineSeconds: 2 }));
    const j = await waitFor('job Failed', async () => {
      const x = await getJob('slow');
      return cond(x, 'Failed') ? x : undefined;
    });
    expect(cond(j, 'Failed')?.reason).toBe('DeadlineExceeded');
    await waitFor('pod gone', async () => (await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'job-name=slow' })).items.length === 0);
  });

  test('a CronJob on a seconds schedule creates Jobs and keeps only successfulJobsHistoryLimit of them', async () => {
    const seen = new Set<string>();
    await t.kube.create(apiPath('batch/v1', 'cronjobs', 'default'), {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick' },
      spec: { schedule: '*/2 * * * * *', successfulJobsHistoryLimit: 2, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } } } } },
    });
    await waitFor('4 scheduled jobs', async () => {
      const l = await t.kube.list<V1Job>(apiPath('batch/v1', 'jobs', 'default'));
      for (const j of l.items) if (j.metadata?.ownerReferences?.[0]?.name === 'tick') seen.add(j.metadata.name!);
      return seen.size >= 4;
    }, 200, 100);
    for (const n of seen) expect(n).toMatch(/^tick-\d{10}$/);
    await t.kube.mergePatch(apiPath('batch/v1', 'cronjobs', 'default', 'tick'), { spec: { suspend: true } });
    const remaining = await waitFor('history limit applied', async () => {
      const l = (await t.kube.list<V1Job>(apiPath('batch/v1', 'jobs', 'default'))).items.filter((j) => j.metadata?.ownerReferences?.[0]?.name === 'tick');
      const active = l.filter((j) => !cond(j, 'Complete') && !cond(j, 'Failed'));
      return active.length === 0 && l.length <= 2 ? l : undefined;
    });
    expect(remaining.length).toBe(2);
    const cj = await t.kube.get<{ status?: { lastScheduleTime?: string; lastSuccessfulTime?: string } }>(apiPath('batch/v1', 'cronjobs', 'default', 'tick'));
    expect(cj?.status?.lastScheduleTime).toBeDefined();
    expect(cj?.status?.lastSuccessfulTime).toBeDefined();
  });

  test('a CronJob with concurrencyPolicy Forbid never runs two Jobs at once', async () => {
    let maxActive = 0;
    const names = new Set<string>();
    await t.kube.create(apiPath('batch/v1', 'cronjobs', 'default'), {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'forbid' },
      spec: { schedule: '* * * * * *', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '2'] }] } } } } },
    });
    await waitFor('two runs', async () => {
      const jobs = (await t.kube.list<V1Job>(apiPath('batch/v1', 'jobs', 'default'))).items.filter((j) => j.metadata?.ownerReferences?.[0]?.name === 'forbid');
      for (const j of jobs) names.add(j.metadata!.name!);
      maxActive = Math.max(maxActive, jobs.filter((j) => !cond(j, 'Complete') && !cond(j, 'Failed')).length);
      return names.size >= 2;
    }, 300, 50);
    await t.kube.mergePatch(apiPath('batch/v1', 'cronjobs', 'default', 'forbid'), { spec: { suspend: true } });
    expect(maxActive).toBe(1);
  });

  test('a CronJob with concurrencyPolicy Replace replaces the running Job', async () => {
    const names: string[] = [];
    await t.kube.create(apiPath('batch/v1', 'cronjobs', 'default'), {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'replace' },
      spec: { schedule: '*/2 * * * * *', concurrencyPolicy: 'Replace', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '60'] }] } } } } },
    });
    await waitFor('a second run', async () => {
      const jobs = (await t.kube.list<V1Job>(apiPath('batch/v1', 'jobs', 'default'))).items.filter((j) => j.metadata?.ownerReferences?.[0]?.name === 'replace' && !j.metadata?.deletionTimestamp);
      for (const j of jobs) if (!names.includes(j.metadata!.name!)) names.push(j.metadata!.name!);
      return names.length >= 2;
    }, 300, 50);
    await t.kube.mergePatch(apiPath('batch/v1', 'cronjobs', 'default', 'replace'), { spec: { suspend: true } });
    // the first run was deleted to make room for the second
    await waitFor('first run gone', async () => (await getJob(names[0]!)) === undefined || !!(await getJob(names[0]!))?.metadata?.deletionTimestamp);
    await t.kube.delete(apiPath('batch/v1', 'cronjobs', 'default', 'replace'), { propagationPolicy: 'Background' });
    // its pods still count on their nodes until gone; the later tests spread pods
    await waitFor('its pods gone', async () => (await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'))).items.every((p) => !names.some((n) => p.metadata?.labels?.['job-name'] === n)));
  });

  test('the scheduler honours required node affinity and reports Unschedulable', async () => {
    const podWith = (name: string, affinity: unknown) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { terminationGracePeriodSeconds: 1, affinity, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '30'] }] },
    });
    const term = (op: string, values?: string[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: op, values }] }] } } });
    await t.kube.create(apiPath('v1', 'pods', 'default'), podWith('pinned', term('In', [nodes[1]!])));
    await t.kube.create(apiPath('v1', 'pods', 'default'), podWith('not-a', term('NotIn', [nodes[0]!, 'other'])));
    await t.kube.create(apiPath('v1', 'pods', 'default'), podWith('nowhere', term('In', ['no-such-node'])));
    const pinned = await waitFor('pinned bound', async () => (await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'pinned')))?.spec?.nodeName);
    expect(pinned).toBe(nodes[1]);
    expect(await waitFor('not-a bound', async () => (await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'not-a')))?.spec?.nodeName)).toBe(nodes[1]);
    const c = await waitFor('Unschedulable', async () => {
      const p = await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'nowhere'));
      return p?.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
    });
    expect(c.reason).toBe('Unschedulable');
    expect(c.message).toMatch(/^0\/\d+ nodes are available: \d+ node\(s\) didn't match Pod's node affinity\/selector\.$/);
    for (const n of ['pinned', 'not-a', 'nowhere']) await t.kube.delete(apiPath('v1', 'pods', 'default', n));
    // terminating pods still count on their node: let them go before the next test spreads pods
    await waitFor('pods gone', async () => (await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'))).items.every((p) => !['pinned', 'not-a', 'nowhere'].includes(p.metadata!.name!)));
  });

  test('a Deployment scales up and down, rolls out a new template, and its Service is reachable by name from a pod', async () => {
    const dep = (replicas: number, greeting: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'web', image: 'busybox', command: ['node', '-e', NODE_SERVER], env: [{ name: 'GREETING', value: greeting }], ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
          },
        },
      },
    });
    const readyPods = async () => (await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'app=web' })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const depIs = (replicas: number) =>
      waitFor(`deployment at ${replicas}`, async () => {
        const x = await t.kube.get<V1Deployment>(apiPath('apps/v1', 'deployments', 'default', 'web'));
        const pods = await readyPods();
        return x?.status?.readyReplicas === replicas && x.status.replicas === replicas && pods.length === replicas ? x : undefined;
      });
    await t.kube.create(apiPath('apps/v1', 'deployments', 'default'), dep(2, 'one'));
    const d2 = await depIs(2);
    expect(d2.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
    const pods = await readyPods();
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(2); // spread over both nodes
    expect(pods[0]!.metadata?.labels?.['pod-template-hash']).toMatch(/^[a-z0-9]{10}$/);
    await t.kube.mergePatch(apiPath('apps/v1', 'deployments', 'default', 'web'), { spec: { replicas: 3 } });
    await depIs(3);
    await t.kube.mergePatch(apiPath('apps/v1', 'deployments', 'default', 'web'), { spec: { replicas: 1 } });
    await depIs(1);
    const before = (await readyPods())[0]!.metadata?.labels?.['pod-template-hash'];
    await t.kube.mergePatch(apiPath('apps/v1', 'deployments', 'default', 'web'), { spec: { template: { spec: { containers: [{ ...dep(1, 'two').spec.template.spec.containers[0] }] } } } });
    let seen = '';
    const rolled = await waitFor('rolled out', async () => {
      const ps = await readyPods();
      const x = await t.kube.get<V1Deployment>(apiPath('apps/v1', 'deployments', 'default', 'web'));
      seen = JSON.stringify({ pods: ps.map((p) => [p.metadata?.name, p.status?.phase, p.metadata?.labels?.['pod-template-hash']]), status: x?.status, rs: (await t.kube.list(apiPath('apps/v1', 'replicasets', 'default'))).items.map((r) => [(r as V1Deployment).metadata?.name, (r as V1Deployment).spec?.replicas, (r as V1Deployment).status]) });
      return ps.length === 1 && ps[0]!.metadata?.labels?.['pod-template-hash'] !== before && x?.status?.updatedReplicas === 1 && x.status.readyReplicas === 1 ? ps[0] : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}; last seen ${seen}`);
    });
    expect(rolled.spec?.containers[0]?.env?.[0]?.value).toBe('two');

    // Service → Endpoints → reachable by DNS name and ClusterIP:80 from another pod, whether
    // that pod started before the Service existed or after
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'early' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'nicolaka/netshoot', command: ['sh', '-c', 'for i in $(seq 1 100); do curl -sS --max-time 1 http://web/ 2>/dev/null && exit 0; sleep 0.2; done; exit 1'] }] },
    });
    await waitFor('early running', async () => (await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'early')))?.status?.phase === 'Running');
    await t.kube.create(apiPath('v1', 'services', 'default'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
    const ep = await waitFor('endpoints', async () => {
      const e = await t.kube.get<V1Endpoints>(apiPath('v1', 'endpoints', 'default', 'web'));
      return e?.subsets?.[0]?.addresses?.length === 1 ? e : undefined;
    });
    expect(ep.subsets![0]!.addresses![0]!.ip).toBe(rolled.status?.podIP);
    expect(ep.subsets![0]!.ports![0]).toMatchObject({ name: 'http', port: 8080 });
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'curl' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'nicolaka/netshoot', command: ['sh', '-c', 'curl -sS --max-time 5 http://web.default.svc.cluster.local/ && echo && curl -sS --max-time 5 http://web/'] }] },
    });
    const curl = await waitFor('curl done', async () => {
      const p = await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'curl'));
      return ['Succeeded', 'Failed'].includes(p?.status?.phase ?? '') ? p : undefined;
    });
    const out = readFileSync(`${t.stateDir}/logs/default_curl_main.log`, 'utf8');
    expect(out).toBe(`hello from ${rolled.metadata!.name}\nhello from ${rolled.metadata!.name}`);
    expect(curl.status?.phase).toBe('Succeeded');
    // cluster DNS: the search path finds the short name; unknown Service names are NXDOMAIN
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dig' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'nicolaka/netshoot', command: ['sh', '-c', 'dig +short +search web; dig +short web.default.svc.cluster.local; dig nope.default.svc.cluster.local | grep -o NXDOMAIN'] }] },
    });
    const dig = await waitFor('dig done', async () => {
      const p = await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'dig'));
      return ['Succeeded', 'Failed'].includes(p?.status?.phase ?? '') ? p : undefined;
    });
    const svcIP = (await t.kube.get<{ spec: { clusterIP: string } }>(apiPath('v1', 'services', 'default', 'web')))!.spec.clusterIP;
    expect(readFileSync(`${t.stateDir}/logs/default_dig_main.log`, 'utf8')).toBe(`${svcIP}\n${svcIP}\nNXDOMAIN\n`);
    expect(dig.status?.phase).toBe('Succeeded');

    // a Service without endpoints refuses connections at once (curl exit 7), as with kube-proxy,
    // instead of leaving the SYN unanswered until curl's own timeout (exit 28)
    await t.kube.create(apiPath('v1', 'services', 'default'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'void' }, spec: { selector: { app: 'none' }, ports: [{ name: 'http', port: 80 }] } });
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'refused' },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'nicolaka/netshoot', command: ['sh', '-c', 'for i in $(seq 1 50); do getent hosts void >/dev/null && break; sleep 0.1; done; curl -s --max-time 5 http://void/; echo "curl exit $?"'] }] },
    });
    await waitFor('refused done', async () => {
      const p = await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'refused'));
      return ['Succeeded', 'Failed'].includes(p?.status?.phase ?? '') ? p : undefined;
    });
    expect(readFileSync(`${t.stateDir}/logs/default_refused_main.log`, 'utf8')).toBe('curl exit 7\n');

    const early = await waitFor('early done', async () => {
      const p = await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'early'));
      return ['Succeeded', 'Failed'].includes(p?.status?.phase ?? '') ? p : undefined;
    });
    expect(early.status?.phase).toBe('Succeeded');
    expect(readFileSync(`${t.stateDir}/logs/default_early_main.log`, 'utf8')).toBe(`hello from ${rolled.metadata!.name}`);
  });

  test('a Knative Service runs one pod with a queue-proxy, gets a ClusterIP Service on port 80 (to queue-proxy) and a Ready status with its URL', async () => {
    await t.kube.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', KNATIVE_SERVICE_CRD);
    await waitFor('knative API served', async () => (await t.kube.get('/apis/serving.knative.dev/v1')) !== undefined);
    await t.kube.create(ksvcPath(), ksvc('hello', { image: 'dev.local/busybox', command: ['node', '-e', NODE_SERVER], ports: [{ name: 'h2c', containerPort: 8081 }] }));
    const ks = await waitFor('ksvc Ready', async () => {
      const k = await t.kube.get<KS>(ksvcPath('hello'));
      return k?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? k : undefined;
    }, 300);
    expect(ks.status?.url).toBe('http://hello.default.svc.cluster.local');
    expect(ks.status?.address?.url).toBe('http://hello.default.svc.cluster.local');
    for (const c of ['ConfigurationsReady', 'RoutesReady']) expect(ks.status?.conditions?.find((x) => x.type === c)?.status).toBe('True');
    const svc = await t.kube.get<{ spec: { ports: Array<{ port: number; targetPort: number }> } }>(apiPath('v1', 'services', 'default', 'hello'));
    // one port, 80, to queue-proxy's 8012: the user container's port is not reachable by Service
    expect(svc?.spec.ports).toHaveLength(1);
    expect(svc?.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8012 });
    const pods = (await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'serving.knative.dev/service=hello' })).items;
    expect(pods).toHaveLength(1);
    expect(pods[0]!.spec?.containers.map((c) => c.name)).toEqual(['user-container', 'queue-proxy']);
    expect(pods[0]!.spec?.containers[0]?.env?.find((e) => e.name === 'PORT')?.value).toBe('8081');
  });

  test('tag resolution: an image of no skipped registry fails the revision as Knative does; kind.local runs', async () => {
    await t.kube.create(ksvcPath(), ksvc('tagged', { image: 'busybox', command: ['node', '-e', NODE_SERVER], ports: [{ containerPort: 8081 }] }));
    const failed = await waitFor('RevisionFailed', async () => readyCondition('tagged', 'False'), 60);
    expect(failed).toMatchObject({ reason: 'RevisionFailed' });
    expect(failed.message).toMatch(/^Revision "tagged-00001" failed with message: Unable to fetch image "busybox": failed to resolve image to digest/);
    // no pod for a revision whose image cannot be resolved
    expect((await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'serving.knative.dev/service=tagged' })).items).toEqual([]);
    await t.kube.mergePatch(ksvcPath('tagged'), { spec: { template: { spec: { containers: [{ image: 'kind.local/busybox', command: ['node', '-e', NODE_SERVER], ports: [{ containerPort: 8081 }] }] } } } });
    await waitFor('Ready with kind.local', async () => readyCondition('tagged', 'True'), 300);
  });

  test("queue-proxy's ports: a user container binding 9090 fails the revision; a reserved containerPort is refused", async () => {
    // the collector before the fix: gRPC on PORT and metrics on 9090
    const twoPorts = `${NODE_SERVER};require('http').createServer((q,r)=>r.end('metrics')).listen(9090)`;
    await t.kube.create(ksvcPath(), ksvc('metrics9090', { image: 'dev.local/busybox', command: ['node', '-e', twoPorts], ports: [{ name: 'h2c', containerPort: 8081 }] }));
    const failed = await waitFor('RevisionFailed', async () => readyCondition('metrics9090', 'False', 'RevisionFailed'), 300);
    expect(failed.message).toMatch(/Container failed with: .*(9090|EADDRINUSE)/);
    await t.kube.create(ksvcPath(), ksvc('reserved', { image: 'dev.local/busybox', command: ['node', '-e', NODE_SERVER], ports: [{ containerPort: 8012 }] }));
    const refused = await waitFor('RevisionFailed', async () => readyCondition('reserved', 'False', 'RevisionFailed'), 60);
    expect(refused.message).toMatch(/port 8012 is reserved/);
  });
});
