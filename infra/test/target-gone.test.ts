// A target pod deleted in the middle of its capture, on the full dev cluster installed as `make
// demo` installs it (infra/dev: the operator, the sample data endpoint, the embedded S3 server
// standing in for MinIO): the kubelet stops the pod's container, then deletes its veth under the
// running tcpdump. The capture must end as target-gone: the capture Job Complete without a retry,
// the SnoopyJob Completed with the target Succeeded and stop reason target-gone, and the pcap in
// S3 whole, holding the target's packets from before the deletion. Needs root; skipped otherwise.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { Evidence } from '../../lib/evidence/schema.js';
import { parseCapture } from '../../lib/pcap/index.js';
import { waitFor } from '../../lib/testing/wait-for.js';
import type { Kubectl } from '../demo/kubectl.js';
import { installDevInstall, startDevInstallCluster, storedObjects, type DevInstallCluster } from './dev-install-cluster.js';

const exec = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const NS = 'snoopy-operator';
const TARGET_NS = 'cnf-telco';
const TARGET = 'doomed';
const SJ = 'snoopy-target-gone';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Obj {
  metadata?: { name?: string; uid?: string };
  status?: Record<string, unknown> & { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
const condTrue = (o: Obj | undefined, type: string) => o?.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

d('a target pod deleted during its capture', () => {
  let installed: DevInstallCluster | undefined;
  let kubectl: Kubectl;

  beforeAll(async () => {
    installed = await startDevInstallCluster('target-gone', ['node-a'], NS);
    ({ kubectl } = installed);
    await installDevInstall(installed, NS);
  }, 400_000);

  afterAll(async () => {
    await installed?.stop();
  }, 120_000);

  const s3Objects = (prefix: string) => storedObjects(installed!, NS, prefix);

  test('ends as target-gone: the Job Complete without a retry, the target Succeeded, its pcap in S3 whole', async () => {
    // the target: pings ping-target every 200 ms until it is deleted
    await kubectl.apply(
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: TARGET, namespace: TARGET_NS, labels: { targetGoneTest: 'true' } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'ping', image: 'nicolaka/netshoot:latest', command: ['ping'], args: ['-i', '0.2', `ping-target.${TARGET_NS}.svc.cluster.local`] }],
        },
      }),
    );
    const target = await waitFor('the target pod running', async () => {
      const p = await kubectl.getJson<Obj>(['pod', '-n', TARGET_NS, TARGET]);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    }, 120_000, 500);
    const targetIp = target.status!.podIP!;

    await kubectl.apply(
      stringify({
        apiVersion: 'job.fennecproject.io/v1alpha1',
        kind: 'SnoopyJob',
        metadata: { name: SJ, namespace: NS },
        spec: {
          command: 'tcpdump',
          args: '-n -i eth0 -U -w - icmp',
          labelSelector: { targetGoneTest: 'true' },
          targetNamespace: TARGET_NS,
          // a node capture pod stays for targets that may join until its timer is over, long after
          // this one went away: a short timer ends the run soon after the deletion
          timer: '90s',
          dataEndpointRef: { name: 'snoopydataendpoint-sample', namespace: NS },
        },
      }),
    );
    type Target = { job: string; state: string; stopReason?: string; message?: string; toolExitCode?: number; objects?: string[] };
    type SnoopyJobView = Obj & { status?: { captureId?: string; targets?: Target[] } };
    const job = await waitFor('the capture Job', async () => (await kubectl.getJson<SnoopyJobView>(['snoopyjobs', '-n', NS, SJ])).status?.targets?.[0]?.job, 120_000, 500);
    // tcpdump listening in the target's namespace (podtracer logs the tool's stderr)
    await waitFor('tcpdump listening', async () => (await kubectl.run(['logs', '-n', NS, '-l', `job-name=${job}`, '--tail', '-1'])).includes('listening on eth0'), 120_000, 500);
    // let the capture see some of the target's pings (tcpdump hands packets over within 1 s)
    await sleep(3000);
    await kubectl.run(['delete', 'pod', '-n', TARGET_NS, TARGET, '--wait=true']);
    const goneAt = Date.now();

    const sj = await waitFor('the SnoopyJob to finish', async () => {
      const s = await kubectl.getJson<SnoopyJobView>(['snoopyjobs', '-n', NS, SJ]);
      return s.status?.phase === 'Completed' || s.status?.phase === 'Failed' ? s : undefined;
    }, 300_000, 1000);
    const t = sj.status!.targets![0]!;
    process.stdout.write(`target-gone e2e: target ${JSON.stringify(t)}\n`);
    // which check saw the target gone: podtracer's log says why
    const logs = await kubectl.run(['logs', '-n', NS, '-l', `job-name=${job}`, '--tail', '-1']);
    process.stdout.write(`target-gone e2e: ${logs.split('\n').filter((l) => /target went away|target process is gone/.test(l)).join(' | ') || 'no target-gone line in the log'}\n`);
    expect(sj.status!.phase).toBe('Completed');
    expect(t.state).toBe('Succeeded');
    expect(t.stopReason).toBe('target-gone');
    expect(t.message).toContain('went away');

    // the Job: Complete, one pod, no failure counted, so no retry
    const jobObj = await kubectl.getJson<Obj>(['job', '-n', NS, job]);
    expect(condTrue(jobObj, 'Complete')).toBe(true);
    expect(jobObj.status!.succeeded).toBe(1);
    expect(jobObj.status!.failed ?? 0).toBe(0);
    const pods = (await kubectl.getJson<{ items: Obj[] }>(['pods', '-n', NS, '-l', `job-name=${job}`])).items;
    expect(pods.length).toBe(1);

    // the pcap in S3: every segment whole, the target's echo requests in it, none after its deletion
    const stored = await s3Objects(`${NS}/${SJ}/${sj.status!.captureId}/${TARGET_NS}/${TARGET}/`);
    const pcaps = [...stored.keys()].filter((k) => /\/\d{6}\.pcap$/.test(k)).sort();
    expect(pcaps.length).toBeGreaterThanOrEqual(1);
    // tcpdump takes the evidence by default: evidence.json beside the pcaps (per-node capture lists
    // no objects in the status: the run manifest in storage does)
    const evidenceKey = `${NS}/${SJ}/${sj.status!.captureId}/${TARGET_NS}/${TARGET}/evidence.json`;
    expect(stored.has(evidenceKey)).toBe(true);
    // the first snapshot read the target's namespace, with its IP from the API; the second found
    // the namespace gone (the pod deleted), said so, and gave no deltas
    const evidence = JSON.parse(stored.get(evidenceKey)!.toString()) as Evidence;
    expect(evidence).toMatchObject({ pod: TARGET, namespace: TARGET_NS, podIPs: [targetIp], node: 'node-a' });
    expect(evidence.before.sources.snmp!.status).toBe('ok');
    expect(evidence.before.sources.addresses!.status).toBe('ok');
    expect(evidence.after!.sources.snmp!.status).toBe('netns-gone');
    expect(evidence.summary.deltas).toBeUndefined();
    expect(evidence.summary.missing).toContain('after snmp: netns-gone');
    process.stdout.write(`target-gone e2e: evidence missing ${JSON.stringify(evidence.summary.missing.filter((m) => !m.startsWith('after ')))}, before ${evidence.before.ms} ms\n`);
    let requests = 0;
    for (const key of pcaps) {
      const parsed = parseCapture(stored.get(key)!);
      expect(parsed).toMatchObject({ format: 'pcap', truncated: false, errors: [] });
      const file = join(installed!.stateDir, key.replace(/\//g, '_'));
      writeFileSync(file, stored.get(key)!);
      const { stdout } = await exec('tcpdump', ['-r', file, '-nn', '-tt', `icmp[icmptype] == icmp-echo and src host ${targetIp}`]);
      const times = stdout.trim().split('\n').filter(Boolean).map((l) => Number(l.split(' ')[0]) * 1000);
      for (const at of times) expect(at).toBeLessThanOrEqual(goneAt);
      requests += times.length;
    }
    // 3 s of pings at 200 ms before the deletion: allow for the ring buffer's last second
    expect(requests).toBeGreaterThanOrEqual(5);
  }, 600_000);
});
