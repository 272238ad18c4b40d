// The pure parts: flags → SnoopyJob, download planning, the progress bar, the status views.
import { describe, expect, test } from '@jest/globals';
import { tokenizeArgs } from '../../lib/tool-policy.js';
import { validateSnoopyJob } from '../../lib/api/validation.js';
import { DEFAULT_TOOL_POLICY } from '../../lib/tool-policy.js';
import { buildSnoopyJob, parseCollector, parseSelector, toolInvocation } from '../capture-spec.js';
import { planDownload, planEvidence, sequenceGaps, statusKeys } from '../download-plan.js';
import { evidenceText } from '../evidence-view.js';
import type { Evidence } from '../../lib/evidence/schema.js';
import { CliError } from '../errors.js';
import { progressBar, renderBar } from '../progress.js';
import { listTable, progressLine, statusText } from '../status-view.js';
import type { SnoopyJob } from '../../lib/api/schema.js';
import { PcapWriter, concatPcaps, parseCapture } from '../../lib/pcap/index.js';
import { SegmentJoiner } from '../segment-joiner.js';
import { DEFAULT_ENDPOINT, chooseEndpoint } from '../endpoint-choice.js';
import { storageError } from '../storage.js';
import { logLine } from '../log-view.js';
import { timeLine } from '../status-view.js';
import { summaryTables } from '../summary-view.js';
import type { Summary } from '../../lib/api/analysis-summary.js';

const base = { jobNamespace: 'snoopy-operator', operatorNamespace: 'snoopy-operator', targetNamespace: 'shop', selector: 'app=web', tool: [] as string[] };

describe('capture spec', () => {
  test('defaults: tcpdump on every interface writing pcap to stdout, plus the filter', () => {
    expect(toolInvocation([], 'tcp port 443 and host 10.0.0.1')).toEqual({ command: 'tcpdump', args: '-i any -U -w - tcp port 443 and host 10.0.0.1' });
    expect(toolInvocation([], undefined)).toEqual({ command: 'tcpdump', args: '-i any -U -w -' });
  });

  test('tool arguments keep their words through the args string', () => {
    const argv = ['-s', "it's a \"test\" with spaces", '-X', 'a\\b'];
    const { command, args } = toolInvocation(['curl', ...argv], undefined);
    expect(command).toBe('curl');
    expect(tokenizeArgs(args)).toEqual(argv);
  });

  test('the SnoopyJob passes the operator\'s own validation', () => {
    const sj = buildSnoopyJob({ ...base, endpoint: 'store', timer: '90s', container: 'app', maxBytes: '1000000', name: 'x1' });
    const v = validateSnoopyJob(sj, { operatorNamespace: 'snoopy-operator', allowCrossNamespace: false, policy: DEFAULT_TOOL_POLICY, endpoint: { found: true, address: 'c:1' } });
    expect(v.ok).toBe(true);
    expect(sj.spec).toEqual({ command: 'tcpdump', args: '-i any -U -w -', labelSelector: { app: 'web' }, targetNamespace: 'shop', timer: '90s', container: 'app', maxBytes: 1000000, dataEndpointRef: { name: 'store' } });
    expect(sj.metadata).toMatchObject({ name: 'x1', namespace: 'snoopy-operator' });
  });

  test('a SnoopyJob outside the operator namespace may not target another namespace', () => {
    expect(() => buildSnoopyJob({ ...base, jobNamespace: 'team-a', collector: 'c:1' })).toThrow(/differs from the SnoopyJob's namespace/);
    expect(buildSnoopyJob({ ...base, jobNamespace: 'shop', collector: 'c:1' }).spec.targetNamespace).toBe('shop');
  });

  test('refusals name the problem', () => {
    const cases: [Partial<typeof base> & Record<string, unknown>, RegExp][] = [
      [{ collector: 'c:1', tool: ['tcpdump', '-w', '/etc/passwd'] }, /-w/],
      [{ collector: 'c:1', schedule: '* * *' }, /5 fields/],
      [{ collector: 'nohost' }, /not HOST:PORT/],
      [{ collector: 'c:1', endpoint: 'e' }, /not both/],
      [{ collector: 'c:1', name: 'Bad_Name' }, /not a valid name/],
      [{ collector: 'c:1', selector: '' }, /-l is required/],
    ];
    for (const [over, re] of cases) expect(() => buildSnoopyJob({ ...base, ...over } as never)).toThrow(re);
  });

  test('selectors and collectors', () => {
    expect(parseSelector('a=b, c==d,e=')).toEqual({ a: 'b', c: 'd', e: '' });
    expect(() => parseSelector('a!=b')).toThrow(CliError);
    expect(parseCollector('[fd00::1]:8080')).toEqual({ dataServiceIP: 'fd00::1', dataServicePort: '8080' });
    expect(parseCollector('collector.ns.svc:51001')).toEqual({ dataServiceIP: 'collector.ns.svc', dataServicePort: '51001' });
  });
});

describe('download plan', () => {
  const k = (pod: string, seq: number, ext = 'pcap', cid = 'run-1') => `p/snoopy-operator/sj/${cid}/shop/${pod}/${String(seq).padStart(6, '0')}.${ext}`;
  test('segments grouped per target and ordered by sequence; summaries and strangers ignored', () => {
    const objects = [k('b', 1), k('a', 0), k('b', 0), k('a', 1, 'txt'), 'p/snoopy-operator/sj/run-1/shop/a.summary.json', 'p/snoopy-operator/sj/notes.txt'].map((key, i) => ({ key, size: i }));
    const plan = planDownload(objects);
    expect(plan.map((t) => [t.file, t.segments.map((s) => s.sequence)])).toEqual([
      ['run-1/shop_a.pcap', [0]],
      ['run-1/shop_a.txt', [1]],
      ['run-1/shop_b.pcap', [0, 1]],
    ]);
    expect(sequenceGaps(plan[1]!)).toEqual([0]);
    expect(sequenceGaps(plan[2]!)).toEqual([]);
  });

  test('status objects as URIs or keys', () => {
    const sj = { status: { targets: [{ objects: ['s3://snoopy/x/000000.pcap', 'y/000001.pcap'] }] } } as unknown as SnoopyJob;
    expect(statusKeys(sj)).toEqual(['x/000000.pcap', 'y/000001.pcap']);
  });
});

describe('progress', () => {
  test('the bar', () => {
    expect(renderBar(0, 100, 10, 'a')).toBe('[----------]   0% a');
    expect(renderBar(50, 100, 10, 'a')).toBe('[#####-----]  50% a');
    expect(renderBar(100, 100, 10, '')).toBe('[##########] 100% ');
    expect(renderBar(0, 0, 4, '')).toBe('[####] 100% ');
  });

  test('nothing is written when the stream is not a terminal', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (s: string) => written.push(s) > 0 };
    const bar = progressBar(stream, 10, 't');
    bar.update(5, 'x');
    bar.done();
    expect(written).toEqual([]);
    const tty = { isTTY: true, columns: 80, write: (s: string) => written.push(s) > 0 };
    const bar2 = progressBar(tty, 10, 't');
    bar2.update(5, 'x');
    bar2.done();
    expect(written[0]).toBe('\r\x1b[2Kt [###############---------------]  50% x');
    expect(written.at(-1)).toBe('\n');
  });
});

