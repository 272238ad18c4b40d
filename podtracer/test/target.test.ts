// PID resolution against proc trees written by the test: containerd, CRI-O and Docker IDs,
// cgroup v1 and v2, cgroupfs and systemd drivers, several containers per pod; the crictl fallback.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetError, cgroupNamesContainer, containerFromPod, findContainerPid, findCrictl, normalizeContainerId, resolveContainerPid } from '../target.js';

const hex = () => randomBytes(32).toString('hex');
const POD_UID = '0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9';
const UID_ = POD_UID.replace(/-/g, '_');

/** cgroup file text for a process of container `id`, per runtime/driver/version. */
const SHAPES: Record<string, (id: string) => string> = {
  'containerd cgroupfs v1': (id) =>
    `12:memory:/kubepods/besteffort/pod${POD_UID}/${id}\n11:cpu,cpuacct:/kubepods/besteffort/pod${POD_UID}/${id}\n1:name=systemd:/kubepods/besteffort/pod${POD_UID}/${id}\n`,
  'containerd systemd v1': (id) =>
    `10:pids:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${id}.scope\n1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${id}.scope\n`,
  'containerd systemd v2': (id) =>
    `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${id}.scope\n`,
  'containerd systemd v1 seen from a nested namespace': (id) =>
    `3:cpu:/system.slice/containerd.service/kubepods-besteffort-pod${UID_}.slice:cri-containerd:${id}\n`,
  'containerd cgroupfs v2': (id) => `0::/kubepods/burstable/pod${POD_UID}/${id}\n`,
  'cri-o systemd v1': (id) =>
    `9:devices:/kubepods.slice/kubepods-pod${UID_}.slice/crio-${id}.scope\n1:name=systemd:/kubepods.slice/kubepods-pod${UID_}.slice/crio-${id}.scope\n`,
  'cri-o systemd v2 (nested container cgroup)': (id) =>
    `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${id}.scope/container\n`,
  'cri-o cgroupfs v1': (id) => `4:memory:/kubepods/pod${POD_UID}/crio-${id}\n`,
  'docker cgroupfs v1 (kubelet)': (id) => `8:blkio:/kubepods/besteffort/pod${POD_UID}/${id}\n`,
  'docker plain v1': (id) => `5:cpuset:/docker/${id}\n1:name=systemd:/docker/${id}\n`,
  'docker systemd v2': (id) => `0::/system.slice/docker-${id}.scope\n`,
};

let root: string;

async function proc(pid: number, cgroup: string, ppid?: number): Promise<void> {
  const dir = join(root, String(pid));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'cgroup'), cgroup);
  if (ppid !== undefined) await writeFile(join(dir, 'stat'), `${pid} (some (odd) name) S ${ppid} ${pid} ${pid} 0 -1 4194560\n`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'podtracer-proc-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('container IDs', () => {
  test.each([
    ['containerd://ABCDEF0123456789', 'abcdef0123456789'],
    ['cri-o://abcdef0123456789', 'abcdef0123456789'],
    ['docker://abcdef0123456789', 'abcdef0123456789'],
    ['abcdef0123456789', 'abcdef0123456789'],
  ])('%s → %s', (raw, id) => expect(normalizeContainerId(raw)).toBe(id));
  test.each(['', 'containerd://', 'containerd://../../etc', 'docker://xyz', 'abc'])('%j is refused', (raw) => {
    expect(() => normalizeContainerId(raw)).toThrow(TargetError);
  });
  test('CRI-O conmon and other containers do not match', () => {
    const id = hex();
    expect(cgroupNamesContainer(`0::/kubepods.slice/crio-conmon-${id}.scope\n`, id)).toBe(false);
    expect(cgroupNamesContainer(`4:memory:/kubepods/pod${POD_UID}/crio-conmon-${id}\n`, id)).toBe(false);
    expect(cgroupNamesContainer(`0::/kubepods/pod${POD_UID}/${hex()}\n`, id)).toBe(false);
    expect(cgroupNamesContainer(`0::/kubepods/pod${POD_UID}/${id}x\n`, id)).toBe(false);
    expect(cgroupNamesContainer('garbage', id)).toBe(false);
  });
});

