// The target found the way it is in a cluster: the pod read from a Kubernetes API (the dev
// cluster's API server), its containerID stripped of the runtime prefix, and the process found by
// scanning /proc for a real cgroup that names that ID. Two containers of one pod live in two
// different network namespaces, so the tool's output shows which one was entered.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startApiServerWithKubeconfig, type ApiServerWithKubeconfig } from '../../infra/devcluster/harness.js';
import { quiet } from '../../lib/testing/quiet-logger.js';
import { TargetNetns, runPodtracer, run, startPodtracer, suffix, waitFor, waitForLog } from './helpers.js';

const CGROUP_HIERARCHY = '/sys/fs/cgroup/pids';

let net: TargetNetns;
let api: ApiServerWithKubeconfig;
let work: string;
let sidecarPid: number;
const appId = randomBytes(32).toString('hex');
const sidecarId = randomBytes(32).toString('hex');
const podUid = `${suffix()}${suffix()}-0000-4000-8000-000000000000`;
const cgroupBase = join(CGROUP_HIERARCHY, `snoopy-podtracer-test-${suffix()}`);
const podDir = join(cgroupBase, `pod${podUid}`);

async function inOtherNetns(pid: number): Promise<boolean> {
  try {
    const theirs = (await run('readlink', [`/proc/${pid}/ns/net`])).stdout.trim();
    return theirs !== (await run('readlink', ['/proc/self/ns/net'])).stdout.trim();
  } catch {
    return false;
  }
}

function placeInCgroup(pid: number, containerId: string): void {
  const dir = join(podDir, containerId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), String(pid));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'podtracer-kube-'));
  net = new TargetNetns('kube');
  await net.create();
  const sidecar = net.spawnIn('b', ['sleep', '600']);
  sidecarPid = sidecar.pid!;
  await waitFor(() => inOtherNetns(sidecarPid), 'the sidecar to enter its namespace');
  placeInCgroup(net.targetPid, appId);
  placeInCgroup(sidecarPid, sidecarId);

  api = await startApiServerWithKubeconfig('podtracer-kube-api-', quiet);
  const core = api.kc.makeApiClient(CoreV1Api);
  const pod: V1Pod = {
    metadata: { name: 'web-0', namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'app:1' }, { name: 'sidecar', image: 'proxy:1' }] },
  };
  const created = await core.createNamespacedPod({ namespace: 'default', body: pod });
  const status = (name: string, id: string) => ({
    name, containerID: `containerd://${id}`, image: 'x', imageID: 'x', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } },
  });
  await core.replaceNamespacedPodStatus({
    name: 'web-0',
    namespace: 'default',
    body: { ...created, status: { phase: 'Running', containerStatuses: [status('sidecar', sidecarId), status('app', appId)] } },
  });
});

afterAll(async () => {
  await net?.destroy();
  await api?.stop();
  // the cgroups can go once their processes are gone
  for (const id of [appId, sidecarId]) {
    const dir = join(podDir, id);
    await waitFor(() => !existsSync(dir) || readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() === '', 'cgroup to empty', 10_000).catch(() => undefined);
    if (existsSync(dir)) rmdirSync(dir);
  }
  for (const dir of [podDir, cgroupBase]) if (existsSync(dir)) rmdirSync(dir);
  if (work) await rm(work, { recursive: true, force: true });
});

function lookup(extra: string[]): Promise<Awaited<ReturnType<typeof runPodtracer>>> {
  const term = join(work, `${suffix()}.json`);
  return runPodtracer(['run', '--pod', 'web-0', '-n', 'default', '--proc-root', '/proc', '--output-dir', join(work, suffix()), ...extra], {
    terminationLog: term,
    env: { KUBECONFIG: api.kubeconfigPath },
  });
}

describe('target lookup through the Kubernetes API', () => {
  test('the first container of the pod by default: its namespace is entered', async () => {
    const r = await lookup(['--', 'ip', '-o', 'link', 'show']);
    expect(r.code).toBe(0);
    const s = r.summary!;
    expect(s.pid).toBe(net.targetPid);
    expect(s.container).toBe('app');
    const out = readFileSync(String((s.objects as string[])[0]), 'utf8');
    expect(out).toContain(net.vethA);
    expect(out).not.toContain(net.vethB);
  });

  test('--container selects another container of the pod', async () => {
    const r = await lookup(['--container', 'sidecar', '--', 'ip', '-o', 'link', 'show']);
    expect(r.code).toBe(0);
    expect(r.summary!.pid).toBe(sidecarPid);
    const out = readFileSync(String((r.summary!.objects as string[])[0]), 'utf8');
    expect(out).toContain(net.vethB);
    expect(out).not.toContain(net.vethA);
  });

  test('an unknown container or pod: exit 3 with a clear reason', async () => {
    const r = await lookup(['--container', 'db', '--', 'ip', 'link']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('podtracer: pod default/web-0 has no container "db" (containers: app, sidecar)\n');
    const gone = await runPodtracer(['run', '--pod', 'nope', '-n', 'default', '--output-dir', join(work, 'x'), '--', 'ip', 'link'], {
      env: { KUBECONFIG: api.kubeconfigPath },
      terminationLog: join(work, 'nope.json'),
    });
    expect(gone.code).toBe(3);
    expect(gone.stderr).toBe('podtracer: pod default/nope not found\n');
  });
});

describe('the target pod deleted while the capture runs', () => {
  // last in this file: it deletes the veth the tests above look at
  test('the pod gone from the API, then its interface: target-gone, exit 0, though the process lives on', async () => {
    const core = api.kc.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'web-1', namespace: 'default' }, spec: { containers: [{ name: 'proxy', image: 'proxy:1' }] } } });
    await core.replaceNamespacedPodStatus({
      name: 'web-1',
      namespace: 'default',
      body: { ...created, status: { phase: 'Running', containerStatuses: [{ name: 'proxy', containerID: `containerd://${sidecarId}`, image: 'x', imageID: 'x', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } } }] } },
    });
    const term = join(work, 'deleted.json');
    // the periodic check would see nothing anyway (the process lives): only the API can tell
    const p = startPodtracer(
      ['run', '--pod', 'web-1', '-n', 'default', '--proc-root', '/proc', '--output-dir', join(work, 'deleted'), '--target-poll', '24d', '--', 'tcpdump', '-i', net.vethB, '-U', '-n', '-w', '-'],
      { terminationLog: term, env: { KUBECONFIG: api.kubeconfigPath } },
    );
    await waitForLog(p, 'listening on');
    await core.deleteNamespacedPod({ namespace: 'default', name: 'web-1' });
    await net.removeVeth();
    const r = await p.result;
    expect(r.stderr).toContain('The interface disappeared');
    expect(r.summary).toMatchObject({ pid: sidecarPid, toolExitCode: 1, stopReason: 'target-gone', exitCode: 0 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/"why":"pod default\/web-1 (not found|is being deleted)"/);
  });
});
