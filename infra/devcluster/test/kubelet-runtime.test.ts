// The kubelet's host side without the API: bridge + per-pod network namespaces, container
// processes in private mount namespaces and kubelet-named cgroups, volumes, termination messages.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  containerCgroupDirs,
  createCgroupDirs,
  hierarchies,
  kubepodsPath,
  qosClass,
  killAndRemoveCgroups,
} from '../kubelet/cgroups.js';
import { startContainerProcess } from '../kubelet/container-process.js';
import {
  createPodNetwork,
  deletePodNetwork,
  ensureClusterNetwork,
  listNetns,
  PodIpam,
  removeClusterNetwork,
  type ClusterNetwork,
} from '../kubelet/network.js';
import { listRecords } from '../kubelet/state-records.js';
import { cleanupStateDir } from '../kubelet/cleanup.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;

describe('cgroup naming', () => {
  test('QoS classes and kubelet cgroupfs paths', () => {
    expect(qosClass([{}])).toBe('BestEffort');
    expect(qosClass([{ resources: { requests: { cpu: '100m' } } }])).toBe('Burstable');
    expect(qosClass([{ resources: { limits: { cpu: '1', memory: '64Mi' } } }])).toBe('Guaranteed');
    expect(qosClass([{ resources: { limits: { cpu: '1' } } }])).toBe('Burstable');
    expect(kubepodsPath('BestEffort', 'u-1', 'abc')).toBe('kubepods/besteffort/podu-1/abc');
    expect(kubepodsPath('Guaranteed', 'u-1')).toBe('kubepods/podu-1');
  });
});

d('pods on a bridge (root)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'kubelet-rt-'));
  let net: ClusterNetwork;
  const suffix = randomBytes(4).toString('hex');
  const uids = [`a-${suffix}`, `b-${suffix}`];
  const pods: Array<{ netns: string; hostVeth: string; ip: string }> = [];

  beforeAll(async () => {
    net = await ensureClusterNetwork(stateDir);
    const ipamA = new PodIpam(net.octet, 1);
    const ipamB = new PodIpam(net.octet, 2);
    pods.push(await createPodNetwork(stateDir, net, uids[0]!, ipamA.allocate()));
    pods.push(await createPodNetwork(stateDir, net, uids[1]!, ipamB.allocate()));
  });

  afterAll(async () => {
    for (const p of pods) await deletePodNetwork(stateDir, p);
    if (net) await removeClusterNetwork(stateDir, net);
    await cleanupStateDir(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('two pods in their own namespaces on different node CIDRs ping each other', async () => {
    expect(pods[0]!.ip).toBe(`10.${net.octet}.1.2`);
    expect(pods[1]!.ip).toBe(`10.${net.octet}.2.2`);
    expect(listNetns()).toEqual(expect.arrayContaining([pods[0]!.netns, pods[1]!.netns]));
    const log = join(stateDir, 'ping.log');
    const c = await startContainerProcess({
      argv: ['ping', '-c', '3', '-i', '0.2', '-W', '2', pods[1]!.ip],
      env: {},
      netns: pods[0]!.netns,
      rootfs: { rootDir: mkRoot(stateDir, 'ping'), mounts: [], cgroupDirs: [] },
      logPath: log,
    });
    const exit = await c.exited;
    const out = readFileSync(log, 'utf8');
    expect(out).toContain('3 received');
    expect(exit).toEqual({ code: 0, signal: null });
  });

  test('container PID is in kubelet-named cgroups; hostPath, emptyDir and termination message', async () => {
    const hs = hierarchies();
    expect(hs.length).toBeGreaterThan(0);
    const containerId = randomBytes(32).toString('hex');
    const cg = containerCgroupDirs(hs, 'BestEffort', uids[0]!, containerId);
    createCgroupDirs(cg);
    const podDir = join(stateDir, 'pod-a');
    const empty = join(podDir, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'hello'), 'from the host side');
    const term = join(podDir, 'termination-log');
    writeFileSync(term, '');
    const log = join(podDir, 'c.log');
    const hostProcBefore = existsSync('/host/proc');
    try {
      const c = await startContainerProcess({
        argv: [
          'sh',
          '-c',
          'test -r /host/proc/1/stat && cat /data/hello && pwd && ! touch /host/proc/x 2>/dev/null && echo done-$$ > /dev/termination-log && sleep 30',
        ],
        env: { GREETING: 'hi' },
        workingDir: '/data/work',
        netns: pods[0]!.netns,
        rootfs: {
          rootDir: mkRoot(stateDir, 'c'),
          mounts: [
            { source: '/proc', target: '/host/proc', readOnly: true },
            { source: empty, target: '/data' },
            { source: term, target: '/dev/termination-log' },
          ],
          cgroupDirs: cg,
        },
        logPath: log,
      });
      // podtracer's way: scan /proc/*/cgroup for the container id
      let found: number[] = [];
      for (let i = 0; i < 100 && found.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        found = readdirSync('/proc')
          .filter((p) => /^\d+$/.test(p))
          .filter((p) => {
            try {
              return readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(containerId);
            } catch {
              return false;
            }
          })
          .map(Number);
      }
      expect(found).toContain(c.pid);
      // the container's own PID, not a wrapper: its net namespace is the pod's
      expect(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8')).toContain(`kubepods/besteffort/pod${uids[0]}/${containerId}`);
      for (let i = 0; i < 100 && !readFileSync(term, 'utf8'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(term, 'utf8').trim()).toBe(`done-${c.pid}`);
      expect(readFileSync(log, 'utf8')).toBe('from the host side/data/work\n'); // the file has no newline, pwd adds one
      // nothing this container wrote reached the host's own file system (the host may have a
      // /host/proc or /dev/termination-log of its own, e.g. after podtracer was run by hand)
      expect(existsSync('/host/proc')).toBe(hostProcBefore);
      expect(hostFileHolds('/dev/termination-log', `done-${c.pid}`)).toBe(false);
      expect(existsSync(join(empty, 'work'))).toBe(true); // the working dir lives in the emptyDir
      process.kill(c.pid, 'SIGKILL');
      expect((await c.exited).signal).toBe('SIGKILL');
    } finally {
      // the shell's child (sleep) is still in the cgroup: the kubelet's way of ending a container
      expect(await killAndRemoveCgroups(cg)).toBe(true);
    }
    expect(cg.some((p) => existsSync(p))).toBe(false);
  });

  test('everything created is recorded for crash cleanup', () => {
    const kinds = listRecords(stateDir).map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['bridge', 'netns', 'veth', 'reservation']));
  });
});

/** Whether a file on the host's own file system exists and contains `marker`. */
function hostFileHolds(path: string, marker: string): boolean {
  try {
    return readFileSync(path, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

function mkRoot(stateDir: string, name: string): string {
  const dir = join(stateDir, 'roots', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