describe('finding the container init in a proc tree', () => {
  // every shape: a pod with two containers (app + sidecar), each with an init and a child, plus
  // unrelated processes; the init of the asked container must be found
  test.each(Object.keys(SHAPES))('%s', async (shape) => {
    const make = SHAPES[shape]!;
    const base = 1000 + Object.keys(SHAPES).indexOf(shape) * 100;
    const app = hex();
    const sidecar = hex();
    await proc(1, '0::/init.scope\n', 0);
    await proc(base + 1, make(sidecar), 1); // sidecar init, a lower PID than the app's
    await proc(base + 5, make(app), 1); // app init
    await proc(base + 3, make(app), base + 5); // app child with a lower PID than its parent
    await proc(base + 7, make(sidecar), base + 1);
    await proc(base + 9, '0::/system.slice/sshd.service\n', 1);
    expect(await findContainerPid(root, `containerd://${app}`)).toBe(base + 5);
    expect(await findContainerPid(root, `cri-o://${sidecar}`)).toBe(base + 1);
    expect(await findContainerPid(root, `docker://${hex()}`)).toBeUndefined();
  });

  test('without stat files the lowest PID wins; unreadable entries are skipped', async () => {
    const id = hex();
    await proc(9001, `0::/kubepods/pod${POD_UID}/${id}\n`);
    await proc(9000, `0::/kubepods/pod${POD_UID}/${id}\n`);
    await mkdir(join(root, '9002')); // a process that vanished: no cgroup file
    await mkdir(join(root, 'self'), { recursive: true });
    expect(await findContainerPid(root, id)).toBe(9000);
  });

  test('a missing proc root is a TargetError', async () => {
    await expect(findContainerPid(join(root, 'nope'), hex())).rejects.toThrow(TargetError);
  });
});

describe('picking the container from the pod', () => {
  const pod = {
    metadata: { uid: POD_UID },
    spec: { nodeName: 'node-a', containers: [{ name: 'app' }, { name: 'sidecar' }] },
    status: {
      containerStatuses: [
        { name: 'sidecar', containerID: 'containerd://bbbbbbbbbbbbbbbb' },
        { name: 'app', containerID: 'containerd://aaaaaaaaaaaaaaaa' },
      ],
    },
  };
  test('the first container of the spec by default, any by name', () => {
    expect(containerFromPod(pod, 'ns/web')).toEqual({ containerId: 'containerd://aaaaaaaaaaaaaaaa', container: 'app', podUid: POD_UID, node: 'node-a' });
    expect(containerFromPod(pod, 'ns/web', 'sidecar').containerId).toBe('containerd://bbbbbbbbbbbbbbbb');
  });
  test('unknown or not yet running containers are clear errors', () => {
    expect(() => containerFromPod(pod, 'ns/web', 'db')).toThrow('pod ns/web has no container "db" (containers: app, sidecar)');
    const pending = { ...pod, status: { containerStatuses: [{ name: 'app' }] } };
    expect(() => containerFromPod(pending, 'ns/web')).toThrow(/not running yet/);
  });
});

// No container runtime runs here, so `crictl` is a stand-in script on PATH that answers
// `crictl inspect ID` the way crictl does (JSON with info.pid) for one known container only.
describe('the crictl fallback', () => {
  const known = hex();
  let bin: string;
  let savedPath: string | undefined;
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'podtracer-crictl-'));
    const script = `#!/bin/sh\n[ "$1" = inspect ] && [ "$2" = "${known}" ] || { echo "container not found" >&2; exit 1; }\necho '{"status":{"id":"${known}"},"info":{"pid":4242}}'\n`;
    await writeFile(join(bin, 'crictl'), script, { mode: 0o755 });
    savedPath = process.env.PATH;
  });
  const restorePath = () => {
    if (savedPath === undefined) delete process.env.PATH;
    else process.env.PATH = savedPath;
  };
  afterAll(async () => {
    restorePath();
    await rm(bin, { recursive: true, force: true });
  });

  test('a container the cgroup scan cannot find is asked of the CRI', async () => {
    const empty = await mkdtemp(join(root, 'empty-'));
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    expect(findCrictl()).toBe(join(bin, 'crictl'));
    await expect(resolveContainerPid(empty, `containerd://${known}`)).resolves.toBe(4242);
    await expect(resolveContainerPid(empty, `cri-o://${hex()}`)).rejects.toThrow(/no process of container/);
  });

  test('without crictl, the cgroup scan alone decides', async () => {
    const empty = await mkdtemp(join(root, 'empty-'));
    process.env.PATH = '/nonexistent';
    expect(findCrictl()).toBeUndefined();
    await expect(resolveContainerPid(empty, `containerd://${known}`)).rejects.toBeInstanceOf(TargetError);
    restorePath();
  });
});
