// kubectl-snoopy end to end on the full dev cluster (needs root: pods run as local processes in
// their own network namespaces): the seed's pinging pods, a SnoopyDataEndpoint whose collector
// stores into an S3 server started by the suite (the embedded one, e2e.test.ts, or Ceph RGW,
// e2e-rgw.test.ts), the operator. The CLI, run as a child
// process like a user runs it, captures with --wait, downloads with --merge (credentials from the
// endpoint's Secret), and the merged pcap is read back by tcpdump -r.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CloudEvent } from 'cloudevents';
import { parse } from 'yaml';
import { EventSink } from '../../lib/event-sink.js';
import { EventType } from '../../lib/events.js';
import { SHA256_TAG } from '../../lib/storage-keys.js';
import { createHandler } from '../../functions/analyzer/harness.js';
import { repoPath } from '../../lib/repo-root.js';
import { cleanupStateDir, ensureClusterNetwork, startDevCluster, type DevCluster } from '../../infra/devcluster/harness.js';
import { startS3TestServer, type S3TestServer } from '../../infra/s3/harness.js';
import { DATAENDPOINTS, createObject, getObject, makeKube, type Kube } from '../../lib/kube/client.js';
import { Operator, testConfig } from '../../operator/harness.js';
import type { SnoopyDataEndpoint, SnoopyJob } from '../../lib/api/schema.js';
import { quiet } from '../../lib/testing/quiet-logger.js';
import { waitFor } from '../../lib/testing/wait-for.js';
import { CLI_MAIN, cleanEnv, runCli } from './run-cli.js';

