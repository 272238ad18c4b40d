// lib/evidence's parsers, deltas and unusual things on real tool output, read in a network
// namespace this test makes (root, real ip/nft/conntrack/tc); the schema in docs/ matches the
// TypeBox definition and accepts what buildEvidence makes; the read-only policy rules of nft and
// iptables-save.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Ajv } from 'ajv';
import { buildEvidence, countersOf, globalAddresses } from '../evidence/assemble.js';
import { SNAPSHOT_SYSCTLS, evidencePolicy } from '../evidence/commands.js';
import {
  filterConntrack, iptablesDropRules, nftDropRules, parseConntrackCount, parseConntrackStats, parseProcNetDev, parseProcNetStat, parseQdiscs, parseSysctls,
} from '../evidence/counters.js';
import { addressNames, peerAddresses } from '../evidence/names.js';
import { computeDeltas, unusualThings } from '../evidence/deltas.js';
import { evidenceSchemaJson, type Snapshot, type SourceResult } from '../evidence/schema.js';
import { repoPath } from '../repo-root.js';
import { DEFAULT_TOOL_POLICY, ToolPolicyError, parseToolInvocation } from '../tool-policy.js';

const run = promisify(execFile);
const ns = `evl-${randomBytes(3).toString('hex')}`;
const inNs = async (...argv: string[]) => (await run('ip', ['netns', 'exec', ns, ...argv])).stdout;

beforeAll(async () => {
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
  await run('ip', ['-n', ns, 'addr', 'add', '10.88.0.5/24', 'dev', 'd0']);
  await run('ip', ['-n', ns, 'link', 'set', 'd0', 'up']);
  await inNs('nft', 'add table inet t');
  await inNs('nft', 'add chain inet t input { type filter hook input priority 0 ; }');
  await inNs('nft', 'add rule inet t input ip saddr 10.88.0.0/24 tcp dport 80 counter drop');
  await inNs('nft', 'add rule inet t input ip daddr 10.88.0.5 udp dport 53 reject');
});

afterAll(async () => {
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
});

function source(text: string | undefined, json?: unknown): SourceResult {
  return { source: 'test', status: 'ok', ...(text !== undefined ? { text } : {}), ...(json !== undefined ? { json } : {}), ms: 0 };
}

/** The sources a snapshot of the test's namespace reads, read here with the same commands. */
async function sourcesNow(): Promise<Record<string, SourceResult>> {
  return {
    snmp: source(await inNs('cat', '/proc/net/snmp')),
    netstat: source(await inNs('cat', '/proc/net/netstat')),
    dev: source(await inNs('cat', '/proc/net/dev')),
    addresses: source(undefined, JSON.parse(await inNs('ip', '-j', '-s', 'addr', 'show'))),
    routes: source(undefined, JSON.parse(await inNs('ip', '-j', 'route', 'show', 'table', 'all'))),
    qdiscs: source(undefined, JSON.parse(await inNs('tc', '-j', '-s', 'qdisc', 'show'))),
    nft: source(undefined, JSON.parse(await inNs('nft', '-j', 'list', 'ruleset'))),
    conntrackStats: source(await inNs('conntrack', '-S')),
    conntrackCount: source(await inNs('conntrack', '-C')),
  };
}

function snapshot(sources: Record<string, SourceResult>, takenAt: string, conntrackMax?: number): Snapshot {
  return { takenAt, ms: 1, sources, counters: countersOf(sources, conntrackMax) };
}

