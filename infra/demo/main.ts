#!/usr/bin/env node
// make demo: Snoopy end to end on a local two-node dev cluster, with the same manifests as a real
// install applied by the real kubectl (infra/dev: infra/default + infra/samples and the few
// dev-cluster differences), a local CloudEvents receiver standing in for the Broker, and the
// seed's flow: two pinging pods, a data endpoint, a 15 s tcpdump SnoopyJob. Prints a report and
// exits 0 only if pcaps with ICMP packets from every target landed in S3.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { exitWithError, parseCommandLine } from '../../lib/command-line.js';
import { EventType } from '../../lib/events.js';
import { createLogger } from '../../lib/log.js';
import { repoPath } from '../../lib/repo-root.js';
import { createS3Client } from '../../lib/s3.js';
import { snoopyJobPrefix } from '../../lib/storage-keys.js';
import { startDevCluster, type DevCluster } from '../devcluster/cluster.js';
import type { S3Backend } from '../devcluster/kubelet/images.js';
import { cleanupStateDir } from '../devcluster/kubelet/index.js';
import { secretStrings, type K8sObject } from '../install/bundle.js';
import { inspectCaptures } from './captures.js';
import { renderDevInstall } from './dev-install.js';
import { Kubectl } from './kubectl.js';
import { formatReport, verdict, type CaptureJob, type TargetPod } from './report.js';
import { startEventReceiver, type EventReceiver } from './sink.js';

// The AWS SDK's notice about Node 20's end of support would land in the middle of the report
// (checked when the first S3 client is made, so set before any is).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `Usage: node dist/infra/demo/main.js [--s3 rgw|embedded] [--state-dir DIR] [--timeout SECONDS]

Runs Snoopy end to end on a local dev cluster (two nodes, pods as local processes in their own
network namespaces; must run as root): applies infra/dev with kubectl, runs the seed's tcpdump
SnoopyJob against two pinging pods, then reports targets, capture Jobs, the objects stored in S3
(sizes and packet counts from tcpdump -r) and the CloudEvents received.
Exit status 0 only if pcaps with ICMP packets from every target are in S3.

  --s3 BACKEND       what stands in for MinIO: rgw (default), a one-node Ceph cluster behind the
                     RADOS Gateway (Debian packages radosgw, ceph-mon, ceph-osd: make deps-ceph),
                     or embedded, the embedded S3 server
  --state-dir DIR    where the cluster keeps its state and logs (default .state/demo)
  --timeout SECONDS  give up after this long (default 170)
`;

const NODES = ['node-a', 'node-b'];
/** What `--s3 rgw` runs (the Debian packages radosgw, ceph-mon, ceph-osd). */
const RGW_TOOLS = ['radosgw', 'radosgw-admin', 'ceph-mon', 'monmaptool', 'ceph-osd', 'ceph'];
const OPERATOR_NS = 'snoopy-operator';
const SNOOPY_JOB = 'snoopy-samplejob';

function fail(message: string): never {
  return exitWithError('demo', message);
}

const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5);
const say = (msg: string) => process.stdout.write(`[${elapsed()}s] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Deadline {
  constructor(private readonly at: number) {}
  left(): number {
    return this.at - Date.now();
  }
}

