// The kubelet against a real dev cluster API server: two nodes, pods in their own network
// namespaces, exit codes and termination messages, hostPath, cgroups found by containerID,
// env from the downward API and Secrets, graceful deletion, and nothing left after stop().
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { apiPath } from '../controllers/kube-client.js';
import { startKubelet, type Kubelet } from '../kubelet/index.js';
import { listNetns, podNetNames } from '../kubelet/network.js';
import { execFileSync } from 'node:child_process';
import { listRecords } from '../kubelet/state-records.js';
import { cgroupLeftovers, startTestApi, suffix, testLogger, waitFor, type TestApi } from './kubelet-helpers.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;

function pod(name: string, node: string, command: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { nodeName: node, restartPolicy: 'Never', terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'busybox', command }], ...extra },
  };
}

function pidsOfContainer(id: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id);
      } catch {
        return false;
      }
    })
    .map(Number);
}

d('kubelet: pods as processes on two nodes', () => {
  let t: TestApi;
  const kubelets: Kubelet[] = [];
  const s = suffix();
  const nodes = [`node-a-${s}`, `node-b-${s}`];

  const getPod = (name: string) => t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', name));
  const podIn = (name: string, phases: string[]) =>
    waitFor(`${name} in ${phases.join('/')}`, async () => {
      const p = await getPod(name);
      return p && phases.includes(p.status?.phase ?? '') ? p : undefined;
    });

  beforeAll(async () => {
    t = await startTestApi('kubelet-pods-');
    for (const n of nodes) kubelets.push(await startKubelet({ kubeConfig: t.kc, nodeName: n, stateDir: t.stateDir, kubeconfigPath: t.kubeconfigPath, logger: testLogger }));
  });

  afterAll(async () => {
    for (const k of kubelets) await k.stop();
    await t?.stop();
  });

  test('nodes register Ready with hostname labels and distinct pod CIDRs', async () => {
    const list = await t.kube.list<{ metadata: { name: string; labels: Record<string, string> }; spec: { podCIDR: string }; status: { conditions: Array<{ type: string; status: string }> } }>('/api/v1/nodes');
    const mine = list.items.filter((n) => nodes.includes(n.metadata.name));
    expect(mine).toHaveLength(2);
    for (const n of mine) {
      expect(n.metadata.labels['kubernetes.io/hostname']).toBe(n.metadata.name);
      expect(n.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
    expect(mine[0]!.spec.podCIDR).not.toBe(mine[1]!.spec.podCIDR);
    const lease = await t.kube.get<{ spec: { holderIdentity: string; renewTime: string } }>(apiPath('coordination.k8s.io/v1', 'leases', 'kube-node-lease', nodes[0]));
    expect(lease?.spec.holderIdentity).toBe(nodes[0]);
    expect(lease?.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  test('two pods on two nodes ping each other by pod IP; env from the downward API and a Secret', async () => {
    await t.kube.create(apiPath('v1', 'secrets', 'default'), { metadata: { name: 'peer-secret' }, stringData: { word: 'swordfish' } });
    await t.kube.create(apiPath('v1', 'pods', 'default'), pod('server', nodes[0]!, ['sleep', '60']));
    const server = await podIn('server', ['Running']);
    const serverIP = server.status!.podIP!;
    expect(serverIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
    await t.kube.create(
      apiPath('v1', 'pods', 'default'),
      pod('client', nodes[1]!, ['sh', '-c', 'echo "$MY_NAME $MY_IP $WORD" && ping -c 3 -W 2 $(PEER)'], {
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'echo "$MY_NAME $MY_IP $WORD" && ping -c 3 -W 2 $(PEER) && echo "api says server is at $(kubectl get pod server -o jsonpath={.status.podIP})"'],
            env: [
              { name: 'PEER', value: serverIP },
              { name: 'MY_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'WORD', valueFrom: { secretKeyRef: { name: 'peer-secret', key: 'word' } } },
            ],
          },
        ],
      }),
    );
    const client = await podIn('client', ['Succeeded', 'Failed']);
    const log = readFileSync(`${t.stateDir}/logs/default_client_main.log`, 'utf8');
    expect(client.status?.phase).toBe('Succeeded');
    expect(log).toContain(`client ${client.status!.podIP} swordfish`);
    // the in-pod KUBECONFIG reaches the API server from the pod's network namespace
    expect(log).toContain(`api says server is at ${serverIP}`);
    expect(log).toContain('3 packets transmitted, 3 received');
    expect(client.status!.podIP).not.toBe(serverIP);
    expect(client.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('Completed');
  });

  test("a running pod's process is found via /proc/*/cgroup by its containerID", async () => {
    const server = await podIn('server', ['Running']);
    const cid = server.status!.containerStatuses![0]!.containerID!;
    expect(cid).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    const pids = pidsOfContainer(cid.replace('containerd://', ''));
    expect(pids.length).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8').split('\0')[0]).toBe('sleep');
  });

  test('exit code, termination message, hostPath /proc → /host/proc (read-only)', async () => {
    await t.kube.create(
      apiPath('v1', 'pods', 'default'),
      pod('failing', nodes[0]!, ['sh', '-c', 'test -r /host/proc/1/stat && ! touch /host/proc/x 2>/dev/null && echo "bye from $HOSTNAME" > /dev/termination-log; exit 3'], {
        volumes: [{ name: 'proc', hostPath: { path: '/proc' } }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'test -r /host/proc/1/stat && ! touch /host/proc/x 2>/dev/null && echo "bye from $HOSTNAME" > /dev/termination-log; exit 3'],
            volumeMounts: [{ name: 'proc', mountPath: '/host/proc', readOnly: true }],
          },
        ],
      }),
    );
    const p = await podIn('failing', ['Failed', 'Succeeded']);
    const term = p.status!.containerStatuses![0]!.state!.terminated!;
    expect(p.status!.phase).toBe('Failed');
    expect(term.exitCode).toBe(3);
    expect(term.reason).toBe('Error');
    expect(term.message).toBe('bye from failing\n');
    expect(existsSync('/host/proc')).toBe(false);
  });

  test('restartPolicy OnFailure restarts a failing container with a new containerID', async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), pod('flaky', nodes[1]!, ['sh', '-c', 'exit 1'], { restartPolicy: 'OnFailure' }));
    const p = await waitFor('a restart', async () => {
      const x = await getPod('flaky');
      return (x?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && x?.status?.containerStatuses?.[0]?.lastState?.terminated ? x : undefined;
    });
    expect(p.status!.containerStatuses![0]!.lastState!.terminated!.exitCode).toBe(1);
    expect(p.status!.phase).toBe('Running');
    await t.kube.delete(apiPath('v1', 'pods', 'default', 'flaky'));
    await waitFor('flaky gone', async () => (await getPod('flaky')) === undefined);
  });

  test('two containers share an emptyDir; configMap volume files; hostNetwork pods use the node address', async () => {
    await t.kube.create(apiPath('v1', 'configmaps', 'default'), { metadata: { name: 'cfg' }, data: { 'greeting.txt': 'hello volume' } });
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'shared', namespace: 'default' },
      spec: {
        nodeName: nodes[0],
        restartPolicy: 'Never',
        volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cfg' } }],
        containers: [
          { name: 'writer', image: 'busybox', command: ['sh', '-c', 'cat /etc/cfg/greeting.txt > /scratch/msg'], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }, { name: 'cfg', mountPath: '/etc/cfg', readOnly: true }] },
          { name: 'reader', image: 'busybox', command: ['sh', '-c', 'for i in $(seq 1 100); do [ -s /in/msg ] && break; sleep 0.1; done; cat /in/msg'], volumeMounts: [{ name: 'scratch', mountPath: '/in' }] },
        ],
      },
    });
    const shared = await podIn('shared', ['Succeeded', 'Failed']);
    expect(shared.status?.phase).toBe('Succeeded');
    expect(readFileSync(`${t.stateDir}/logs/default_shared_reader.log`, 'utf8')).toBe('hello volume');
    expect(existsSync('/etc/cfg')).toBe(false);

    await t.kube.create(apiPath('v1', 'pods', 'default'), pod('hostnet', nodes[1]!, ['sh', '-c', 'ip -o link show'], { hostNetwork: true }));
    const hn = await podIn('hostnet', ['Succeeded', 'Failed']);
    expect(hn.status?.phase).toBe('Succeeded');
    expect(hn.status?.podIP).toBe(hn.status?.hostIP);
    // the host's interfaces, the cluster bridge among them, not a pod's lo + eth0
    expect(readFileSync(`${t.stateDir}/logs/default_hostnet_main.log`, 'utf8')).toMatch(/snpbr-10-\d+/);
  });

  test('a missing Secret is reported as CreateContainerConfigError and the container starts once it exists', async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'needs-secret', namespace: 'default' },
      spec: { nodeName: nodes[0], restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo "token=$TOKEN"'], env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'late', key: 't' } } }] }] },
    });
    const waiting = await waitFor('config error', async () => {
      const p = await getPod('needs-secret');
      const w = p?.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'CreateContainerConfigError' ? w : undefined;
    });
    expect(waiting.message).toBe('secret "late" not found');
    expect((await getPod('needs-secret'))?.status?.phase).toBe('Pending');
    await t.kube.create(apiPath('v1', 'secrets', 'default'), { metadata: { name: 'late' }, stringData: { t: 'abc' } });
    const done = await podIn('needs-secret', ['Succeeded', 'Failed']);
    expect(done.status?.phase).toBe('Succeeded');
    expect(readFileSync(`${t.stateDir}/logs/default_needs-secret_main.log`, 'utf8')).toBe('token=abc\n');
  });

  test('init containers run first, in order; an exec readiness probe runs inside the container', async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'with-init', namespace: 'default' },
      spec: {
        nodeName: nodes[1],
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [
          { name: 'first', image: 'busybox', command: ['sh', '-c', 'echo one > /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
          { name: 'second', image: 'busybox', command: ['sh', '-c', 'echo two >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        ],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'cat /work/order; sleep 1; touch /tmp-ready-$HOSTNAME; sleep 60'],
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
            // the marker file lives in the container's own root (a tmpfs), not on the host
            readinessProbe: { exec: { command: ['sh', '-c', 'test -f /work/order && grep -q two /work/order && test -f /tmp-ready-with-init'] }, periodSeconds: 1 },
          },
        ],
      },
    });
    const p = await waitFor('ready', async () => {
      const x = await getPod('with-init');
      return x?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? x : undefined;
    });
    expect(p.status?.initContainerStatuses?.map((c) => [c.name, c.state?.terminated?.reason])).toEqual([['first', 'Completed'], ['second', 'Completed']]);
    expect(p.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
    expect(readFileSync(`${t.stateDir}/logs/default_with-init_main.log`, 'utf8')).toBe('one\ntwo\n');
    expect(existsSync('/tmp-ready-with-init')).toBe(false);
    await t.kube.delete(apiPath('v1', 'pods', 'default', 'with-init'));
  });

  test('a failing liveness probe restarts the container', async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unhealthy', namespace: 'default' },
      spec: {
        nodeName: nodes[0],
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'main',
            image: 'busybox',
            // healthy for a second, then not
            command: ['sh', '-c', 'touch /alive; sleep 1; rm /alive; sleep 60'],
            livenessProbe: { exec: { command: ['test', '-f', '/alive'] }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
      },
    });
    const p = await waitFor('restarted', async () => {
      const x = await getPod('unhealthy');
      return (x?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? x : undefined;
    });
    expect(p.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(143);
    await t.kube.delete(apiPath('v1', 'pods', 'default', 'unhealthy'));
  });

  test('a startup probe holds readiness back until it passes', async () => {
    const ctl = join(t.stateDir, 'startup-ctl');
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'slow-start', namespace: 'default' },
      spec: {
        nodeName: nodes[1],
        terminationGracePeriodSeconds: 1,
        // started only when the test says so, through a hostPath file
        volumes: [{ name: 'ctl', hostPath: { path: ctl, type: 'DirectoryOrCreate' } }],
        containers: [
          {
            name: 'main',
            image: 'busybox',
            command: ['sh', '-c', 'until [ -f /ctl/go ]; do sleep 0.2; done; touch /started; sleep 60'],
            volumeMounts: [{ name: 'ctl', mountPath: '/ctl' }],
            startupProbe: { exec: { command: ['test', '-f', '/started'] }, periodSeconds: 1, failureThreshold: 300 },
          },
        ],
      },
    });
    const running = await podIn('slow-start', ['Running']);
    expect(running.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await new Promise((r) => setTimeout(r, 1500)); // a few failing startup probes
    expect((await getPod('slow-start'))?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    writeFileSync(join(ctl, 'go'), '');
    const ready = await waitFor('ready', async () => {
      const x = await getPod('slow-start');
      return x?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? x : undefined;
    });
    expect(ready.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    await t.kube.delete(apiPath('v1', 'pods', 'default', 'slow-start'));
  });

  test('a pod past activeDeadlineSeconds is stopped and Failed with DeadlineExceeded', async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), pod('deadline', nodes[0]!, ['sleep', '60'], { activeDeadlineSeconds: 1 }));
    const p = await podIn('deadline', ['Failed', 'Succeeded']);
    expect(p.status?.phase).toBe('Failed');
    expect(p.status?.reason).toBe('DeadlineExceeded');
    // stopped with SIGTERM, or never started when the deadline passed first on a busy machine
    const st = p.status?.containerStatuses?.[0]?.state;
    if (st?.terminated) expect(st.terminated.exitCode).toBe(143);
    else expect(st?.waiting).toBeDefined();
    await waitFor('no process of the pod', () => cgroupLeftovers([p.metadata!.uid!]).length === 0);
  });

  test('an activeDeadlineSeconds beyond the 24.8 days node timers hold leaves the pod running', async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), pod('far-deadline', nodes[0]!, ['sleep', '60'], { activeDeadlineSeconds: 30 * 86_400 }));
    await podIn('far-deadline', ['Running', 'Failed', 'Succeeded']);
    // a timer given more than 2^31-1 ms fires after 1 ms: give such a wrong deadline time to show
    await new Promise((r) => setTimeout(r, 1500));
    const p = await getPod('far-deadline');
    expect(p?.status?.reason).toBeUndefined();
    expect(p?.status?.phase).toBe('Running');
    await t.kube.delete(apiPath('v1', 'pods', 'default', 'far-deadline'));
    await waitFor('far-deadline gone', async () => (await getPod('far-deadline')) === undefined);
  });

  test('deleting a running pod stops its process and removes the object', async () => {
    const server = await podIn('server', ['Running']);
    const id = server.status!.containerStatuses![0]!.containerID!.replace('containerd://', '');
    await t.kube.delete(apiPath('v1', 'pods', 'default', 'server'));
    await waitFor('server gone', async () => (await getPod('server')) === undefined);
    expect(pidsOfContainer(id)).toEqual([]);
  });

  test('stop() leaves no namespace, veth, cgroup, bridge or process behind', async () => {
    const stateDir = t.stateDir;
    const uids = (await t.kube.list<V1Pod>(apiPath('v1', 'pods'))).items.map((p) => p.metadata!.uid!);
    expect(uids.length).toBeGreaterThan(0);
    for (const k of kubelets.splice(0)) await k.stop();
    // other dev clusters may run on this machine: look only for what this one created
    const mine = uids.map((u) => podNetNames(u));
    expect(listNetns().filter((n) => mine.some((m) => m.netns === n))).toEqual([]);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    for (const m of mine) expect(links).not.toContain(m.hostVeth);
    expect(listRecords(stateDir)).toEqual([]);
    expect(cgroupLeftovers(uids)).toEqual([]);
  });
});