describe('parsers on real output', () => {
  test('/proc/net/snmp and netstat: every group, the counters the deltas use among them', async () => {
    const snmp = parseProcNetStat(await inNs('cat', '/proc/net/snmp'));
    expect(Object.keys(snmp)).toEqual(expect.arrayContaining(['Ip', 'Icmp', 'Tcp', 'Udp']));
    expect(snmp.Tcp!.RetransSegs).toBe(0);
    expect(snmp.Tcp!.OutRsts).toBe(0);
    expect(snmp.Udp!.InErrors).toBe(0);
    const netstat = parseProcNetStat(await inNs('cat', '/proc/net/netstat'));
    expect(netstat.TcpExt!.ListenOverflows).toBe(0);
    expect(netstat.TcpExt!.ListenDrops).toBe(0);
  });

  test('/proc/net/dev: the interfaces and their counters; ping on lo moves them', async () => {
    const before = parseProcNetDev(await inNs('cat', '/proc/net/dev'));
    expect(Object.keys(before).sort()).toEqual(['d0', 'd1', 'lo']);
    await inNs('ping', '-c', '2', '-i', '0.05', '-q', '127.0.0.1');
    const after = parseProcNetDev(await inNs('cat', '/proc/net/dev'));
    // two echo requests and two replies, each sent and received on lo
    expect(after.lo!.rxPackets - before.lo!.rxPackets).toBe(4);
    expect(after.lo!.txPackets - before.lo!.txPackets).toBe(4);
  });

  test('nft -j: the DROP and REJECT rules, with their matches and counters', async () => {
    const rules = nftDropRules(JSON.parse(await inNs('nft', '-j', 'list', 'ruleset')));
    expect(rules).toEqual([
      { id: 'inet t input 2', matches: ['ip saddr == 10.88.0.0/24', 'tcp dport == 80'], packets: 0, bytes: 0 },
      { id: 'inet t input 3', matches: ['ip daddr == "10.88.0.5"', 'udp dport == 53'] },
    ]);
  });

  test('conntrack -S and -C, tc -j -s qdisc', async () => {
    const stats = parseConntrackStats(await inNs('conntrack', '-S'));
    expect(Object.keys(stats)).toEqual(expect.arrayContaining(['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop']));
    expect(parseConntrackCount(await inNs('conntrack', '-C'))).toBe(0);
    expect(parseConntrackCount('')).toBeUndefined();
    const qdiscs = parseQdiscs(JSON.parse(await inNs('tc', '-j', '-s', 'qdisc', 'show')));
    expect(qdiscs.map((q) => q.dev)).toEqual(expect.arrayContaining(['d0']));
    expect(qdiscs.every((q) => q.drops === 0)).toBe(true);
  });

  test('iptables-save -c (text as iptables-save 1.8 writes it)', () => {
    const text = [
      '*filter',
      ':INPUT ACCEPT [10:600]',
      '[4:240] -A INPUT -s 10.88.0.9/32 -p tcp -m tcp --dport 80 -j DROP',
      '[0:0] -A INPUT -p udp -j REJECT --reject-with icmp-port-unreachable',
      '[7:420] -A INPUT -j ACCEPT',
      'COMMIT',
    ].join('\n');
    expect(iptablesDropRules(text).map((r) => [r.packets, r.matches])).toEqual([
      [4, ['-s 10.88.0.9/32 -p tcp -m tcp --dport 80']],
      [0, ['-p udp']],
    ]);
  });
});

