// The evidence snapshots end to end (--evidence on, --output-dir): the real podtracer, real tools in
// a real network namespace. During the capture the test makes three things happen a known number
// of times in the target's namespace — packets dropped by an nft DROP rule, SYNs dropped by a full
// listen queue, packets lost to tc netem — and the evidence's deltas must count exactly those (the
// namespaces are the test's own: no other traffic reaches them). Then the bad cases: the target's
// namespace gone before the second snapshot, and tools missing from PATH.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startCollectorChild } from '../../functions/collector/child.js';
import { startS3Server } from '../../infra/s3/child.js';
import type { Evidence } from '../../lib/evidence/schema.js';
import { TargetNetns, countPackets, run, startPodtracer, suffix, waitFor, waitForLog } from './helpers.js';

let net: TargetNetns;
let work: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  net = new TargetNetns('evd');
  await net.create();
  work = await mkdtemp(join(tmpdir(), 'podtracer-evidence-'));
  // both neighbours permanent: no ARP, whose packets netem would drop too and the counts would blur
  const mac = async (ns: string, dev: string) =>
    (JSON.parse((await run('ip', ['-n', ns, '-j', 'link', 'show', dev])).stdout) as Array<{ address: string }>)[0]!.address;
  await run('ip', ['-n', net.a, 'neigh', 'replace', net.ipB, 'lladdr', await mac(net.b, net.vethB), 'dev', net.vethA, 'nud', 'permanent']);
  await run('ip', ['-n', net.b, 'neigh', 'replace', net.ipA, 'lladdr', await mac(net.a, net.vethA), 'dev', net.vethB, 'nud', 'permanent']);
});