/** Polls `check` every second until it returns a value (not undefined) or the time is up. */
async function waitFor<T>(what: string, deadline: Deadline, check: () => Promise<T | undefined>, maxMs = Infinity): Promise<T> {
  const until = Date.now() + Math.min(maxMs, Math.max(0, deadline.left()));
  let last = '';
  // a long wait says what it is waiting for, so a slow step can be told from a hung one
  let nextNote = Date.now() + 30_000;
  for (let i = 0; i < 100_000; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message.split('\n')[0]!;
    }
    if (Date.now() >= until) break;
    if (Date.now() >= nextNote) {
      say(`still waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
      nextNote = Date.now() + 30_000;
    }
    await sleep(1000);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
}

function commandExists(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Cleans up after a previous demo that was killed: its pods, namespaces, veths, cgroups, files. */
async function cleanupPrevious(stateDir: string): Promise<void> {
  const pidFile = join(stateDir, 'demo.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
      if (cmdline.includes('demo')) fail(`another demo is running (pid ${pid}); stop it first`);
    }
  }
  const clusterDir = join(stateDir, 'cluster');
  if (existsSync(clusterDir)) {
    const r = await cleanupStateDir(clusterDir);
    say(`cleaned up a previous run (${r.removed} leftovers removed)`);
  }
  rmSync(stateDir, { recursive: true, force: true });
}

interface PodJson {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
interface ListJson<T> {
  items: T[];
}
interface Conditioned {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

const isReady = (p: PodJson) => p.status.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const condition = (o: Conditioned, type: string) => o.status?.conditions?.find((c) => c.type === type);

async function readyPods(kubectl: Kubectl, namespace: string, selector: string, want: number): Promise<PodJson[] | undefined> {
  const pods = (await kubectl.getJson<ListJson<PodJson>>(['pods', '-n', namespace, '-l', selector])).items.filter(isReady);
  return pods.length >= want ? pods : undefined;
}

/** Namespaces and CRDs first, so the rest (custom resources included) finds them. */
function phases(objects: K8sObject[]): { foundations: K8sObject[]; workloads: K8sObject[]; captures: K8sObject[] } {
  const foundation = (o: K8sObject) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition';
  return {
    foundations: objects.filter(foundation),
    workloads: objects.filter((o) => !foundation(o) && o.kind !== 'SnoopyJob'),
    captures: objects.filter((o) => o.kind === 'SnoopyJob'),
  };
}

const toYaml = (objs: K8sObject[]) => objs.map((o) => stringify(o)).join('---\n');

async function run(stateDir: string, deadline: Deadline, s3Backend: S3Backend, resources: { cluster?: DevCluster; receiver?: EventReceiver; workDir?: string }): Promise<boolean> {
  say(`starting the dev cluster (nodes ${NODES.join(', ')}; MinIO runs as ${s3Backend === 'rgw' ? 'Ceph RGW' : 'the embedded S3 server'})`);
  const logger = createLogger('snoopy-demo', process.env.LOG_LEVEL ?? 'warn');
  const cluster = await startDevCluster({ nodes: NODES, stateDir: resolve(stateDir, 'cluster'), logger, s3Backend });
  resources.cluster = cluster;
  const kubectl = new Kubectl(cluster.kubeconfigPath);
  say(`API server ${cluster.url}; kubeconfig ${relative(process.cwd(), cluster.kubeconfigPath)}`);

  // Pods run in their own network namespaces and reach the host through the cluster bridge:
  // the nodes' InternalIP is its address, where the event receiver listens.
  const gateway = await waitFor('the nodes to register', deadline, async () => {
    const nodes = await kubectl.getJson<ListJson<{ status?: { addresses?: { type: string; address: string }[] } }>>(['nodes']);
    if (nodes.items.length < NODES.length) return undefined;
    return nodes.items[0]!.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  });
  const receiver = await startEventReceiver(gateway);
  resources.receiver = receiver;
  say(`CloudEvents receiver (the Broker's stand-in) at ${receiver.url}`);

  // The same manifests as a real install: infra/dev, plus where events go.
  const objects = await renderDevInstall(kubectl, stateDir, OPERATOR_NS, { operatorConfig: [`K_SINK=${receiver.url}`] });
  const { foundations, workloads, captures } = phases(objects);

  say(`kubectl apply: ${foundations.length} namespaces and CRDs`);
  process.stdout.write(indent(await kubectl.apply(toYaml(foundations))));
  for (const crd of foundations.filter((o) => o.kind === 'CustomResourceDefinition')) {
    await waitFor(`CRD ${crd.metadata.name} to be established`, deadline, async () => {
      const c = await kubectl.getJson<Conditioned>(['crd', crd.metadata.name]);
      return condition(c, 'Established')?.status === 'True' ? true : undefined;
    });
  }
  say(`kubectl apply: ${workloads.length} objects (RBAC, operator, MinIO, sample workload, data endpoint)`);
  process.stdout.write(indent(await kubectl.apply(toYaml(workloads))));

  say('waiting for MinIO, the bucket, the operator and two pinging pods');
  const s3Ready = Date.now();
  await waitFor('MinIO', deadline, () => readyPods(kubectl, OPERATOR_NS, 'app.kubernetes.io/name=minio', 1));
  say(`MinIO (${s3Backend === 'rgw' ? 'Ceph RGW' : 'embedded S3 server'}) ready ${((Date.now() - s3Ready) / 1000).toFixed(1)} s after the apply`);
  await waitFor('the bucket Job', deadline, async () => {
    const job = await kubectl.getJson<Conditioned>(['job', '-n', OPERATOR_NS, 'minio-create-bucket']);
    if (condition(job, 'Failed')?.status === 'True') throw new Error('the bucket Job failed');
    if (condition(job, 'Complete')?.status === 'True') return true;
    // retried attempts are worth a word while waiting (waitFor shows the last error)
    const failed = (job as { status?: { failed?: number } }).status?.failed ?? 0;
    if (failed > 0) throw new Error(`${failed} attempt(s) of the bucket Job failed so far; see kubectl -n ${OPERATOR_NS} logs job/minio-create-bucket`);
    return undefined;
  });
  await waitFor('the operator', deadline, () => readyPods(kubectl, OPERATOR_NS, 'app.kubernetes.io/name=snoopy-operator', 1));
  const targets = await waitFor('the sample pods', deadline, () => readyPods(kubectl, 'cnf-telco', 'networkMonitor=true', 2));
  const endpoint = await waitFor('the SnoopyDataEndpoint to be ready', deadline, async () => {
    const ep = await kubectl.getJson<Conditioned & { status?: { address?: string; mode?: string } }>(['snoopydataendpoints', '-n', OPERATOR_NS, 'snoopydataendpoint-sample']);
    return condition(ep, 'Ready')?.status === 'True' ? ep : undefined;
  });
  say(`data endpoint ready: ${endpoint.status?.mode ?? '?'} collector at ${endpoint.status?.address ?? '?'}`);

  say(`kubectl apply: the tcpdump SnoopyJob (${captures.map((c) => c.metadata.name).join(', ')})`);
  process.stdout.write(indent(await kubectl.apply(toYaml(captures))));
  interface SnoopyJobJson {
    status?: {
      phase?: string;
      captureId?: string;
      conditions?: { type: string; status: string; message?: string }[];
      targets?: { pod: string; namespace?: string; node?: string; job?: string; state?: string }[];
    };
  }
  let lastPhase = '';
  const sj = await waitFor('the SnoopyJob to finish', deadline, async () => {
    const j = await kubectl.getJson<SnoopyJobJson>(['snoopyjobs', '-n', OPERATOR_NS, SNOOPY_JOB]);
    const phase = j.status?.phase ?? '';
    if (phase !== lastPhase) {
      say(`SnoopyJob phase ${phase || '(none yet)'}${j.status?.targets ? ` (${j.status.targets.length} targets)` : ''}`);
      lastPhase = phase;
    }
    return ['Completed', 'Failed', 'Invalid', 'NoTargets'].includes(phase) ? j : undefined;
  });
  // capture.completed is sent by the collector when each target's last segment is stored.
  await waitFor('capture.completed events', deadline, async () =>
    receiver.events.filter((e) => e.type === EventType.CaptureCompleted).length >= targets.length ? true : undefined,
    10_000,
  ).catch(() => undefined);

  // Read back what landed in S3, from MinIO (RGW or the embedded S3 server) through its pod IP.
  const minio = (await readyPods(kubectl, OPERATOR_NS, 'app.kubernetes.io/name=minio', 1))![0]!;
  const secret = secretStrings(objects, 'snoopy-s3-credentials');
  const s3 = createS3Client({
    endpoint: `http://${minio.status.podIP}:9000`,
    forcePathStyle: true,
    accessKeyId: secret.AWS_ACCESS_KEY_ID,
    secretAccessKey: secret.AWS_SECRET_ACCESS_KEY,
  });
  const podIPs = new Map(targets.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.status.podIP ?? '']));
  resources.workDir = mkdtempSync(join(tmpdir(), 'snoopy-demo-'));
  const prefix = snoopyJobPrefix(undefined, OPERATOR_NS, SNOOPY_JOB) + (sj.status?.captureId ? `${sj.status.captureId}/` : '');
  const stored = await inspectCaptures(s3, 'snoopy', prefix, podIPs, resources.workDir);
  s3.destroy();

  const jobs: CaptureJob[] = [];
  for (const t of sj.status?.targets ?? []) {
    if (!t.job) continue;
    const j = await kubectl.getJson<{ status?: { succeeded?: number; failed?: number } }>(['job', '-n', OPERATOR_NS, t.job]).catch(() => undefined);
    jobs.push({ name: t.job, node: t.node ?? '?', succeeded: j?.status?.succeeded ?? 0, failed: j?.status?.failed ?? 0 });
  }
  const targetPods: TargetPod[] = targets.map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name, node: p.spec.nodeName ?? '?', ip: p.status.podIP ?? '?' }));
  const observation = {
    snoopyJob: { namespace: OPERATOR_NS, name: SNOOPY_JOB, phase: sj.status?.phase ?? '?', message: condition(sj, 'Ready')?.message },
    targets: targetPods,
    jobs,
    captures: stored,
    events: receiver.events,
    seconds: (Date.now() - started) / 1000,
  };
  const v = verdict(observation);
  process.stdout.write(`\n${formatReport(observation, v)}\n\n`);
  return v.ok;
}

