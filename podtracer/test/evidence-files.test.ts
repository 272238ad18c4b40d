// The files an evidence snapshot reads through the target's /proc entry belong to the target: a
// link in them must not lead podtracer to a file of its own container (its service account token),
// and a FIFO must not hold the snapshot up. A /proc-shaped tree stands for the target's entry.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOOL_POLICY } from '../../lib/tool-policy.js';
import { readTargetFile, takeSnapshot, type SnapshotTarget } from '../evidence.js';

let dir: string;
let secret: string;
const PID = 4242;
const target = (): SnapshotTarget => ({ procRoot: join(dir, 'proc'), pid: PID, policy: DEFAULT_TOOL_POLICY });
const rootOf = () => join(dir, 'proc', String(PID), 'root');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evidence-files-'));
  // a file of podtracer's own container that the target must not reach
  secret = join(dir, 'token');
  await writeFile(secret, 'capture-service-account-token');
  await mkdir(join(dir, 'proc', String(PID), 'net'), { recursive: true });
  await writeFile(join(dir, 'proc', String(PID), 'net', 'snmp'), 'Tcp: RtoAlgorithm\nTcp: 1\n');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('files read from the target', () => {
  test('a regular file is read', async () => {
    await mkdir(join(rootOf(), 'etc'), { recursive: true });
    await writeFile(join(rootOf(), 'etc', 'resolv.conf'), 'nameserver 10.96.0.10\n');
    expect(await readTargetFile(target(), 'root/etc/resolv.conf')).toBe('nameserver 10.96.0.10\n');
    expect(await readTargetFile(target(), 'net/snmp')).toBe('Tcp: RtoAlgorithm\nTcp: 1\n');
  });

  test('resolv.conf as a link to an absolute path is refused, not followed', async () => {
    await rm(join(rootOf(), 'etc'), { recursive: true, force: true });
    await mkdir(join(rootOf(), 'etc'), { recursive: true });
    await symlink(secret, join(rootOf(), 'etc', 'resolv.conf'));
    await expect(readTargetFile(target(), 'root/etc/resolv.conf')).rejects.toThrow(/ELOOP/);
    // and the snapshot records the failure without the secret
    const snap = await takeSnapshot(target());
    const src = snap.sources.resolvConf!;
    expect(src.status).toBe('failed');
    expect(JSON.stringify(snap)).not.toContain('capture-service-account-token');
  });

  test('/etc as a link is refused too', async () => {
    await rm(join(rootOf(), 'etc'), { recursive: true, force: true });
    await mkdir(join(dir, 'elsewhere'), { recursive: true });
    await writeFile(join(dir, 'elsewhere', 'resolv.conf'), 'capture-service-account-token');
    await symlink(join(dir, 'elsewhere'), join(rootOf(), 'etc'));
    await expect(readTargetFile(target(), 'root/etc/resolv.conf')).rejects.toThrow(/ENOTDIR|ELOOP/);
  });

  test('a FIFO is refused at once instead of blocking the snapshot', async () => {
    await rm(join(rootOf(), 'etc'), { recursive: true, force: true });
    await mkdir(join(rootOf(), 'etc'), { recursive: true });
    execFileSync('mkfifo', [join(rootOf(), 'etc', 'resolv.conf')]);
    await expect(readTargetFile(target(), 'root/etc/resolv.conf')).rejects.toThrow(/not a regular file/);
  });
});