describe('status views', () => {
  const sj = {
    apiVersion: 'job.fennecproject.io/v1alpha1',
    kind: 'SnoopyJob',
    metadata: { name: 'pings', namespace: 'snoopy-operator', creationTimestamp: new Date(Date.now() - 300_000).toISOString() },
    spec: { command: 'tcpdump', args: '-i any', labelSelector: { app: 'web' }, targetNamespace: 'shop' },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: '2 targets', lastTransitionTime: '' }],
      targets: [
        { pod: 'a', namespace: 'shop', node: 'n1', job: 'j-a', state: 'Succeeded', bytes: 2048, segments: 2, objects: ['x', 'y'] },
        { pod: 'b', namespace: 'shop', node: 'n2', job: 'j-b', state: 'Running' },
      ],
    },
  } as unknown as SnoopyJob;
  test('list, status and the --wait line', () => {
    expect(listTable([sj], false)).toMatch(/^NAME\s+COMMAND\s+TARGET-NS\s+SELECTOR\s+PHASE\s+TARGETS\s+BYTES\s+AGE\npings\s+tcpdump\s+shop\s+app=web\s+Running\s+2\s+2\.0 KiB\s+5m\n$/);
    const text = statusText(sj, true, [{ type: 'Normal', reason: 'Started', message: 'jobs created', count: 1 }]);
    expect(text).toMatch(/^shop\/a\s+n1\s+Succeeded\s+2\.0 KiB\s+2\s+2\s+j-a/m);
    expect(text).toMatch(/^Ready\s+True\s+Running\s+2 targets$/m);
    expect(text).toMatch(/^Normal\s+Started\s+1\s+jobs created$/m);
    expect(progressLine(sj)).toBe('pings: Running — 2 targets (1 Succeeded, 1 Running), 2.0 KiB');
  });
});

