// Per-node capture on real pods, on the full dev cluster installed as `make demo` installs it
// (infra/dev: the operator with its defaults, the sample data endpoint, the embedded S3 server):
// six targets on two nodes get two capture pods; a pod added during the run on one of those nodes
// joins its capture pod, one on a third node gets a new one; killing one target's tcpdump fails
// that target only; every other target's pcap holds exactly its own pings (each target pings with
// its own payload size). Needs root; skipped otherwise.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { parseCapture } from '../../lib/pcap/index.js';
import { waitFor } from '../../lib/testing/wait-for.js';
import { ASSIGNMENT_KEY, parseAssignment } from '../../lib/contracts/node-capture.js';
import { Labels } from '../../lib/api/names.js';
import type { Kubectl } from '../demo/kubectl.js';
import { installDevInstall, startDevInstallCluster, storedObjects, type DevInstallCluster } from './dev-install-cluster.js';

const exec = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const NS = 'snoopy-operator';
const TARGET_NS = 'cnf-telco';
const SJ = 'snoopy-node-capture';
const LABEL = { nodeCaptureTest: 'true' };
/** each target's ping payload size: its pings are told apart from every other target's by it */
const SIZES: Record<string, number> = { a1: 101, a2: 102, a3: 103, b1: 104, b2: 105, b3: 106, a4: 107, c1: 108 };
const NODE_OF = (pod: string) => `node-${pod[0]}`;