export function defineCliE2e(backend: 'embedded' | 'rgw'): void {
  const exec = promisify(execFile);
  const NS = 'snoopy-operator';
  let stateDir: string;
  let work: string;
  let cluster: DevCluster | undefined;
  let s3: S3TestServer | undefined;
  let kube: Kube;
  let operator: Operator | undefined;
  let kubeconfig: string;
  let targets: V1Pod[] = [];

  async function tcpdumpCount(file: string, filter: string[]): Promise<number> {
    const { stdout } = await exec('tcpdump', ['-n', '-r', file, ...filter], { maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter((l) => l.trim() !== '').length;
  }

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'snoopy-cli-e2e-'));
    work = mkdtempSync(join(tmpdir(), 'snoopy-cli-out-'));
    const net = await ensureClusterNetwork(stateDir);
    cluster = await startDevCluster({ nodes: ['node-a', 'node-b'], stateDir, host: net.gateway, logger: quiet });
    kubeconfig = cluster.kubeconfigPath;
    // on the cluster bridge, so the collector pod reaches it as the CLI does
    s3 = await startS3TestServer(backend, { parentDir: stateDir, address: net.gateway, buckets: ['snoopy'] });
    kube = makeKube(cluster.kubeConfig);
    for (const file of ['job.fennecproject.io_snoopyjobs.yaml', 'data.fennecproject.io_snoopydataendpoints.yaml']) {
      await kube.custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: parse(readFileSync(repoPath('infra', 'crds', file), 'utf8')) });
    }
    await kube.core.createNamespace({ body: { metadata: { name: NS } } });
    await kube.core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'snoopy-capture' } } });
    await kube.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'snoopy-s3' }, stringData: { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } } });
    await exec('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-k', repoPath('infra', 'samples', 'workload')]);
    operator = new Operator({ kubeConfig: cluster.kubeConfig, config: testConfig(), logger: quiet });
    await operator.start();
    await createObject(kube, DATAENDPOINTS, NS, {
      apiVersion: 'data.fennecproject.io/v1alpha1',
      kind: 'SnoopyDataEndpoint',
      metadata: { name: 'store', namespace: NS },
      spec: { serviceName: 'snoopy-data-svc', servicePort: 51001, mode: 'deployment', storage: { bucket: 'snoopy', endpoint: s3.endpoint, credentialsSecret: { name: 'snoopy-s3' } } },
    } as never);
    await waitFor('the collector ready', async () => {
      const de = await getObject<SnoopyDataEndpoint>(kube, DATAENDPOINTS, NS, 'store');
      return de?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 90_000, 500);
    // two pinging pods, so --merge joins two targets' captures
    await exec('kubectl', ['--kubeconfig', kubeconfig, 'scale', 'deployment', 'cnf-example-pod', '-n', 'cnf-telco', '--replicas=2']);
    targets = await waitFor('two pinging pods running', async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace: 'cnf-telco', labelSelector: 'networkMonitor=true' })).items;
      const running = pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
      return running.length === 2 ? running : undefined;
    }, 90_000, 500);
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
    await s3?.stop().catch(() => undefined);
    if (stateDir) {
      await cleanupStateDir(stateDir).catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  /** A target's segment keys in sequence order (the bounded status lists no objects: storage does). */
  const segmentKeys = async (client: S3Client, podNamespace: string, pod: string): Promise<string[]> => {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'snoopy', Prefix: `${NS}/pings/` }));
    return (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.includes(`/${podNamespace}/${pod}/`) && /\/\d{6}\.pcap$/.test(k)).sort();
  };

  describe(`kubectl-snoopy on the dev cluster, storage: ${backend}`, () => {
    test('no matching pods, no such endpoint or container: refused before anything is created', async () => {
      const r = await runCli(['capture', '-n', 'cnf-telco', '-l', 'app=nothing-here', '--endpoint', 'store', '--name', 'nopods', '--kubeconfig', kubeconfig]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('error: no pods match app=nothing-here in namespace cnf-telco: nothing to capture\n');
      const noNamespace = await runCli(['capture', '-n', 'nope', '-l', 'app=x', '--endpoint', 'store', '--kubeconfig', kubeconfig]);
      expect(noNamespace.code).toBe(1);
      expect(noNamespace.stderr).toBe('error: namespace nope does not exist (check -n; kubectl get namespaces lists them)\n');
      const noEndpoint = await runCli(['capture', '-n', 'cnf-telco', '-l', 'networkMonitor=true', '--endpoint', 'nope', '--kubeconfig', kubeconfig]);
      expect(noEndpoint.code).toBe(1);
      expect(noEndpoint.stderr).toBe('error: SnoopyDataEndpoint "nope" not found in namespace "snoopy-operator"\n');
      const noContainer = await runCli(['capture', '-n', 'cnf-telco', '-l', 'networkMonitor=true', '--container', 'sidecar', '--endpoint', 'store', '--kubeconfig', kubeconfig]);
      expect(noContainer.code).toBe(1);
      expect(noContainer.stderr).toMatch(/^error: container "sidecar" is not in pods cnf-example-pod-[a-z0-9-]+, cnf-example-pod-[a-z0-9-]+\n$/);
      const list = await runCli(['list', '-o', 'json', '--kubeconfig', kubeconfig]);
      expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toEqual([]);
    });

    test('capture --wait → status → download --merge → tcpdump -r sees the pings; progress bar only on a terminal', async () => {
      // no --endpoint: "store" is the job namespace's only SnoopyDataEndpoint
      const cap = await runCli(['capture', '-n', 'cnf-telco', '-l', 'networkMonitor=true', '--timer', '6s', '--name', 'pings', '--filter', 'icmp', '--wait', '--kubeconfig', kubeconfig], cleanEnv(), 200_000);
      process.stdout.write(`capture: ${cap.stdout}${cap.stderr}\n`);
      expect(cap.code).toBe(0);
      expect(cap.stdout).toMatch(/snoopyjob\.job\.fennecproject\.io\/pings created in snoopy-operator \(\d+ target pods match\)/);
      expect(cap.stderr).toMatch(/pings: Completed — 2 targets \(2 Succeeded\).* \(elapsed \d+s, /);
      expect(cap.stderr).toMatch(/^pings: \S+.* \(elapsed \d+s, (starting|\ds left of the 6s timer|timer of 6s over: finishing uploads)\)$/m);

      const st = await runCli(['status', 'pings', '-o', 'json', '--kubeconfig', kubeconfig]);
      const sj = JSON.parse(st.stdout) as SnoopyJob;
      expect(sj.status?.phase).toBe('Completed');
      expect(sj.spec.args).toBe('-i any -U -w - icmp');
      expect(sj.spec.dataEndpointRef).toEqual({ name: 'store' });
      expect(sj.status!.targets!.length).toBe(targets.length);
      const wide = await runCli(['status', 'pings', '-o', 'wide', '--kubeconfig', kubeconfig]);
      for (const p of targets) expect(wide.stdout).toContain(`cnf-telco/${p.metadata!.name}`);
      expect(wide.stdout).toMatch(/Succeeded/);
      const asYaml = await runCli(['status', 'pings', '-o', 'yaml', '--kubeconfig', kubeconfig]);
      expect(parse(asYaml.stdout)).toEqual(JSON.parse(JSON.stringify(sj)));
      const listed = await runCli(['list', '--kubeconfig', kubeconfig]);
      expect(listed.stdout).toMatch(/^pings\s+tcpdump\s+cnf-telco\s+networkMonitor=true\s+Completed/m);
      const all = await runCli(['list', '-A', '-o', 'wide', '--kubeconfig', kubeconfig]);
      expect(all.stdout).toMatch(/^pings\s+tcpdump\s+cnf-telco\s+.*\s+snoopy-operator\s+-\s+6s\s+-i any -U -w - icmp$/m);
      const elsewhere = await runCli(['list', '-n', 'another-namespace', '--kubeconfig', kubeconfig]);
      expect(elsewhere.stdout).toBe('No SnoopyJobs found.\n');

      // piped: no progress bar, just the files written; credentials from the endpoint's Secret
      const outDir = join(work, 'piped');
      const dl = await runCli(['download', 'pings', '-o', outDir, '--merge', '--kubeconfig', kubeconfig]);
      expect(dl.stderr).toBe('');
      expect(dl.code).toBe(0);
      const files = dl.stdout.trim().split('\n');
      // per target its capture and its evidence (tcpdump takes it by default), then the merge
      expect(files.length).toBe(2 * targets.length + 1);
      const merged = join(outDir, 'merged.pcap');
      expect(files[files.length - 1]).toBe(merged);
      const evidenceFiles = files.filter((f) => f.endsWith('.evidence.json'));
      expect(evidenceFiles.length).toBe(targets.length);
      for (const f of evidenceFiles) expect((JSON.parse(readFileSync(f, 'utf8')) as { schemaVersion: number }).schemaVersion).toBe(1);
      let perTarget = 0;
      for (const f of files.slice(0, -1).filter((x) => x.endsWith('.pcap'))) {
        const n = await tcpdumpCount(f, ['icmp']);
        expect(n).toBeGreaterThan(0);
        perTarget += n;
      }
      const inMerged = await tcpdumpCount(merged, ['icmp']);
      expect(inMerged).toBe(perTarget);
      expect(await tcpdumpCount(merged, ['icmp[icmptype] == icmp-echo'])).toBeGreaterThan(0);
      expect(await tcpdumpCount(merged, ['icmp[icmptype] == icmp-echoreply'])).toBeGreaterThan(0);
      const { stdout: sums } = await exec('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outDir });
      expect(sums).toContain('merged.pcap: OK');
      // every segment and every evidence object, by key
      expect(readFileSync(join(outDir, 'segments.sha256'), 'utf8').trim().split('\n').length).toBe(sj.status!.targets!.reduce((n, t) => n + (t.segments ?? 0), 0) + targets.length);

      // on a pseudo-terminal: the bar is drawn on stderr (script merges both streams)
      const ttyDir = join(work, 'tty');
      const { stdout: tty } = await exec('script', ['-qfec', `${process.execPath} ${CLI_MAIN} download pings -o ${ttyDir} --kubeconfig ${kubeconfig}`, '/dev/null'], { env: cleanEnv() });
      // eslint-disable-next-line no-control-regex -- the progress bar's terminal escape is what is checked
      expect(tty).toMatch(/\r\x1b\[2Kdownloading pings \[#+-*\]\s+\d+%/);
      expect(tty).toContain('100%');
      expect(tty).toMatch(/\d+ segments, .* verified into /);
      expect(readdirSync(join(ttyDir, sj.status!.captureId!)).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(readdirSync(ttyDir)).toContain('SHA256SUMS');

      const logs = await runCli(['logs', 'pings', '--kubeconfig', kubeconfig]);
      expect(logs.code).toBe(0);
      // readable: time, level, name, message; -o json: the records as logged
      expect(logs.stdout).toMatch(/^\[[a-z0-9-]+\] \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z\] INFO \(podtracer\): /m);
      const raw = await runCli(['logs', 'pings', '-o', 'json', '--kubeconfig', kubeconfig]);
      const first = /^\[[a-z0-9-]+\] (\{.*)$/m.exec(raw.stdout);
      expect((JSON.parse(first![1]!) as { level: number }).level).toBeGreaterThan(0);

      // completion asks the cluster for SnoopyJob names and namespaces
      const names = await runCli(['__complete', 'status', '--kubeconfig', kubeconfig, 'pi']);
      expect(names.stdout).toBe('pings\n');
      const namespaces = await runCli(['__complete', 'capture', '--kubeconfig', kubeconfig, '-n', 'cnf']);
      expect(namespaces.stdout).toBe('cnf-telco\n');
      const keys = await runCli(['__complete', 'capture', '--kubeconfig', kubeconfig, '-n', 'cnf-telco', '-l', 'network']);
      expect(keys.stdout).toBe('networkMonitor=\n');
    }, 300_000);

    test('summary: the analyzer\'s summaries as a table and as JSON', async () => {
      // no analyzer has run: the segments are analysed here, and the user is told so
      const before = await runCli(['summary', 'pings', '-o', 'json', '--kubeconfig', kubeconfig]);
      expect(before.code).toBe(0);
      expect(before.stderr).toMatch(/^no analyzer summaries under snoopy-operator\/pings\/ \(is an analyzer subscribed to capture\.completed\?\): analysing 2 target\(s\) here with snoopy-analyzer\n$/);
      const local = JSON.parse(before.stdout) as { target: string; summary: { packets: number; icmp: { echoRequests: number; echoReplies: number } } }[];
      expect(local.length).toBe(2);
      for (const l of local) expect(l.summary.icmp.echoRequests).toBeGreaterThan(0);
      // The real analyzer, handed the capture.completed event a Trigger would deliver.
      const sj = await getObject<SnoopyJob>(kube, { group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' }, NS, 'pings');
      const client = s3!.client();
      const analyzer = createHandler({ s3: client, sink: new EventSink({ logger: quiet }), log: quiet });
      for (const t of sj!.status!.targets!) {
        const keys = await segmentKeys(client, t.namespace, t.pod);
        await analyzer({}, new CloudEvent({ type: EventType.CaptureCompleted, source: '/test', data: { bucket: 'snoopy', keys, pod: t.pod, podNamespace: t.namespace } }));
      }
      client.destroy();
      const table = await runCli(['summary', 'pings', '--kubeconfig', kubeconfig]);
      process.stdout.write(`summary:\n${table.stdout}`);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^TARGET\s+PACKETS\s+BYTES\s+NOT IP\s+TCP OK\/ATTEMPTS/);
      // pings on Ethernet: every packet read as IP
      for (const t of sj!.status!.targets!) expect(table.stdout).toMatch(new RegExp(`^${t.namespace}/${t.pod} \\(\\S+\\)\\s+\\d+\\s+\\S+ \\S+\\s+0\\s`, 'm'));
      const json = await runCli(['summary', 'pings', '-o', 'json', '--kubeconfig', kubeconfig]);
      const items = JSON.parse(json.stdout) as { target: string; summary: { packets: number; icmp: { echoRequests: number; echoReplies: number } } }[];
      expect(items.length).toBe(sj!.status!.targets!.length);
      for (const it of items) {
        expect(it.summary.icmp.echoRequests).toBeGreaterThan(0);
        expect(table.stdout).toContain(`${it.summary.icmp.echoReplies}/${it.summary.icmp.echoRequests}`);
        // the same capture analysed here and by the analyzer service: the same figures
        expect(local.find((l) => l.target === it.target)?.summary.icmp).toEqual(it.summary.icmp);
      }
    }, 60_000);

    test('evidence: per target the deltas first, then the unusual things; -o json the objects; --pod one target', async () => {
      const text = await runCli(['evidence', 'pings', '--kubeconfig', kubeconfig]);
      process.stdout.write(`evidence:\n${text.stdout}`);
      expect(text.code).toBe(0);
      for (const p of targets) expect(text.stdout).toContain(`cnf-telco/${p.metadata!.name}`);
      const deltasAt = text.stdout.indexOf('Deltas over');
      expect(deltasAt).toBeGreaterThan(0);
      expect(text.stdout.indexOf('Unusual:')).toBeGreaterThan(deltasAt);
      const json = await runCli(['evidence', 'pings', '-o', 'json', '--kubeconfig', kubeconfig]);
      const items = JSON.parse(json.stdout) as { target: string; evidence: { podIPs: string[]; summary: { deltas?: unknown } } }[];
      expect(items.length).toBe(targets.length);
      for (const it of items) {
        const pod = targets.find((p) => `cnf-telco/${p.metadata!.name}` === it.target)!;
        expect(it.evidence.podIPs).toEqual([pod.status!.podIP]);
        expect(it.evidence.summary.deltas).toBeDefined();
      }
      const one = await runCli(['evidence', 'pings', '--pod', targets[0]!.metadata!.name!, '-o', 'json', '--kubeconfig', kubeconfig]);
      expect((JSON.parse(one.stdout) as unknown[]).length).toBe(1);
    }, 60_000);

    test('a segment altered in storage after it was stored fails the download, naming its sha256', async () => {
      const sj = await getObject<SnoopyJob>(kube, { group: 'job.fennecproject.io', version: 'v1alpha1', plural: 'snoopyjobs' }, NS, 'pings');
      const client = s3!.client();
      const key = (await segmentKeys(client, sj!.status!.targets![0]!.namespace, sj!.status!.targets![0]!.pod))[0]!;
      try {
        const tags = await client.send(new GetObjectTaggingCommand({ Bucket: 'snoopy', Key: key }));
        const recorded = tags.TagSet?.find((t) => t.Key === SHA256_TAG)?.Value;
        expect(recorded).toMatch(/^[0-9a-f]{64}$/); // the collector recorded it when it stored the segment
        const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: 'snoopy', Key: key }))).Body!.transformToByteArray());
        expect(createHash('sha256').update(body).digest('hex')).toBe(recorded);
        body[body.length - 1] ^= 0xff; // same size, one bit pattern changed, old tag kept
        await client.send(new PutObjectCommand({ Bucket: 'snoopy', Key: key, Body: body, Tagging: `${SHA256_TAG}=${recorded}` }));
      } finally {
        client.destroy();
      }
      const r = await runCli(['download', 'pings', '-o', join(work, 'altered'), '--kubeconfig', kubeconfig]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: ${key}: content sha256 `);
      expect(r.stderr).toMatch(/differs from the [0-9a-f]{64} recorded when it was stored\n$/);
    }, 60_000);

    test('storage down: download fails with one line naming the storage', async () => {
      await s3!.stop();
      const r = await runCli(['download', 'pings', '-o', join(work, 'down'), '--kubeconfig', kubeconfig]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: cannot reach storage at http:\/\/[0-9.]+:\d+ bucket snoopy \(ECONNREFUSED\)/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(work, 'down', 'merged.pcap'))).toBe(false);
    }, 60_000);

    test('delete, then status says it is gone', async () => {
      const d = await runCli(['delete', 'pings', '--kubeconfig', kubeconfig]);
      expect(d.code).toBe(0);
      const st = await waitFor('the SnoopyJob gone', async () => {
        const r = await runCli(['status', 'pings', '--kubeconfig', kubeconfig]);
        return r.code === 1 ? r : undefined;
      }, 30_000, 500);
      expect(st.stderr).toBe('error: SnoopyJob "pings" not found in namespace "snoopy-operator" (see --job-namespace)\n');
    }, 60_000);
  });
}