describe('summary view', () => {
  // only the fields the view reads; a whole summary comes from the analyzer (e2e tests)
  const summary = (packets: number, nonIpPackets: number, nonIpTypes: Record<string, number>, decodeProblems: Record<string, number> = {}) =>
    ({ packets, bytes: packets * 100, nonIpPackets, nonIpTypes, decodeProblems, errors: [], tcp: { attempted: 0, established: 0 }, dns: { queries: 0 }, icmp: { echoRequests: 0, echoReplies: 0 } }) as unknown as Summary;
  test('what the analyzer could not read is a column and a line that says why', () => {
    const out = summaryTables([
      { target: 'shop/wifi (c1)', key: 'k1', summary: summary(200, 150, { '802.11 (link type 105)': 150 }) },
      { target: 'shop/web (c1)', key: 'k2', summary: summary(50, 0, {}) },
    ]);
    expect(out).toMatch(/^TARGET\s+PACKETS\s+BYTES\s+NOT IP\s+TCP OK\/ATTEMPTS/);
    expect(out).toMatch(/^shop\/wifi \(c1\)\s+200\s+\S+ KiB\s+150 75\.0%\s/m);
    expect(out).toMatch(/^shop\/web \(c1\)\s+50\s+\S+ KiB\s+0\s/m);
    expect(out).toContain('shop/wifi (c1): not read as IP: 150 802.11 (link type 105)\n');
    expect(out).not.toContain('shop/web (c1): not read');
  });
});

