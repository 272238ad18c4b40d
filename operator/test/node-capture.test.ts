// Per-node capture (the default) against the dev cluster's API server: the operator makes one
// assignment Secret and one capture Job per node with targets, adds a pod appearing on such a
// node to that node's Secret, gives a pod on a new node its own Secret and Job, reads the node
// capture pods' reports into a bounded status, and removes it all with the SnoopyJob. The
// kubelet and Job controller are played by the test (helpers.ts), as in snoopyjob.test.ts.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1Job, V1Secret } from '@kubernetes/client-node';
import { Operator } from '../operator.js';
import type { SnoopyJob } from '../../lib/api/schema.js';
import { Labels } from '../../lib/api/names.js';
import { SNOOPYJOBS, getObject } from '../../lib/kube/client.js';
import { ASSIGNMENT_KEY, NODE_TOKEN_KEY, encodeNodeReport, parseAssignment, type NodeTargetReport } from '../../lib/contracts/node-capture.js';
import { verifyNodeToken, verifyToken } from '../../lib/token.js';
import { SEED_SPEC, createRunningPod, createSnoopyJob, finishJob, listJobs, quiet, startTestCluster, testConfig, waitFor, type TestCluster } from './helpers.js';

let cluster: TestCluster;
let operator: Operator;

beforeAll(async () => {
  cluster = await startTestCluster();
  operator = new Operator({ kubeConfig: cluster.kc, config: testConfig({ SNOOPY_STATUS_TARGETS: '4' }), logger: quiet });
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await cluster?.stop();
});

const LABELS = { networkMonitor: 'true' };
const getSJ = () => getObject<SnoopyJob>(cluster.kube, SNOOPYJOBS, 'snoopy-operator', 'nodes');
const nodeJobs = async (uid: string) => (await listJobs(cluster.kube)).filter((j) => j.metadata?.labels?.[Labels.jobUid] === uid && j.metadata.labels[Labels.node]);
async function assignments(uid: string): Promise<Map<string, V1Secret>> {
  const list = await cluster.kube.core.listNamespacedSecret({ namespace: 'snoopy-operator', labelSelector: `${Labels.jobUid}=${uid},${Labels.component}=assignment` });
  return new Map(list.items.map((s) => [s.metadata!.labels![Labels.node]!, s]));
}
const decode = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString('utf8');
const podsIn = (s: V1Secret) => parseAssignment(decode(s, ASSIGNMENT_KEY)).targets.map((t) => t.pod);