describe('the namespace\'s settings, rules, entries and peers', () => {
  test('sysctl in the namespace reads its own values (not the host\'s): tcp timeouts, somaxconn, forwarding', async () => {
    await inNs('sysctl', '-qw', 'net.core.somaxconn=55', 'net.ipv4.tcp_fin_timeout=23');
    const read = parseSysctls(await inNs('sysctl', '-e', ...SNAPSHOT_SYSCTLS));
    expect(read).toMatchObject({ 'net.core.somaxconn': '55', 'net.ipv4.tcp_fin_timeout': '23', 'net.ipv4.ip_forward': '0' });
    expect(Object.keys(read)).toEqual(expect.arrayContaining(['net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_syn_retries', 'net.ipv4.tcp_retries2', 'net.ipv4.ip_local_port_range']));
    expect(read['net.ipv4.ip_local_port_range']).toMatch(/^\d+ \d+$/);
    const host = parseSysctls((await run('sysctl', ['net.core.somaxconn', 'net.ipv4.tcp_fin_timeout'])).stdout);
    expect(host['net.core.somaxconn']).not.toBe('55');
    expect(host['net.ipv4.tcp_fin_timeout']).not.toBe('23');
  });

  test('conntrack -L (both families): only the entries naming one of the pod\'s IPs are kept', async () => {
    const insert = (...a: string[]) => inNs('conntrack', '-I', '-p', 'udp', '--sport', '4000', '--dport', '53', '-t', '120', ...a);
    // a client entry translated to a backend (reply from another address), and three of others
    await insert('-s', '10.88.0.5', '-d', '10.96.0.10', '-r', '10.244.1.7', '-q', '10.88.0.5', '--reply-port-src', '53', '--reply-port-dst', '4000');
    await insert('-s', '192.0.2.1', '-d', '192.0.2.2');
    await insert('-s', 'fd00::5', '-d', 'fd00::6');
    await insert('-s', '2001:db8::9', '-d', 'fd00::5');
    const text = await inNs('conntrack', '-L');
    expect(text.trim().split('\n')).toHaveLength(4);
    const v4 = filterConntrack(text, ['10.88.0.5']);
    expect(v4.filteredOut).toBe(3);
    expect(v4.text).toMatch(/^udp .* src=10\.88\.0\.5 dst=10\.96\.0\.10 .* src=10\.244\.1\.7 dst=10\.88\.0\.5 .*\n$/);
    const dual = filterConntrack(text, ['10.88.0.5', 'FD00::5']);
    expect([dual.text.trim().split('\n').length, dual.filteredOut]).toEqual([3, 1]);
    // the peers: the cluster IP dialled and the backend it went to, the other entries' are cut
    const snap = { takenAt: '', ms: 0, sources: { conntrack: source(v4.text) }, counters: countersOf({}) };
    expect(peerAddresses(['10.88.0.5'], [snap])).toEqual(['10.96.0.10', '10.244.1.7']);
    await inNs('conntrack', '-F');
  });

  test('ss -tuanie: the peers of the pod\'s sockets (not itself, not listeners, not loopback), bounded', async () => {
    await inNs('ip', 'addr', 'add', '10.88.0.6/32', 'dev', 'lo');
    await inNs('ip', 'addr', 'add', '10.88.0.7/32', 'dev', 'lo');
    // a server on the pod's address and two clients from other addresses, over loopback; ends by itself
    const script = `const net = require('node:net');
      const s = net.createServer((c) => c.on('error', () => {})).listen(8081, '10.88.0.5', () => {
        let n = 0;
        for (const from of ['10.88.0.6', '10.88.0.7']) net.connect({ port: 8081, host: '10.88.0.5', localAddress: from }, () => { if (++n === 2) console.log('ready'); });
      });
      setTimeout(() => process.exit(0), 20000);`;
    const child = (await import('node:child_process')).spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.once('exit', () => reject(new Error('the sockets\' script ended early')));
      });
      const ss = await inNs('ss', '-tuanie');
      const snap = { takenAt: '', ms: 0, sources: { sockets: source(ss) }, counters: countersOf({}) };
      expect(peerAddresses(['10.88.0.5'], [snap]).sort()).toEqual(['10.88.0.6', '10.88.0.7']);
      expect(peerAddresses(['10.88.0.5'], [snap], 1)).toHaveLength(1);
      // seen from a client's side, the server's address is its peer
      expect(peerAddresses(['10.88.0.6', '10.88.0.7'], [snap])).toEqual(['10.88.0.5']);
    } finally {
      child.kill('SIGKILL');
      for (const ip of ['10.88.0.6/32', '10.88.0.7/32']) await inNs('ip', 'addr', 'del', ip, 'dev', 'lo');
    }
  });

  test('names: the pod\'s own IPs first, then its Services, then the peers the API named', () => {
    const names = addressNames({
      pod: 'web-0', namespace: 'shop', podIPs: ['10.0.0.5'],
      services: [{ name: 'web', namespace: 'shop', clusterIPs: ['10.96.0.5'] }],
      peers: [
        { ip: '10.96.0.10', kind: 'service', namespace: 'kube-system', name: 'kube-dns' },
        { ip: '10.0.1.9', kind: 'pod', namespace: 'db', name: 'pg-0' },
        { ip: '10.0.0.5', kind: 'pod', namespace: 'other', name: 'stale' },
      ],
    });
    expect(Object.fromEntries(names)).toEqual({
      '10.0.0.5': 'pod shop/web-0', '10.96.0.5': 'service shop/web', '10.96.0.10': 'service kube-system/kube-dns', '10.0.1.9': 'pod db/pg-0',
    });
  });

  test('iptables (nf_tables backend): its rules are nft `ip` tables too, and counted once', async () => {
    await inNs('iptables', '-A', 'INPUT', '-d', '10.88.0.5/32', '-p', 'tcp', '--dport', '8443', '-j', 'DROP');
    try {
      const sources = {
        nft: source(undefined, JSON.parse(await inNs('nft', '-j', 'list', 'ruleset'))),
        iptables: source(await inNs('iptables-save', '-c')),
      };
      // nft lists it (ip filter INPUT), iptables-save too
      expect(nftDropRules(sources.nft.json).map((r) => r.id)).toEqual(expect.arrayContaining(['inet t input 2', expect.stringMatching(/^ip filter INPUT \d+$/)]));
      expect(countersOf(sources).dropRules.map((r) => r.id)).toEqual(['inet t input 2', 'inet t input 3', 'filter INPUT -A INPUT -d 10.88.0.5/32 -p tcp -m tcp --dport 8443 -j DROP']);
    } finally {
      await inNs('iptables', '-F', 'INPUT');
    }
  });
});

