// Removes everything a dev cluster's kubelets recorded in the state dir: processes (and whatever
// is still in their cgroups), cgroups, network namespaces, veths, nftables tables, the bridge and
// the /16 reservation. Used by `snoopy-devcluster down` after a crash and by stop() as a last sweep.
import { readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cgroupPids, removeCgroupDirs, signalCgroups } from './cgroups.js';
import { tryRun } from './host-exec.js';
import { listRecords, recordsDir, removeRecord, type HostRecord } from './state-records.js';
import { forgetClusterNetwork } from './network.js';
import { processStartTime } from '../../../lib/proc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function cleanupStateDir(dir: string): Promise<{ removed: number }> {
  const stateDir = resolve(dir);
  const records = listRecords(stateDir);
  const of = <K extends HostRecord['kind']>(k: K) => records.filter((r): r is Extract<HostRecord, { kind: K }> => r.kind === k);
  const cgroups = of('cgroup').map((r) => r.path);

  // processes first: recorded PIDs (still the same process) and everything in recorded cgroups
  for (const p of of('process')) {
    if (processStartTime(p.pid) === p.startTime) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (let i = 0; i < 50; i++) {
    if (signalCgroups(cgroups, 'SIGKILL') === 0) break;
    await sleep(100);
  }
  removeCgroupDirs(cgroups);
  for (const r of of('nft-table')) {
    const argv = ['delete', 'table', r.family, r.name];
    await tryRun(r.netns ? 'ip' : 'nft', r.netns ? ['netns', 'exec', r.netns, 'nft', ...argv] : argv);
  }
  for (const r of of('veth')) await tryRun('ip', ['link', 'del', r.name]);
  for (const r of of('netns')) await tryRun('ip', ['netns', 'del', r.name]);
  for (const r of of('bridge')) await tryRun('ip', ['link', 'del', r.name]);
  for (const r of of('reservation')) {
    try {
      if (readFileSync(r.path, 'utf8') === stateDir) rmSync(r.path, { force: true });
    } catch {
      // gone
    }
  }
  for (const r of of('mount-root')) {
    try {
      rmdirSync(r.path);
    } catch {
      // gone or (briefly) still a mount point of an exiting process
    }
  }
  for (const r of records) {
    // a cgroup that could not be removed (a process survived SIGKILL) stays recorded
    if (r.kind === 'cgroup' && cgroupPids(r.path).length > 0) continue;
    removeRecord(stateDir, r);
  }
  rmSync(join(stateDir, 'kubelet', 'network.json'), { force: true });
  forgetClusterNetwork(stateDir);
  try {
    rmdirSync(recordsDir(stateDir));
  } catch {
    // records left
  }
  return { removed: records.length };
}