interface Obj {
  metadata?: { name?: string; uid?: string; labels?: Record<string, string> };
  status?: Record<string, unknown> & { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
interface SecretObj { data?: Record<string, string> }
const condTrue = (o: Obj | undefined, type: string) => o?.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** Processes on this host whose command line satisfies `match`, with their network namespace. */
function processes(match: (argv: string[]) => boolean): { pid: number; netns: string }[] {
  const out: { pid: number; netns: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (match(argv)) out.push({ pid: Number(e), netns: readlinkSync(`/proc/${e}/ns/net`) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

d('per-node capture on real pods', () => {
  let installed: DevInstallCluster | undefined;
  let kubectl: Kubectl;

  beforeAll(async () => {
    installed = await startDevInstallCluster('node-capture', ['node-a', 'node-b', 'node-c'], NS);
    ({ kubectl } = installed);
    await installDevInstall(installed, NS);
  }, 400_000);

  afterAll(async () => {
    await installed?.stop();
  }, 120_000);

  const s3Objects = (prefix: string) => storedObjects(installed!, NS, prefix);

  const startTarget = async (name: string): Promise<void> => {
    await kubectl.apply(
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: TARGET_NS, labels: LABEL },
        spec: {
          nodeName: NODE_OF(name),
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'ping', image: 'nicolaka/netshoot:latest', command: ['ping'], args: ['-i', '0.2', '-s', String(SIZES[name]), `ping-target.${TARGET_NS}.svc.cluster.local`] }],
        },
      }),
    );
  };
  const running = (name: string) => waitFor(`pod ${name} running`, async () => {
    const p = await kubectl.getJson<Obj>(['pod', '-n', TARGET_NS, name]);
    return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
  }, 120_000, 500);
  const nodeJobs = async () => (await kubectl.getJson<{ items: Obj[] }>(['jobs', '-n', NS, '-l', Labels.node])).items.filter((j) => j.metadata?.labels?.[Labels.jobName] === SJ);
  const assigned = async (node: string): Promise<string[]> => {
    const list = await kubectl.getJson<{ items: (Obj & SecretObj)[] }>(['secrets', '-n', NS, '-l', `${Labels.component}=assignment,${Labels.node}=${node}`]);
    const s = list.items.find((x) => x.metadata?.labels?.[Labels.jobName] === SJ);
    return s?.data?.[ASSIGNMENT_KEY] ? parseAssignment(Buffer.from(s.data[ASSIGNMENT_KEY], 'base64').toString('utf8')).targets.map((t) => t.pod) : [];
  };

  test('2 capture pods for 6 targets on 2 nodes, joins, a third node, one tool killed, each pcap its own pings', async () => {
    const first = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
    for (const p of first) await startTarget(p);
    const ips = new Map<string, string>();
    for (const p of first) ips.set(p, (await running(p)).status!.podIP!);

    await kubectl.apply(
      stringify({
        apiVersion: 'job.fennecproject.io/v1alpha1',
        kind: 'SnoopyJob',
        metadata: { name: SJ, namespace: NS },
        spec: { command: 'tcpdump', args: '-n -i eth0 -U -w - icmp', labelSelector: LABEL, targetNamespace: TARGET_NS, timer: '150s', evidence: false, dataEndpointRef: { name: 'snoopydataendpoint-sample', namespace: NS } },
      }),
    );
    await waitFor('two node capture Jobs', async () => (await nodeJobs()).length === 2, 120_000, 500);
    const tcpdumps = (pod: string) => {
      const ping = processes((a) => a[0]?.endsWith('ping') === true && a.includes(String(SIZES[pod])));
      const nets = new Set(ping.map((p) => p.netns));
      return processes((a) => a[0]?.endsWith('tcpdump') === true).filter((p) => nets.has(p.netns));
    };
    await waitFor('a tcpdump in each first target\'s namespace', () => first.every((p) => tcpdumps(p).length === 1), 180_000, 500);
    expect((await nodeJobs()).length).toBe(2);

    // during the run: a4 on node-a joins node-a's capture pod; c1 on node-c gets a new one
    await startTarget('a4');
    await startTarget('c1');
    ips.set('a4', (await running('a4')).status!.podIP!);
    ips.set('c1', (await running('c1')).status!.podIP!);
    await waitFor('a4 in node-a\'s assignment', async () => (await assigned('node-a')).includes('a4'), 120_000, 500);
    await waitFor('a third node capture Job', async () => (await nodeJobs()).length === 3, 120_000, 500);
    await waitFor('a tcpdump for a4 (joined) and c1', () => tcpdumps('a4').length === 1 && tcpdumps('c1').length === 1, 180_000, 500);
    const jobs = await nodeJobs();
    expect(jobs.map((j) => j.metadata!.labels![Labels.node]).sort()).toEqual(['node-a', 'node-b', 'node-c']);

    // b2's tool dies: b2 fails, nothing else does
    process.kill(tcpdumps('b2')[0]!.pid, 'SIGKILL');

    type Target = { pod: string; node?: string; state: string; toolExitCode?: number; message?: string };
    type View = Obj & { status?: { captureId?: string; targetCount?: number; targetStates?: Record<string, number>; nodeCount?: number; targets?: Target[]; nodes?: { node: string; state: string }[] } };
    const sj = await waitFor('the run to finish', async () => {
      const s = await kubectl.getJson<View>(['snoopyjobs', '-n', NS, SJ]);
      return s.status?.phase === 'Completed' || s.status?.phase === 'Failed' ? s : undefined;
    }, 400_000, 1000);
    process.stdout.write(`node-capture e2e: ${JSON.stringify({ phase: sj.status!.phase, states: sj.status!.targetStates, nodes: sj.status!.nodes })}\n`);
    expect(sj.status!.phase).toBe('Failed');
    expect(sj.status!.targetCount).toBe(8);
    expect(sj.status!.nodeCount).toBe(3);
    expect(sj.status!.targetStates).toEqual({ Succeeded: 7, Failed: 1 });
    expect(sj.status!.targets!.filter((t) => t.state !== 'Succeeded').map((t) => [t.pod, t.node])).toEqual([['b2', 'node-b']]);
    // each node capture pod ran once and was not retried
    for (const j of jobs) expect(condTrue(await kubectl.getJson<Obj>(['job', '-n', NS, j.metadata!.name!]), 'Complete')).toBe(true);

    // every other target's pcaps: its own pings only (its address, its payload size), and some of them
    for (const pod of Object.keys(SIZES).filter((p) => p !== 'b2')) {
      const stored = await s3Objects(`${NS}/${SJ}/${sj.status!.captureId}/${TARGET_NS}/${pod}/`);
      const pcaps = [...stored.keys()].filter((k) => /\/\d{6}\.pcap$/.test(k)).sort();
      expect(pcaps.length).toBeGreaterThanOrEqual(1);
      let requests = 0;
      for (const key of pcaps) {
        expect(parseCapture(stored.get(key)!)).toMatchObject({ format: 'pcap', truncated: false, errors: [] });
        const file = join(installed!.stateDir, key.replace(/\//g, '_'));
        writeFileSync(file, stored.get(key)!);
        const { stdout } = await exec('tcpdump', ['-r', file, '-nn', 'icmp[icmptype] == icmp-echo']);
        for (const line of stdout.trim().split('\n').filter(Boolean)) {
          expect(line).toContain(`${ips.get(pod)} >`);
          expect(line).toMatch(new RegExp(`length ${SIZES[pod]! + 8}$`));
          requests++;
        }
      }
      expect(requests).toBeGreaterThanOrEqual(5);
    }
  }, 900_000);
});