describe('deltas and unusual things', () => {
  test('two snapshots of the namespace: the deltas count what happened between them', async () => {
    const before = snapshot(await sourcesNow(), '2026-01-01T00:00:00.000Z');
    // 3 UDP datagrams to a closed port on lo: 3 "port unreachable" (Udp NoPorts, not InErrors),
    // and traffic on lo; nothing dropped
    await inNs(process.execPath, '-e', `const s=require('node:dgram').createSocket('udp4');let n=0;for(let i=0;i<3;i++)s.send('x',9,'127.0.0.1',()=>{if(++n===3)s.close()})`);
    const after = snapshot(await sourcesNow(), '2026-01-01T00:00:02.500Z');
    const d = computeDeltas(before.counters, after.counters);
    expect(after.counters.snmp.Udp!.NoPorts! - before.counters.snmp.Udp!.NoPorts!).toBe(3);
    expect(d).toEqual({
      tcpRetransmits: 0, tcpOutResets: 0, tcpEstabResets: 0, tcpListenDrops: 0, tcpListenOverflows: 0,
      udpInErrors: 0, udpRcvbufErrors: 0, interfaceDrops: {}, qdiscDrops: {}, conntrackInserts: 0, conntrackDrops: 0, dropRulePackets: {},
    });
    const e = buildEvidence({ captureId: 'c1', pod: 'web-0', namespace: 'shop', podIPs: [] }, before, after);
    expect(e.summary.secondsBetween).toBe(2.5);
    expect(e.podIPs).toEqual(['10.88.0.5']);
    expect(globalAddresses(before.sources.addresses)).toEqual(['10.88.0.5']);
    // no default route (only d0's subnet); the REJECT rule names the pod's address
    expect(e.summary.unusual).toEqual(['no default route in the main table', 'DROP rule matching the pod: inet t input 3 (ip daddr == "10.88.0.5", udp dport == 53)']);
    expect(e.summary.missing).toEqual([]);
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(JSON.parse(evidenceSchemaJson()) as object);
    expect(validate(JSON.parse(JSON.stringify(e)))).toBe(true);
  });

  test('counters that moved: drops, conntrack, rules; a counter that went back counts from zero', () => {
    const base = { snmp: { Tcp: { RetransSegs: 10, OutRsts: 1, EstabResets: 0 }, TcpExt: { ListenDrops: 2, ListenOverflows: 2 }, Udp: { InErrors: 0, RcvbufErrors: 0 } }, interfaces: { eth0: { rxBytes: 0, rxPackets: 0, rxErrors: 0, rxDropped: 5, txBytes: 0, txPackets: 0, txErrors: 0, txDropped: 0 } }, conntrack: { insert: 100, drop: 0, early_drop: 0, insert_failed: 0 }, qdiscDrops: { 'eth0 8001: netem': 0 }, dropRules: [{ id: 'r1', matches: [], packets: 3 }] };
    const later = { ...base, snmp: { Tcp: { RetransSegs: 14, OutRsts: 3, EstabResets: 1 }, TcpExt: { ListenDrops: 9, ListenOverflows: 8 }, Udp: { InErrors: 2, RcvbufErrors: 1 } }, interfaces: { eth0: { ...base.interfaces.eth0, rxDropped: 7, txDropped: 1 } }, conntrack: { insert: 130, drop: 2, early_drop: 1, insert_failed: 1 }, qdiscDrops: { 'eth0 8001: netem': 12 }, dropRules: [{ id: 'r1', matches: [], packets: 1 }] };
    expect(computeDeltas(base, later)).toEqual({
      tcpRetransmits: 4, tcpOutResets: 2, tcpEstabResets: 1, tcpListenDrops: 7, tcpListenOverflows: 6, udpInErrors: 2, udpRcvbufErrors: 1,
      interfaceDrops: { eth0: { rx: 2, tx: 1 } }, qdiscDrops: { 'eth0 8001: netem': 12 }, conntrackInserts: 30, conntrackDrops: 4,
      // 3 → 1: the counter was reset (the rule replaced), its 1 packet is new
      dropRulePackets: { r1: 1 },
    });
  });

  test('conntrack near full, and a second snapshot that read nothing gives no deltas', () => {
    const snap = (entries: number): Snapshot => ({ takenAt: '2026-01-01T00:00:00.000Z', ms: 1, sources: {}, counters: { snmp: {}, interfaces: {}, conntrack: {}, conntrackEntries: entries, conntrackMax: 1000, qdiscDrops: {}, dropRules: [] } });
    expect(unusualThings(snap(950), [])).toEqual(['conntrack table near full: 950 of 1000 entries']);
    expect(unusualThings(snap(899), [])).toEqual([]);
    const before: Snapshot = { ...snap(1), sources: { snmp: source('Tcp: RetransSegs\nTcp: 1\n') } };
    const gone: Snapshot = { ...snap(1), sources: { snmp: { source: 'net/snmp', status: 'netns-gone', ms: 0 } } };
    const e = buildEvidence({ captureId: 'c', pod: 'p', namespace: 'n', podIPs: ['10.0.0.1'] }, before, gone);
    expect(e.summary.deltas).toBeUndefined();
    expect(e.summary.missing).toEqual(['after snmp: netns-gone']);
  });
});