describe('segment joiner', () => {
  const segment = (w: PcapWriter, first: number, n: number) =>
    Buffer.concat([w.header(), ...Array.from({ length: n }, (_, i) => w.record({ timestampNs: BigInt(first + i) * 1_000_000n, data: Buffer.alloc(60, first + i) }))]);
  test('pcap segments joined one at a time give what concatPcaps gives for all of them', () => {
    const w = new PcapWriter({ linkType: 1 });
    const segs = [segment(w, 0, 3), segment(w, 3, 2), segment(w, 5, 4)];
    const j = new SegmentJoiner('pcap');
    const joined = Buffer.concat(segs.map((s) => j.next(s)));
    expect(joined.equals(concatPcaps(segs))).toBe(true);
    const parsed = parseCapture(joined);
    expect(parsed.errors).toEqual([]);
    expect(parsed.packetList.map((p) => p.data[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
  test('a segment with another link type is refused', () => {
    const j = new SegmentJoiner('pcap');
    j.next(segment(new PcapWriter({ linkType: 1 }), 0, 1));
    expect(() => j.next(segment(new PcapWriter({ linkType: 113 }), 1, 1))).toThrow(/same pcap header/);
    expect(() => new SegmentJoiner('pcap').next(Buffer.from('hello'))).toThrow();
  });
});

describe('evidence', () => {
  const deltas = {
    tcpRetransmits: 4, tcpOutResets: 0, tcpEstabResets: 0, tcpListenDrops: 6, tcpListenOverflows: 6, udpInErrors: 0, udpRcvbufErrors: 0,
    interfaceDrops: { eth0: { rx: 2, tx: 0 } }, qdiscDrops: { 'eth0 8001: netem': 5 }, conntrackInserts: 3, conntrackDrops: 0,
    dropRulePackets: { 'inet t input 2': 7 },
  };
  const snap = { takenAt: '2026-01-01T00:00:00.000Z', ms: 200, sources: {}, counters: { snmp: {}, interfaces: {}, conntrack: {}, qdiscDrops: {}, dropRules: [] } };

  test('--evidence / --no-evidence set spec.evidence; neither leaves the operator default', () => {
    expect(buildSnoopyJob({ ...base, collector: 'c:1', evidence: false }).spec.evidence).toBe(false);
    expect(buildSnoopyJob({ ...base, collector: 'c:1', tool: ['ping', '-c', '1', 'x'], evidence: true }).spec.evidence).toBe(true);
    expect('evidence' in buildSnoopyJob({ ...base, collector: 'c:1' }).spec).toBe(false);
  });

  test('planEvidence: the evidence objects per target, --pod filters; segments and summaries are not evidence', () => {
    const objects = [
      { key: 'p/ns/job/cap1/shop/web-0/000000.pcap', size: 10 },
      { key: 'p/ns/job/cap1/shop/web-0/evidence.json', size: 20 },
      { key: 'p/ns/job/cap1/shop/web-1/evidence.json', size: 30 },
      { key: 'p/ns/job/cap1/shop/web-0.summary.json', size: 5 },
    ];
    expect(planEvidence(objects).map((e) => [e.pod, e.file])).toEqual([
      ['web-0', 'cap1/shop_web-0.evidence.json'],
      ['web-1', 'cap1/shop_web-1.evidence.json'],
    ]);
    expect(planEvidence(objects, 'web-1').map((e) => e.object.key)).toEqual(['p/ns/job/cap1/shop/web-1/evidence.json']);
  });

  test('the text view: deltas first, then the unusual things, then what was not read', () => {
    const evidence: Evidence = {
      schemaVersion: 1, captureId: 'cap1', pod: 'web-0', namespace: 'shop', node: 'node-a', podIPs: ['10.0.0.5'],
      services: [{ name: 'web', namespace: 'shop', clusterIPs: ['10.96.0.10'] }],
      summary: { secondsBetween: 61.5, deltas, unusual: ['no default route in the main table'], missing: ['after iptables: missing (iptables-save is not installed)'] },
      before: snap, after: snap,
    };
    const text = evidenceText([{ target: 'shop/web-0', key: 'k/evidence.json', evidence }]);
    expect(text).toContain('Deltas over 61.5 s between the snapshots:');
    expect(text).toMatch(/TCP listen overflows\s+6/);
    expect(text).toContain('drops on eth0                rx 2, tx 0');
    expect(text).toContain('DROP rule inet t input 2: 7 packets');
    expect(text).toContain('Services: shop/web (10.96.0.10)');
    const order = ['Deltas over', 'Unusual:', '  - no default route', 'Not read:', '  - after iptables'].map((s) => text.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const gone = evidenceText([{ target: 'shop/web-0', key: 'k', evidence: { ...evidence, summary: { unusual: [], missing: ['after snmp: netns-gone'] } } }]);
    expect(gone).toContain('Deltas: none (the second snapshot could not read the counters)');
    expect(gone).toContain('Unusual: nothing');
  });
});

describe('defaults and readable lines', () => {
  test('the endpoint a capture uses when none is named', () => {
    expect(chooseEndpoint(['store'], 'ops')).toBe('store');
    expect(chooseEndpoint(['a', DEFAULT_ENDPOINT, 'z'], 'ops')).toBe(DEFAULT_ENDPOINT);
    expect(() => chooseEndpoint([], 'ops')).toThrow(/^no SnoopyDataEndpoint in namespace ops: create one .*, pass --endpoint NAME with --job-namespace, or --collector HOST:PORT$/);
    expect(() => chooseEndpoint(['a', 'b'], 'ops')).toThrow('several SnoopyDataEndpoints in namespace ops (a, b): pass --endpoint NAME');
    expect(() => chooseEndpoint(['a', 'b', 'c', 'd', 'e', 'f'], 'ops')).toThrow('(a, b, c, d, e, … (6))');
  });

  test('storage named by its in-cluster Service name: how to reach it from outside', () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    expect(storageError(notFound, 'http://minio.snoopy-operator.svc.cluster.local:9000 bucket snoopy').message).toBe(
      'cannot reach storage at http://minio.snoopy-operator.svc.cluster.local:9000 bucket snoopy: a cluster-internal name; from outside the cluster run "kubectl port-forward -n snoopy-operator svc/minio 9000" and add --s3-endpoint http://127.0.0.1:9000',
    );
    expect(storageError(notFound, 'http://s3.example.test bucket b').message).toBe('cannot reach storage at http://s3.example.test bucket b (ENOTFOUND); check --s3-endpoint or S3_ENDPOINT');
  });

  test('--wait says how long it has run and how long is left of the capture\'s own timer', () => {
    expect(timeLine(5_000, 120_000, undefined)).toBe('(elapsed 5s, starting)');
    expect(timeLine(35_000, 120_000, 30_000)).toBe('(elapsed 35s, 1m30s left of the 2m0s timer)');
    expect(timeLine(125_000, 120_000, 121_000)).toBe('(elapsed 2m5s, timer of 2m0s over: finishing uploads)');
    expect(timeLine(3_700_000, 7_200_000, 3_700_000)).toBe('(elapsed 1h1m40s, 58m20s left of the 2h0m0s timer)');
  });

  test('a log record as one readable line; -o json and non-JSON lines as they are', () => {
    const rec = JSON.stringify({ level: 50, time: Date.UTC(2026, 11, 8, 1, 2, 3, 45), pid: 7, hostname: 'h', name: 'podtracer', msg: 'tool failed', exitCode: 1 });
    expect(logLine('cap-1', rec, 'text')).toBe('[cap-1] [2026-12-08 01:02:03.045Z] ERROR (podtracer): tool failed {"exitCode":1}\n');
    expect(logLine('cap-1', rec, 'json')).toBe(`[cap-1] ${rec}\n`);
    expect(logLine('cap-1', 'tcpdump: listening on eth0', 'text')).toBe('[cap-1] tcpdump: listening on eth0\n');
  });
});
