// Pod networking for the dev cluster: one Linux bridge per dev cluster, a network namespace per
// pod with a veth whose host end is enslaved to the bridge. Every pod of the cluster sits in one
// /16 (10.<o2>.0.0/16) on that bridge, so pods on different "nodes" reach each other directly at
// layer 2; each node hands out addresses from its own /24 (its spec.podCIDR). The /16 is reserved
// host-wide (a file under /run) so dev clusters running side by side never share addresses.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tryRun } from './host-exec.js';
import { addRecord, removeRecord } from './state-records.js';

export const RESERVATION_DIR = '/run/snoopy-devcluster';
const FIRST_OCTET = 10;
const FIRST_SECOND_OCTET = 200;
const CLUSTERS = 50;

export interface ClusterNetwork {
  /** second octet of the cluster's 10.<o2>.0.0/16 */
  octet: number;
  bridge: string;
  /** the bridge's address: every pod's default gateway */
  gateway: string;
  prefix: 16;
  /** ClusterIPs for Services come from 10.<o2>.255.0/24 */
  serviceCidr: string;
}

export function clusterNetworkFor(octet: number): ClusterNetwork {
  return {
    octet,
    bridge: `snpbr-${FIRST_OCTET}-${octet}`,
    gateway: `${FIRST_OCTET}.${octet}.0.1`,
    prefix: 16,
    serviceCidr: `${FIRST_OCTET}.${octet}.255.0/24`,
  };
}

/** Node n (1..254) gets 10.<o2>.<n>.0/24. */
export function nodePodCidr(net: ClusterNetwork, nodeIndex: number): string {
  return `${FIRST_OCTET}.${net.octet}.${nodeIndex}.0/24`;
}

/** Parses "10.<o2>.<n>.0/24" into its second and third octets. */
export function parsePodCidr(cidr: string): { octet: number; nodeIndex: number } {
  const m = /^10\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(cidr);
  if (!m || Number(m[1]) > 255 || Number(m[2]) < 1 || Number(m[2]) > 254) {
    throw new Error(`pod CIDR "${cidr}" must be 10.X.N.0/24 with N in 1..254`);
  }
  return { octet: Number(m[1]), nodeIndex: Number(m[2]) };
}

/** Host-safe, unique-enough names for a pod's namespace and host-side veth (≤ 15 chars). */
export function podNetNames(podUid: string): { netns: string; hostVeth: string } {
  const h = createHash('sha1').update(podUid).digest('hex');
  return { netns: `snp-${h.slice(0, 10)}`, hostVeth: `snpv${h.slice(0, 10)}` };
}

function reservationPath(octet: number): string {
  return join(RESERVATION_DIR, `net-${FIRST_OCTET}.${octet}`);
}

function tryReserve(octet: number, stateDir: string): boolean {
  const path = reservationPath(octet);
  try {
    writeFileSync(path, stateDir, { flag: 'wx' });
    return true;
  } catch {
    // a reservation whose dev cluster's state dir is gone is stale (crash without `down`)
    try {
      const owner = readFileSync(path, 'utf8');
      if (owner === stateDir) return true;
      if (!existsSync(owner)) {
        rmSync(path, { force: true });
        writeFileSync(path, stateDir, { flag: 'wx' });
        return true;
      }
    } catch {
      // raced with another cluster; try the next /16
    }
    return false;
  }
}

const inProcess = new Map<string, Promise<ClusterNetwork>>();

/**
 * The dev cluster's network (shared by every kubelet of one state dir): reserves a /16 host-wide,
 * creates the bridge. `wantOctet` pins the /16 (from a pod CIDR the caller chose).
 */