afterAll(async () => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await net?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

function base(out: string, pid: number, extra: string[] = []): string[] {
  return ['run', '--pod', 'web-0', '--namespace', 'shop', '--pid', String(pid), '--output-dir', out, '--evidence', 'on', ...extra];
}

async function readEvidence(out: string): Promise<Evidence> {
  return JSON.parse(await readFile(join(out, 'evidence.json'), 'utf8')) as Evidence;
}

/**
 * A listener in namespace A with a backlog of 0 that never accepts: one connection fills it. It
 * runs in a PID namespace of its own, as a pod's processes do, where it is PID 1 (it dies with
 * unshare, --kill-child).
 */
async function fullListener(port: number): Promise<void> {
  const script = [
    'import socket, sys, time',
    's = socket.socket()',
    `s.bind(("${net.ipA}", ${port}))`,
    's.listen(0)',
    'print("listening", flush=True)',
    'time.sleep(600)',
  ].join('\n');
  const p = spawn('ip', ['netns', 'exec', net.a, 'unshare', '--pid', '--fork', '--kill-child', '/usr/bin/python3', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(p);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('listening'), 'the listener');
}

const hostSysctl = async (key: string) => (await run('sysctl', ['-n', key])).stdout.trim();

/** Node in namespace B: `count` connections to A:port at once, each until it is established or fails. */
function connectFromB(port: number, count: number, keep: boolean): ChildProcess {
  const script = `
    const net = require('node:net');
    let left = ${count};
    for (let i = 0; i < ${count}; i++) {
      const s = net.connect(${port}, '${net.ipA}');
      s.on('connect', () => { console.log('connected'); if (!${keep}) s.destroy(); });
      s.on('error', (e) => { console.log('error ' + e.code); if (--left === 0 && !${keep}) process.exit(0); });
    }`;
  const p = spawn('ip', ['netns', 'exec', net.b, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(p);
  return p;
}

/** Whether the kernel has sch_netem (a throwaway namespace tries it). */
async function netemAvailable(): Promise<boolean> {
  const ns = `evd-netem-${suffix()}`;
  await run('ip', ['netns', 'add', ns]);
  try {
    await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'loss', '100%']);
    return true;
  } catch {
    return false;
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}

/** A node script that sends `count` UDP datagrams to ip:port and exits once all were handed over. */
function sendUdpTo(ip: string, port: number, count: number): string {
  return `const s = require('node:dgram').createSocket('udp4'); let n = 0;
    for (let i = 0; i < ${count}; i++) s.send('x', ${port}, '${ip}', () => { if (++n === ${count}) s.close(); });`;
}
const sendUdp = (ip: string, count: number) => sendUdpTo(ip, 9, count);

describe('evidence of a capture', () => {
  test('the deltas count the DROP rule, the listen-queue overflow and the qdisc loss of the capture exactly', async () => {
    const out = join(work, 'counts');
    const term = join(work, 'counts.json');
    // the DROP rule is there before the capture; its counter moves only during it
    await run('ip', ['netns', 'exec', net.a, 'nft', 'add table inet evd']);
    await run('ip', ['netns', 'exec', net.a, 'nft', "add chain inet evd input { type filter hook input priority 0 ; }"]);
    await run('ip', ['netns', 'exec', net.a, 'nft', `add rule inet evd input ip daddr ${net.ipA} icmp type echo-request counter drop`]);
    // and an iptables rule (Debian's iptables: the nf_tables backend) dropping UDP to the pod's port 7
    await run('ip', ['netns', 'exec', net.a, 'iptables', '-A', 'INPUT', '-d', `${net.ipA}/32`, '-p', 'udp', '--dport', '7', '-j', 'DROP']);
    // few SYN retransmits from B, so a refused connect fails within seconds
    await run('ip', ['netns', 'exec', net.b, 'sysctl', '-qw', 'net.ipv4.tcp_syn_retries=1']);
    await fullListener(8080);
    // the target's own settings, none of them the host's: the evidence must read the namespace's
    const settings = { 'net.ipv4.tcp_fin_timeout': '17', 'net.core.somaxconn': '77', 'net.ipv4.tcp_keepalive_time': '321', 'net.ipv4.tcp_syn_retries': '2' };
    for (const [key, value] of Object.entries(settings)) {
      expect([key, await hostSysctl(key)]).not.toEqual([key, value]);
      await run('ip', ['netns', 'exec', net.a, 'sysctl', '-qw', `${key}=${value}`]);
    }
    // conntrack entries of the pod and of other addresses (both families): only the pod's are kept
    const insert = (args: string[]) => run('ip', ['netns', 'exec', net.a, 'conntrack', '-I', '-p', 'udp', '--sport', '5353', '--dport', '53', '-t', '300', ...args]);
    await insert(['-s', net.ipA, '-d', '192.0.2.53']);
    await insert(['-s', '192.0.2.1', '-d', '192.0.2.2']);
    await insert(['-s', '198.51.100.1', '-d', '198.51.100.2']);
    await insert(['-s', '2001:db8::1', '-d', '2001:db8::2']);

    const p = startPodtracer(base(out, net.targetPid, ['--timer', '120s', '--', 'tcpdump', '-i', net.vethA, '--immediate-mode', '-U', '-n', '-w', '-']), { terminationLog: term });
    // tcpdump starts after the first snapshot
    await waitForLog(p, 'listening on');

    // 1. seven echo requests to A, all dropped by the rule (ping fails: no reply)
    await run('ip', ['netns', 'exec', net.b, 'ping', '-q', '-c', '7', '-i', '0.05', '-W', '1', net.ipA]).catch(() => undefined);

    // 2. one connection fills the accept queue; three more are refused: every SYN they send
    // (as many as B's kernel retransmits, counted in the capture) is a listen overflow
    const filler = connectFromB(8080, 1, true);
    let fillerOut = '';
    filler.stdout!.on('data', (d: Buffer) => (fillerOut += d.toString()));
    await waitFor(() => fillerOut.includes('connected'), 'the connection that fills the queue');
    const refused = connectFromB(8080, 3, false);
    let refusedOut = '';
    refused.stdout!.on('data', (d: Buffer) => (refusedOut += d.toString()));
    await new Promise((r) => refused.once('exit', r));
    expect(refusedOut.match(/error ETIMEDOUT/g)).toHaveLength(3);

    // 2b. four UDP datagrams from B to A:7, dropped by the iptables rule
    await run('ip', ['netns', 'exec', net.b, process.execPath, '-e', sendUdpTo(net.ipA, 7, 4)]);

    // 3. a qdisc on A's veth loses every packet: five UDP datagrams from A, lost there. netem
    // when the kernel has it; otherwise a pfifo of length 0, which drops every packet it is given
    // (it never bypasses its empty queue) and counts it the same way
    const lossy = (await netemAvailable()) ? ['netem', 'loss', '100%'] : ['pfifo', 'limit', '0'];
    await run('tc', ['-n', net.a, 'qdisc', 'add', 'dev', net.vethA, 'root', ...lossy]);
    await run('ip', ['netns', 'exec', net.a, process.execPath, '-e', sendUdp(net.ipB, 5)]);

    p.child.kill('SIGTERM');
    const r = await p.result;
    await run('tc', ['-n', net.a, 'qdisc', 'del', 'dev', net.vethA, 'root']);
    filler.kill('SIGKILL');
    expect(r.code).toBe(0);
    expect(r.summary!.evidence).toBe(join(out, 'evidence.json'));
    expect(r.summary!.objects).toContain(join(out, 'evidence.json'));

    const e = await readEvidence(out);
    const d = e.summary.deltas!;
    expect(e.summary.secondsBetween).toBeGreaterThan(0);
    const ruleId = Object.keys(d.dropRulePackets).find((k) => k.startsWith('inet evd input'));
    expect(ruleId).toBeDefined();
    expect(d.dropRulePackets[ruleId!]).toBe(7);
    // the SYNs to the full listener, as the capture saw them arrive, minus the one that filled it
    const syns = (await countPackets(join(out, '000000.pcap'), `tcp[tcpflags] == tcp-syn and dst port 8080`)) - 1;
    expect(syns).toBeGreaterThanOrEqual(6);
    expect(d.tcpListenOverflows).toBe(syns);
    expect(d.tcpListenDrops).toBe(syns);
    const lost = Object.entries(d.qdiscDrops).filter(([q]) => q.startsWith(`${net.vethA} `) && q.endsWith(` ${lossy[0]}`));
    expect(lost.map(([, n]) => n)).toEqual([5]);
    // the pod's IP (from the netns's addresses, the API was not read) is in the rule: named as such
    expect(e.podIPs).toEqual([net.ipA]);
    expect(e.summary.unusual).toEqual(
      expect.arrayContaining([`DROP rule matching the pod: ${ruleId} (ip daddr == "${net.ipA}", icmp type == "echo-request"), 7 packets dropped during the capture`]),
    );
    expect(e.summary.unusual).toContain(`listen queue overflowed ${syns} times during the capture`);
    // the sources are all there, each with its status
    for (const name of ['addresses', 'links', 'routes', 'rules', 'neighbours', 'sockets', 'socketOwners', 'nft', 'iptables', 'sysctls', 'conntrack', 'conntrackStats', 'snmp', 'netstat', 'dev', 'resolvConf']) {
      expect([name, e.after!.sources[name]!.status]).toEqual([name, 'ok']);
    }
    // the listener and its full queue are in the second snapshot's sockets
    const listen = new RegExp(`LISTEN\\s+1\\s+0\\s+${net.ipA.replace(/\./g, '\\.')}:8080\\s.*\\bino:(\\d+)`).exec(e.after!.sources.sockets!.text!);
    expect(listen).not.toBeNull();
    // ... and named by its process, as ss -p would, with the PID its own PID namespace gives it
    // (1; ss -p run from the node's PID namespace would give the node's PID)
    const owners = e.after!.sources.socketOwners!.json as Array<{ inode: number; pid: number; command: string; fd: number }>;
    expect(owners.filter((o) => o.inode === Number(listen![1]))).toEqual([{ inode: Number(listen![1]), pid: 1, command: 'python3', fd: expect.any(Number) }]);
    // only processes of the target's namespace: the clients in B (their sockets are B's) are not
    // read, and every socket named is one ss listed in A
    const listed = new Set([...e.after!.sources.sockets!.text!.matchAll(/\bino:(\d+)/g)].map((m) => Number(m[1])));
    expect(owners.length).toBeGreaterThan(0);
    for (const o of owners) expect([o.inode, listed.has(o.inode), o.command]).toEqual([o.inode, true, 'python3']);

    // iptables-save read the target's rules, through the sandbox: the rule, its 4 packets, named once
    expect(e.after!.sources.iptables!.status).toBe('ok');
    const iptId = Object.keys(d.dropRulePackets).find((k) => k.startsWith('filter INPUT '));
    expect(iptId).toBe(`filter INPUT -A INPUT -d ${net.ipA}/32 -p udp -m udp --dport 7 -j DROP`);
    expect(d.dropRulePackets[iptId!]).toBe(4);
    // the same rule is an nft `ip filter` rule too; it is counted once, as iptables-save prints it
    expect(Object.keys(d.dropRulePackets).filter((k) => k.startsWith('ip filter '))).toEqual([]);
    expect(e.summary.unusual).toContain(`DROP rule matching the pod: ${iptId} (-d ${net.ipA}/32 -p udp -m udp --dport 7), 4 packets dropped during the capture`);

    // the namespace's sysctls, read inside it: the values set there, not the host's
    expect(e.after!.sources.sysctls!.status).toBe('ok');
    expect(e.after!.counters.sysctls).toMatchObject(settings);
    expect(e.before.counters.sysctls!['net.ipv4.tcp_fin_timeout']).toBe('17');

    // conntrack (both families): the pod's entry kept, the three others (one IPv6) left out and counted
    for (const snap of [e.before, e.after!]) {
      expect(snap.sources.conntrack!.text!.trim().split('\n')).toEqual([expect.stringContaining(`src=${net.ipA} dst=192.0.2.53 sport=5353 dport=53`)]);
      expect(snap.sources.conntrack!.filteredOut).toBe(3);
    }
    await run('ip', ['netns', 'exec', net.a, 'nft', 'delete table inet evd']);
    await run('ip', ['netns', 'exec', net.a, 'iptables', '-F', 'INPUT']);
    await run('ip', ['netns', 'exec', net.a, 'conntrack', '-F']);
  }, 120_000);

  test('the target gone before the second snapshot: the capture succeeds, the evidence says what is missing', async () => {
    const target = new TargetNetns(`eg${suffix().slice(0, 3)}`);
    await target.create();
    try {
      const out = join(work, 'gone');
      const term = join(work, 'gone.json');
      const p = startPodtracer(base(out, target.targetPid, ['--target-poll', '24d', '--timer', '3s', '--', 'tcpdump', '-i', 'lo', '-U', '-n', '-w', '-']), { terminationLog: term });
      await waitForLog(p, 'listening on');
      await target.killTargetAndWait();
      const r = await p.result;
      expect(r.code).toBe(0);
      const e = await readEvidence(out);
      expect(e.before.sources.snmp!.status).toBe('ok');
      expect(e.after!.sources.snmp!.status).toBe('netns-gone');
      expect(e.after!.sources.addresses!.status).toBe('netns-gone');
      // no deltas from a snapshot that read nothing
      expect(e.summary.deltas).toBeUndefined();
      expect(e.summary.missing).toEqual(expect.arrayContaining(['after snmp: netns-gone', 'after addresses: netns-gone']));
    } finally {
      await target.destroy();
    }
  }, 60_000);

  test('through the collector: evidence.json beside the segments, its key in the summary objects', async () => {
    const s3 = await startS3Server({ dir: join(work, 's3'), buckets: ['captures'] });
    const collector = await startCollectorChild(s3.env('captures')).catch(async (err: unknown) => {
      await s3.kill();
      throw err;
    });
    try {
      const term = join(work, 'upload.json');
      const p = startPodtracer(
        ['run', '--pod', 'web-0', '--namespace', 'shop', '--pid', String(net.targetPid), '--collector', collector.address, '--capture-id', 'evd-up', '--evidence', 'on', '--', 'ip', '-j', 'addr'],
        { terminationLog: term, env: { SNOOPY_JOB: 'web-job', SNOOPY_JOB_NAMESPACE: 'snoopy-operator' } },
      );
      const r = await p.result;
      expect(r.code).toBe(0);
      const key = 'snoopy-operator/web-job/evd-up/shop/web-0/evidence.json';
      expect(r.summary!.evidence).toBe(key);
      expect(r.summary!.objects).toEqual(['snoopy-operator/web-job/evd-up/shop/web-0/000000.txt', key]);
      const client = s3.client();
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'captures', Prefix: 'snoopy-operator/web-job/evd-up/' }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(r.summary!.objects);
      const body = await (await client.send(new GetObjectCommand({ Bucket: 'captures', Key: key }))).Body!.transformToString();
      const e = JSON.parse(body) as Evidence;
      expect(e).toMatchObject({ schemaVersion: 1, captureId: 'evd-up', pod: 'web-0', namespace: 'shop', podIPs: [net.ipA] });
      expect(e.after!.sources.addresses!.status).toBe('ok');
    } finally {
      collector.child.kill('SIGKILL');
      await s3.kill();
    }
  }, 60_000);

  test('SIGTERM while the first snapshot is taken: carried out once the tool runs, everything stored', async () => {
    const out = join(work, 'early');
    const term = join(work, 'early.json');
    const p = startPodtracer(base(out, net.targetPid, ['--timer', '60s', '--', 'tcpdump', '-i', net.vethA, '-U', '-n', '-w', '-']), { terminationLog: term });
    // logged just before the first snapshot, which takes a few hundred milliseconds
    await waitForLog(p, 'starting the tool');
    p.child.kill('SIGTERM');
    const r = await p.result;
    expect(r.code).toBe(0);
    expect(r.summary!.stopReason).toBe('signal');
    expect(r.summary!.evidence).toBe(join(out, 'evidence.json'));
    expect((await readEvidence(out)).after!.sources.snmp!.status).toBe('ok');
  }, 60_000);

  test('tools missing from the image are recorded as missing, and the capture succeeds', async () => {
    // a PATH with everything but ss, conntrack and nft (outside /tmp, which the sandbox covers)
    const bin = await mkdtemp(join('/var/tmp', 'podtracer-evidence-bin-'));
    try {
      const missing = new Set(['ss', 'conntrack', 'nft']);
      for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
        if (!existsSync(dir)) continue;
        for (const name of await readdir(dir)) {
          if (missing.has(name) || existsSync(join(bin, name))) continue;
          await symlink(join(dir, name), join(bin, name));
        }
      }
      const out = join(work, 'missing');
      await mkdir(out);
      const term = join(work, 'missing.json');
      const p = startPodtracer(base(out, net.targetPid, ['--', 'ip', '-j', 'addr']), { terminationLog: term, env: { PATH: bin } });
      const r = await p.result;
      expect(r.code).toBe(0);
      expect(r.summary!.segments).toBe(1);
      const e = await readEvidence(out);
      for (const name of ['sockets', 'nft', 'conntrack', 'conntrackStats', 'conntrackCount']) {
        expect([name, e.before.sources[name]!.status, e.after!.sources[name]!.status]).toEqual([name, 'missing', 'missing']);
      }
      expect(e.summary.missing).toEqual(expect.arrayContaining(['before sockets: missing (ss is not installed)', 'after nft: missing (nft is not installed)']));
      expect(e.after!.sources.addresses!.status).toBe('ok');
      expect(e.summary.deltas).toBeDefined();
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  }, 60_000);
});
