// The evidence names the target's peers, on the dev cluster (API server, controllers and a kubelet
// running pods as local processes in their own network namespaces, with the Service stand-in's
// DNAT in each pod's namespace; needs root): a client pod fetches from a server pod through its
// Service, and podtracer, finding the client through the API as in a capture pod, takes the
// evidence of a short tcpdump capture. The Service's cluster IP the client dialled and the server
// pod it reached are named from the API; the analyzer then names the captured flow's two ends.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { analyzeSources, nameFlows } from '../../functions/analyzer/harness.js';
import { cleanupStateDir, ensureClusterNetwork, startDevCluster, type DevCluster } from '../../infra/devcluster/harness.js';
import type { Evidence } from '../../lib/evidence/schema.js';
import { quiet } from '../../lib/testing/quiet-logger.js';
import { waitFor } from '../../lib/testing/wait-for.js';
import { runPodtracer } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;
const NS = 'evpeers';

let stateDir: string;
let cluster: DevCluster | undefined;
let core: CoreV1Api;

const pod = (name: string, labels: Record<string, string>, command: string[]): V1Pod => ({
  metadata: { name, namespace: NS, labels },
  spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'debian', command }] },
});

beforeAll(async () => {
  if (!isRoot) return;
  stateDir = mkdtempSync(join(tmpdir(), 'snoopy-evidence-peers-'));
  const net = await ensureClusterNetwork(stateDir);
  cluster = await startDevCluster({ nodes: ['node-a'], stateDir, host: net.gateway, logger: quiet });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await core.createNamespacedPod({ namespace: NS, body: pod('web', { app: 'web' }, ['python3', '-m', 'http.server', '8080']) });
  const svc: V1Service = { metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } };
  await core.createNamespacedService({ namespace: NS, body: svc });
  // a bounded loop: one request through the Service every 200 ms, for at most 10 minutes
  await core.createNamespacedPod({
    namespace: NS,
    body: pod('client', { app: 'client' }, ['bash', '-c', 'for i in $(seq 1 3000); do curl -s -o /dev/null http://web/; sleep 0.2; done']),
  });
  await waitFor('both pods running', async () => {
    const pods = (await core.listNamespacedPod({ namespace: NS })).items;
    return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running' && p.status.podIP);
  }, 120_000, 500);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  if (stateDir) {
    await cleanupStateDir(stateDir).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}, 120_000);

d('peers in the evidence, on the dev cluster', () => {
  test('the client\'s evidence names the Service it dialled and the server pod; the analyzer names the flow', async () => {
    const out = join(stateDir, 'capture');
    const term = join(stateDir, 'capture.json');
    // ends after 20 packets of the client's requests (bounded by the timer)
    const r = await runPodtracer(
      ['run', '--pod', 'client', '-n', NS, '--proc-root', '/proc', '--output-dir', out, '--evidence', 'on', '--timer', '120s', '--',
        'tcpdump', '-i', 'eth0', '-c', '20', '-U', '-n', '-w', '-', 'tcp', 'port', '8080'],
      { terminationLog: term, env: { KUBECONFIG: cluster!.kubeconfigPath } },
    );
    expect([r.code, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    const e = JSON.parse(readFileSync(join(out, 'evidence.json'), 'utf8')) as Evidence;
    const [web, client] = await Promise.all(['web', 'client'].map((name) => core.readNamespacedPod({ name, namespace: NS })));
    const service = await core.readNamespacedService({ name: 'web', namespace: NS });
    const clusterIP = service.spec!.clusterIP!;
    expect(e.podIPs).toEqual([client!.status!.podIP]);
    // the client's conntrack entries: the cluster IP it dialled, translated to the server pod
    expect(e.after!.sources.conntrack!.text).toContain(`dst=${clusterIP} sport=`);
    expect(e.peers).toEqual(
      expect.arrayContaining([
        { ip: clusterIP, kind: 'service', namespace: NS, name: 'web' },
        { ip: web!.status!.podIP, kind: 'pod', namespace: NS, name: 'web' },
      ]),
    );
    expect(e.summary.missing.filter((m) => m.startsWith('api'))).toEqual([]);

    // the analyzer: the captured flows (after the DNAT: client pod → server pod) named from it
    const summary = await analyzeSources([{ kind: 'file', path: join(out, '000000.pcap') }]);
    expect(summary.flows.length).toBeGreaterThan(0);
    nameFlows(summary, e);
    for (const f of summary.flows) expect([f.clientName, f.serverName]).toEqual([`pod ${NS}/client`, `pod ${NS}/web`]);
    process.stdout.write(`evidence peers: ${JSON.stringify(e.peers)}, flows ${summary.flows.length}, snapshots ${e.before.ms}/${e.after!.ms} ms\n`);
  }, 180_000);

  test('the server\'s evidence lists the Services whose EndpointSlices hold its IP, and only those', async () => {
    // the slices an EndpointSlice controller would write (this dev cluster has none): one for the
    // Service that selects the server, one for another Service whose endpoint is another address
    const web = await core.readNamespacedPod({ name: 'web', namespace: NS });
    const discovery = cluster!.kubeConfig.makeApiClient(DiscoveryV1Api);
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'other', namespace: NS }, spec: { selector: { app: 'other' }, ports: [{ port: 80 }] } } });
    const slice = (name: string, service: string, ip: string) => ({
      metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
    await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice('web-abcde', 'web', web.status!.podIP!) });
    await discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice('other-abcde', 'other', '10.200.9.9') });
    const out = join(stateDir, 'server');
    const r = await runPodtracer(
      ['run', '--pod', 'web', '-n', NS, '--proc-root', '/proc', '--output-dir', out, '--evidence', 'on', '--timer', '120s', '--',
        'tcpdump', '-i', 'eth0', '-c', '4', '-U', '-n', '-w', '-', 'tcp', 'port', '8080'],
      { terminationLog: join(stateDir, 'server.json'), env: { KUBECONFIG: cluster!.kubeconfigPath } },
    );
    expect([r.code, r.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
    const e = JSON.parse(readFileSync(join(out, 'evidence.json'), 'utf8')) as Evidence;
    const service = await core.readNamespacedService({ name: 'web', namespace: NS });
    expect(e.services).toEqual([{ name: 'web', namespace: NS, clusterIPs: [service.spec!.clusterIP!] }]);
  }, 180_000);
});
