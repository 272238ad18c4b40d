// The real `snoopy-devcluster` executable: `up` runs pods (a Deployment applied with kubectl)
// and SIGTERM leaves no namespace, veth, bridge, cgroup or process behind; after a crash
// (SIGKILL) `down` removes what the crashed run left from its state dir records.
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { clusterNetworkFor, listNetns, podNetNames } from '../kubelet/network.js';
import { listRecords } from '../kubelet/state-records.js';
import { statFields } from '../../../lib/proc.js';
import { cgroupLeftovers, suffix, waitFor } from './kubelet-helpers.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

interface Up {
  proc: ChildProcess;
  stateDir: string;
  kubeconfig: string;
  exited: Promise<number | null>;
}

function up(nodes: string[]): Promise<Up> {
  return upIn(mkdtempSync(join(tmpdir(), 'devcluster-cli-')), nodes);
}

async function upIn(stateDir: string, nodes: string[]): Promise<Up> {
  const proc = spawn(process.execPath, [MAIN, 'up', '--nodes', nodes.join(','), '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const kubeconfig = await waitFor('kubeconfig path on stdout', () => (out.includes('\n') ? out.split('\n')[0] : undefined), 300).catch((e: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}; stderr: ${err}`);
  });
  return { proc, stateDir, kubeconfig, exited };
}

const kubectl = async (kubeconfig: string, ...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;

function kubectlApply(kubeconfig: string, manifest: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], (e, stdout, stderr) => (e ? reject(new Error(stderr || e.message)) : resolve(stdout)));
    c.stdin!.end(JSON.stringify(manifest));
  });
}

interface PodJson {
  metadata: { uid: string; name: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; containerStatuses?: Array<{ containerID?: string }> };
}

async function runningPods(kubeconfig: string, selector: string, n: number): Promise<PodJson[]> {
  return waitFor(`${n} running pods`, async () => {
    const items = (JSON.parse(await kubectl(kubeconfig, 'get', 'pods', '-l', selector, '-o', 'json')) as { items: PodJson[] }).items;
    return items.length === n && items.every((p) => p.status.phase === 'Running') ? items : undefined;
  }, 300);
}

function processesOf(uids: string[]): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        // an exited process its (re)parent has not reaped yet is no longer running
        if (statFields(readFileSync(`/proc/${p}/stat`, 'utf8'))[0] === 'Z') return false;
        const cg = readFileSync(`/proc/${p}/cgroup`, 'utf8');
        return uids.some((u) => cg.includes(`pod${u}`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function expectNothingLeft(stateDir: string, uids: string[], bridge: string): Promise<void> {
  const names = uids.map(podNetNames);
  expect(listNetns().filter((n) => names.some((m) => m.netns === n))).toEqual([]);
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  for (const m of names) expect(links).not.toContain(m.hostVeth);
  expect(links).not.toContain(`${bridge}:`);
  expect(cgroupLeftovers(uids)).toEqual([]);
  expect(processesOf(uids)).toEqual([]);
  expect(listRecords(stateDir)).toEqual([]);
}

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'sleeper', image: 'busybox', command: ['sh', '-c', 'sleep 300 & wait'] }] } },
  },
});

d('snoopy-devcluster executable', () => {
  const cleanup: Up[] = [];
  afterAll(async () => {
    for (const u of cleanup) {
      if (u.proc.exitCode === null) u.proc.kill('SIGKILL');
      await run(process.execPath, [MAIN, 'down', '--state-dir', u.stateDir]).catch(() => undefined);
      rmSync(u.stateDir, { recursive: true, force: true });
    }
  });

  test('up, kubectl apply a Deployment over two nodes, SIGTERM: nothing left behind', async () => {
    const s = suffix();
    const u = await up([`cli-a-${s}`, `cli-b-${s}`]);
    cleanup.push(u);
    const bridge = clusterNetworkFor((JSON.parse(readFileSync(join(u.stateDir, 'kubelet', 'network.json'), 'utf8')) as { octet: number }).octet).bridge;
    expect(await kubectlApply(u.kubeconfig, deployment('sleepers', 2))).toContain('deployment.apps/sleepers created');
    const pods = await runningPods(u.kubeconfig, 'app=sleepers', 2);
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(2);
    const uids = pods.map((p) => p.metadata.uid);
    await waitFor('sh and its sleep in each pod', () => processesOf(uids).length >= 4);
    expect(listNetns()).toEqual(expect.arrayContaining(uids.map((x) => podNetNames(x).netns)));
    u.proc.kill('SIGTERM');
    expect(await u.exited).toBe(0);
    await expectNothingLeft(u.stateDir, uids, bridge);
    expect(existsSync(join(u.stateDir, 'kubelet', 'network.json'))).toBe(false);
  });

  test('after a crash (SIGKILL) `down` removes the pods, namespaces, bridge and cgroups', async () => {
    const s = suffix();
    const u = await up([`crash-${s}`]);
    cleanup.push(u);
    const bridge = clusterNetworkFor((JSON.parse(readFileSync(join(u.stateDir, 'kubelet', 'network.json'), 'utf8')) as { octet: number }).octet).bridge;
    await kubectlApply(u.kubeconfig, deployment('orphans', 1));
    const uids = (await runningPods(u.kubeconfig, 'app=orphans', 1)).map((p) => p.metadata.uid);
    u.proc.kill('SIGKILL');
    await u.exited;
    // the crash left the pod running
    expect(processesOf(uids).length).toBeGreaterThan(0);
    const { stdout } = await run(process.execPath, [MAIN, 'down', '--state-dir', u.stateDir]);
    expect(stdout).toMatch(/^cleaned .* \(\d+ leftovers removed\)\n$/);
    await expectNothingLeft(u.stateDir, uids, bridge);
  });

  test('`up` again on a crashed run\'s state dir first removes what the crash left', async () => {
    const s = suffix();
    const first = await up([`again-${s}`]);
    cleanup.push(first);
    await kubectlApply(first.kubeconfig, deployment('leftover', 1));
    const uids = (await runningPods(first.kubeconfig, 'app=leftover', 1)).map((p) => p.metadata.uid);
    first.proc.kill('SIGKILL');
    await first.exited;
    expect(processesOf(uids).length).toBeGreaterThan(0);
    const second = await upIn(first.stateDir, [`again-${s}`]);
    cleanup.push(second);
    expect(processesOf(uids)).toEqual([]);
    expect(listNetns().filter((n) => uids.some((x) => podNetNames(x).netns === n))).toEqual([]);
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(listRecords(first.stateDir)).toEqual([]);
  });
});