describe('schema and policy', () => {
  test('docs/evidence.schema.json is what the TypeBox definition gives (else: npm run generate:crds)', async () => {
    expect(await readFile(repoPath('docs', 'evidence.schema.json'), 'utf8')).toBe(evidenceSchemaJson());
  });

  test('nft, iptables-save and sysctl: listing or reading only, and only through the evidence policy', () => {
    const p = evidencePolicy(DEFAULT_TOOL_POLICY);
    expect(() => parseToolInvocation('nft', ['-j', 'list', 'ruleset'], p)).not.toThrow();
    expect(() => parseToolInvocation('nft', ['list', 'table', 'inet', 'filter'], p)).not.toThrow();
    for (const argv of [['-f', '/etc/x'], ['flush', 'ruleset'], ['add', 'table', 'x'], ['-i'], ['list', 'ruleset', '-f', 'x'], ['-I', '/x', 'list', 'ruleset'], ['list', 'table', '../x']]) {
      expect(() => parseToolInvocation('nft', argv, p)).toThrow(ToolPolicyError);
    }
    expect(() => parseToolInvocation('iptables-save', ['-c'], p)).not.toThrow();
    expect(() => parseToolInvocation('iptables-save', ['-t', 'nat'], p)).not.toThrow();
    for (const argv of [['-M', '/bin/sh'], ['--modprobe=/x'], ['-f', '/etc/x'], ['-t', '../x']]) {
      expect(() => parseToolInvocation('iptables-save', argv, p)).toThrow(ToolPolicyError);
    }
    // sysctl: reading dotted net.* keys only
    expect(() => parseToolInvocation('sysctl', ['-e', 'net.core.somaxconn', 'net.ipv4.conf.all.rp_filter'], p)).not.toThrow();
    for (const argv of [['-w', 'net.core.somaxconn=1'], ['net.core.somaxconn=1'], ['-p'], ['-p', '/etc/x'], ['--system'], ['-a'], ['kernel.hostname'], ['net/../../self/environ'], ['net..core'], ['-f', 'x']]) {
      expect(() => parseToolInvocation('sysctl', argv, p)).toThrow(ToolPolicyError);
    }
    expect(() => parseToolInvocation('sysctl', ['net.core.somaxconn'], DEFAULT_TOOL_POLICY)).toThrow(ToolPolicyError);
    // the job's own policy does not allow them (not on its allowlist by default)
    expect(() => parseToolInvocation('nft', ['list', 'ruleset'], DEFAULT_TOOL_POLICY)).toThrow(ToolPolicyError);
    expect(evidencePolicy({ ...DEFAULT_TOOL_POLICY, allowMutating: true }).allowMutating).toBe(false);
  });
});