describe('per-node capture', () => {
  test('6 targets on 2 nodes: 2 Jobs; joins; a third node; reports into a bounded status; cleanup', async () => {
    for (const p of ['a1', 'a2', 'a3']) await createRunningPod(cluster.kube, 'cnf-telco', p, LABELS, 'node-a');
    for (const p of ['b1', 'b2', 'b3']) await createRunningPod(cluster.kube, 'cnf-telco', p, LABELS, 'node-b');
    await createSnoopyJob(cluster.kube, 'snoopy-operator', 'nodes', SEED_SPEC);
    const uid = await waitFor('the SnoopyJob has a uid', async () => (await getSJ())?.metadata.uid);
    const jobs = await waitFor('two node capture Jobs', async () => {
      const j = await nodeJobs(uid);
      return j.length === 2 ? j : undefined;
    });
    expect(jobs.map((j) => j.metadata!.labels![Labels.node]).sort()).toEqual(['node-a', 'node-b']);
    const secrets = await assignments(uid);
    expect(podsIn(secrets.get('node-a')!)).toEqual(['a1', 'a2', 'a3']);
    expect(podsIn(secrets.get('node-b')!)).toEqual(['b1', 'b2', 'b3']);
    const sj = (await getSJ())!;
    const cid = sj.status!.captureId!;
    // a node's token serves its own node's manifest only, and no pod's segments
    const nodeToken = decode(secrets.get('node-a')!, NODE_TOKEN_KEY);
    const key = Buffer.from((await cluster.kube.core.readNamespacedSecret({ namespace: 'snoopy-operator', name: 'snoopy-token-key' })).data!.key!, 'base64').toString('utf8');
    expect(verifyNodeToken(key, nodeToken, { cid, job: 'snoopy-operator/nodes', node: 'node-a' }).ok).toBe(true);
    expect(verifyNodeToken(key, nodeToken, { cid, job: 'snoopy-operator/nodes', node: 'node-b' }).ok).toBe(false);
    expect(verifyToken(key, nodeToken, { cid, ns: 'cnf-telco', pod: 'b1', job: 'snoopy-operator/nodes' }).ok).toBe(false);
    const a1Key = parseAssignment(decode(secrets.get('node-a')!, ASSIGNMENT_KEY)).targets[0]!.tokenKey;
    expect(verifyToken(key, decode(secrets.get('node-a')!, a1Key), { cid, ns: 'cnf-telco', pod: 'a1', job: 'snoopy-operator/nodes' }).ok).toBe(true);
    expect(verifyToken(key, decode(secrets.get('node-a')!, a1Key), { cid, ns: 'cnf-telco', pod: 'b1', job: 'snoopy-operator/nodes' }).ok).toBe(false);

    // a pod on node-a joins node-a's capture pod; one on node-c gets its own
    await createRunningPod(cluster.kube, 'cnf-telco', 'a4', LABELS, 'node-a');
    await waitFor('a4 in node-a\'s assignment', async () => podsIn((await assignments(uid)).get('node-a')!).includes('a4'));
    await createRunningPod(cluster.kube, 'cnf-telco', 'c1', LABELS, 'node-c');
    const all = await waitFor('a third node capture Job', async () => {
      const j = await nodeJobs(uid);
      return j.length === 3 ? j : undefined;
    });
    expect(podsIn((await assignments(uid)).get('node-c')!)).toEqual(['c1']);
    const running = await waitFor('status with 8 targets on 3 nodes', async () => {
      const s = (await getSJ())?.status;
      return s?.targetCount === 8 && s.nodeCount === 3 ? s : undefined;
    });
    expect(running.targets!.length).toBe(4);
    expect(running.targetsOmitted).toBe(4);

    // the node capture pods end; b2's tool failed
    const report = (node: string, pods: string[]): Record<string, unknown> =>
      JSON.parse(encodeNodeReport(node, pods.map((p): NodeTargetReport => (p === 'b2' ? { namespace: 'cnf-telco', pod: p, state: 'Failed', toolExitCode: 1, message: 'tcpdump: eth0: No such device' } : { namespace: 'cnf-telco', pod: p, state: 'Succeeded', bytes: 1000, segments: 1, stopReason: 'timer' })))) as Record<string, unknown>;
    const byNode = (n: string) => all.find((j) => j.metadata!.labels![Labels.node] === n)! as V1Job;
    await finishJob(cluster.kube, byNode('node-a'), 'Complete', report('node-a', ['a1', 'a2', 'a3', 'a4']));
    await finishJob(cluster.kube, byNode('node-b'), 'Complete', report('node-b', ['b1', 'b2', 'b3']));
    await finishJob(cluster.kube, byNode('node-c'), 'Complete', report('node-c', ['c1']));
    const done = await waitFor('the run finished', async () => {
      const s = (await getSJ())?.status;
      return s?.phase === 'Failed' ? s : undefined;
    });
    expect(done).toMatchObject({ targetCount: 8, nodeCount: 3 });
    // as stored: the merge patches left no count of an earlier state behind
    expect(done.targetStates).toEqual({ Succeeded: 7, Failed: 1 });
    expect(done.targets!.find((t) => t.state === 'Failed')).toMatchObject({ pod: 'b2', node: 'node-b', toolExitCode: 1, message: 'tcpdump: eth0: No such device' });
    expect(done.nodes!.map((n) => [n.node, n.state, n.counts])).toEqual([
      ['node-a', 'Succeeded', { Succeeded: 4 }],
      ['node-b', 'Succeeded', { Succeeded: 2, Failed: 1 }],
      ['node-c', 'Succeeded', { Succeeded: 1 }],
    ]);

    // the SnoopyJob goes, and its Jobs and Secrets with it
    await cluster.kube.custom.deleteNamespacedCustomObject({ ...SNOOPYJOBS, namespace: 'snoopy-operator', name: 'nodes' });
    await waitFor('Secrets and Jobs removed', async () => (await assignments(uid)).size === 0 && (await nodeJobs(uid)).length === 0);
  });
});