const indent = (text: string) => text.split('\n').filter(Boolean).map((l) => `         ${l}\n`).join('');

async function main(): Promise<number> {
  const parsed = parseCommandLine('demo', HELP, { s3: { type: 'string', default: 'rgw' }, 'state-dir': { type: 'string' }, timeout: { type: 'string', default: '170' } });
  if (!parsed) return 0;
  const { values } = parsed;
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) fail(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  if (process.getuid?.() !== 0) fail('must run as root: the dev cluster creates network namespaces, veths, a bridge and cgroups');
  const missing = ['kubectl', 'tcpdump', 'ip', 'nsenter', 'curl', 'nft'].filter((b) => !commandExists(b));
  if (missing.length > 0) fail(`missing tools: ${missing.join(', ')} (make deps installs them)`);
  const s3Backend = values.s3;
  if (s3Backend !== 'rgw' && s3Backend !== 'embedded') fail(`--s3 must be rgw or embedded, got "${s3Backend}"`);
  const missingCeph = s3Backend === 'rgw' ? RGW_TOOLS.filter((b) => !commandExists(b)) : [];
  if (missingCeph.length > 0) fail(`--s3 rgw: missing ${missingCeph.join(', ')} (make deps-ceph installs them; or --s3 embedded)`);

  const stateDir = resolve(values['state-dir'] ?? repoPath('.state', 'demo'));
  await cleanupPrevious(stateDir);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'demo.pid'), `${process.pid}\n`);

  const resources: { cluster?: DevCluster; receiver?: EventReceiver; workDir?: string } = {};
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      say('stopping the dev cluster');
      await resources.cluster?.stop().catch((e: Error) => process.stderr.write(`demo: stopping the cluster: ${e.message}\n`));
      await resources.receiver?.close();
      // Whatever a stop could not reach (e.g. a process that ignored SIGTERM) is recorded here.
      await cleanupStateDir(join(stateDir, 'cluster')).catch(() => undefined);
      if (resources.workDir) rmSync(resources.workDir, { recursive: true, force: true });
    })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\ndemo: ${sig}; cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  let ok = false;
  try {
    ok = await run(stateDir, new Deadline(started + timeout * 1000), s3Backend, resources);
  } catch (err) {
    process.stdout.write(`\nFAILED: ${(err as Error).message}\n`);
    say(`logs of the pods are under ${relative(process.cwd(), stateDir)}/cluster`);
  }
  await cleanup();
  if (ok) rmSync(stateDir, { recursive: true, force: true });
  say(ok ? 'demo succeeded; nothing left running' : 'demo failed; nothing left running');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