export function ensureClusterNetwork(stateDir: string, wantOctet?: number): Promise<ClusterNetwork> {
  const cached = inProcess.get(stateDir);
  if (cached) return cached;
  const p = (async () => {
    const file = join(stateDir, 'kubelet', 'network.json');
    let octet: number | undefined;
    if (existsSync(file)) octet = (JSON.parse(readFileSync(file, 'utf8')) as { octet: number }).octet;
    mkdirSync(RESERVATION_DIR, { recursive: true });
    if (octet === undefined && wantOctet !== undefined) {
      if (!tryReserve(wantOctet, stateDir)) throw new Error(`10.${wantOctet}.0.0/16 is used by another dev cluster`);
      octet = wantOctet;
    }
    for (let i = 0; octet === undefined && i < CLUSTERS; i++) {
      if (tryReserve(FIRST_SECOND_OCTET + i, stateDir)) octet = FIRST_SECOND_OCTET + i;
    }
    if (octet === undefined) throw new Error(`no free /16 for a dev cluster network (${CLUSTERS} in use)`);
    addRecord(stateDir, { kind: 'reservation', path: reservationPath(octet) });
    mkdirSync(join(stateDir, 'kubelet'), { recursive: true });
    writeFileSync(file, JSON.stringify({ octet }));
    const net = clusterNetworkFor(octet);
    addRecord(stateDir, { kind: 'bridge', name: net.bridge });
    if (!(await tryRun('ip', ['link', 'show', net.bridge]))) {
      await run('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
    }
    await tryRun('ip', ['addr', 'add', `${net.gateway}/${net.prefix}`, 'dev', net.bridge]);
    await run('ip', ['link', 'set', net.bridge, 'up']);
    return net;
  })();
  inProcess.set(stateDir, p);
  p.catch(() => inProcess.delete(stateDir));
  return p;
}

/** Forgets the in-process cache (after the bridge was removed). */
export function forgetClusterNetwork(stateDir: string): void {
  inProcess.delete(stateDir);
}

export async function removeClusterNetwork(stateDir: string, net: ClusterNetwork): Promise<void> {
  await tryRun('ip', ['link', 'del', net.bridge]);
  removeRecord(stateDir, { kind: 'bridge', name: net.bridge });
  const res = reservationPath(net.octet);
  try {
    if (readFileSync(res, 'utf8') === stateDir) rmSync(res, { force: true });
  } catch {
    // already gone
  }
  removeRecord(stateDir, { kind: 'reservation', path: res });
  rmSync(join(stateDir, 'kubelet', 'network.json'), { force: true });
  forgetClusterNetwork(stateDir);
}

/**
 * Hands out pod addresses of one node's /24 (.2 .. .254), round robin: an address just released
 * is reused last, because neighbours (the host, other pods) still cache its old MAC address.
 */
export class PodIpam {
  private readonly used = new Set<number>();
  private last = 1;
  constructor(readonly octet: number, readonly nodeIndex: number) {}
  allocate(): string {
    for (let i = 0; i < 253; i++) {
      const host = ((this.last - 2 + 1 + i) % 253) + 2;
      if (!this.used.has(host)) {
        this.used.add(host);
        this.last = host;
        return `${FIRST_OCTET}.${this.octet}.${this.nodeIndex}.${host}`;
      }
    }
    throw new Error(`node pod CIDR 10.${this.octet}.${this.nodeIndex}.0/24 is full`);
  }
  release(ip: string): void {
    this.used.delete(Number(ip.split('.')[3]));
  }
}

export interface PodNetwork {
  netns: string;
  hostVeth: string;
  ip: string;
}

export async function createPodNetwork(stateDir: string, net: ClusterNetwork, podUid: string, ip: string): Promise<PodNetwork> {
  const { netns, hostVeth } = podNetNames(podUid);
  addRecord(stateDir, { kind: 'netns', name: netns });
  addRecord(stateDir, { kind: 'veth', name: hostVeth });
  // a leftover from an earlier attempt for the same pod
  await tryRun('ip', ['link', 'del', hostVeth]);
  await tryRun('ip', ['netns', 'del', netns]);
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await run('ip', ['link', 'set', hostVeth, 'master', net.bridge, 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', netns, 'addr', 'add', `${ip}/${net.prefix}`, 'dev', 'eth0']);
  await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', net.gateway]);
  // the host may still cache an earlier pod's MAC address for this IP
  await tryRun('ip', ['neigh', 'del', ip, 'dev', net.bridge]);
  return { netns, hostVeth, ip };
}

export async function deletePodNetwork(stateDir: string, pn: { netns: string; hostVeth: string }): Promise<void> {
  await tryRun('ip', ['link', 'del', pn.hostVeth]);
  await tryRun('ip', ['netns', 'del', pn.netns]);
  removeRecord(stateDir, { kind: 'veth', name: pn.hostVeth });
  removeRecord(stateDir, { kind: 'netns', name: pn.netns });
}

/** Names of the network namespaces that exist now (for tests and cleanup checks). */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}
