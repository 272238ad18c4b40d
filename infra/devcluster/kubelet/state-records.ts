// Everything the kubelet creates on the host (bridge, network namespaces, veths, cgroups,
// processes, nftables tables, address reservations) is recorded as one small JSON file under
// <stateDir>/kubelet/records before it is created, so a crashed run can be cleaned up by
// cleanupStateDir() from the records alone.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type HostRecord =
  | { kind: 'bridge'; name: string }
  | { kind: 'netns'; name: string }
  | { kind: 'veth'; name: string }
  | { kind: 'cgroup'; path: string }
  | { kind: 'process'; pid: number; startTime: string }
  | { kind: 'nft-table'; family: string; name: string; netns?: string }
  | { kind: 'reservation'; path: string }
  | { kind: 'mount-root'; path: string };

export function recordsDir(stateDir: string): string {
  return join(stateDir, 'kubelet', 'records');
}

function recordId(r: HostRecord): string {
  return `${r.kind}-${createHash('sha1').update(JSON.stringify(r)).digest('hex').slice(0, 16)}.json`;
}

export function addRecord(stateDir: string, r: HostRecord): void {
  const dir = recordsDir(stateDir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, recordId(r)), JSON.stringify(r));
}

export function removeRecord(stateDir: string, r: HostRecord): void {
  rmSync(join(recordsDir(stateDir), recordId(r)), { force: true });
}

export function listRecords(stateDir: string): HostRecord[] {
  let names: string[];
  try {
    names = readdirSync(recordsDir(stateDir));
  } catch {
    return [];
  }
  const out: HostRecord[] = [];
  for (const n of names) {
    try {
      out.push(JSON.parse(readFileSync(join(recordsDir(stateDir), n), 'utf8')) as HostRecord);
    } catch {
      // a half-written record from a crash: nothing was created after it, skip it
    }
  }
  return out;
}
