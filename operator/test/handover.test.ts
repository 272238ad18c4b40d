// Lease hand-over on a graceful stop, with two operator instances on one API server: a leader
// stopped in the middle of a slow reconcile must finish (or give up) its writes before it
// releases the lease, so that none of them lands after the new leader's first write. Each
// instance talks through its own recording proxy; the API server's resourceVersions (one global
// counter) give the order in which it committed the two instances' writes.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { Operator } from '../operator.js';
import { Labels } from '../../lib/api/names.js';
import { SNOOPYJOBS, getObject } from '../../lib/kube/client.js';
import type { SnoopyJob } from '../../lib/api/schema.js';
import { SEED_SPEC, createRunningPod, createSnoopyJob, listJobs, quiet, startTestCluster, testConfig, waitFor, type TestCluster } from './helpers.js';
import { startApiProxy, type ApiProxy } from './api-proxy.js';

const PODS = 30;
/** How long the old leader's Job creates are held when the new leader writes nothing meanwhile. */
const HOLD_MS = 2_000;

let cluster: TestCluster;
const proxies: ApiProxy[] = [];
const operators: Operator[] = [];

beforeAll(async () => {
  cluster = await startTestCluster(['snoopy-operator', 'cnf-telco']);
});

afterAll(async () => {
  for (const o of operators) await o.stop();
  for (const p of proxies) await p.stop();
  await cluster?.stop();
});

async function startInstance(identity: string): Promise<{ operator: Operator; proxy: ApiProxy }> {
  const proxy = await startApiProxy(cluster.api.url);
  proxies.push(proxy);
  const config = testConfig({
    SNOOPY_LEADER_ELECTION: 'true',
    POD_NAME: identity,
    // long: the lease can only change hands through the release on stop
    SNOOPY_LEASE_DURATION_SECONDS: '60',
    SNOOPY_RENEW_DEADLINE_SECONDS: '40',
    SNOOPY_RETRY_PERIOD_SECONDS: '1',
    // one Job per target pod: enough Job creates in flight to hold some of them back
    SNOOPY_CAPTURE_PODS: 'per-target',
  });
  const operator = new Operator({ kubeConfig: proxy.kc, config, logger: quiet });
  operators.push(operator);
  await operator.start();
  return { operator, proxy };
}

test('a stopped leader makes no write after the new leader has started writing', async () => {
  const { kube } = cluster;
  const old = await startInstance('old-leader');
  await waitFor('old leader ready', () => old.operator.isLeader && old.operator.isReady);
  const next = await startInstance('new-leader');
  await waitFor('new instance ready as standby', () => next.operator.isReady);
  expect(next.operator.isLeader).toBe(false);

  for (let i = 0; i < PODS; i++) await createRunningPod(kube, 'cnf-telco', `target-${String(i).padStart(2, '0')}`, { handover: 'yes' }, `node-${i % 3}`);
  // the old leader's capture Job creates are held: its reconcile is in flight when it is stopped
  old.proxy.hold((method, path) => method === 'POST' && /\/namespaces\/snoopy-operator\/jobs(\?|$)/.test(path));
  await createSnoopyJob(kube, 'snoopy-operator', 'handover', { ...SEED_SPEC, labelSelector: { handover: 'yes' } });
  await waitFor('the old leader creating Jobs', () => old.proxy.held > 0);
  const heldAtStop = old.proxy.held;

  const stopping = old.operator.stop();
  // The held creates go on once the new leader has written something (with the lease released
  // first, that is the fault) or, if it writes nothing meanwhile, after a while.
  const firstWriteOfNew = waitFor('a write of the new leader', () => next.proxy.writes.length > 0, HOLD_MS, 20).catch(() => undefined);
  await firstWriteOfNew;
  old.proxy.release();
  await stopping;

  await waitFor('the new leader in charge', () => next.operator.isLeader && next.operator.isReady && next.proxy.writes.length > 0);
  const sj = await waitFor('the SnoopyJob', () => getObject<SnoopyJob>(kube, SNOOPYJOBS, 'snoopy-operator', 'handover'));
  await waitFor('the new leader finishing the run', async () => {
    const jobs = (await listJobs(kube)).filter((j) => j.metadata?.labels?.[Labels.jobUid] === sj.metadata.uid);
    const fresh = await getObject<SnoopyJob>(kube, SNOOPYJOBS, 'snoopy-operator', 'handover');
    return jobs.length === PODS && fresh?.status?.phase === 'Running' && fresh.status.targets?.length === PODS;
  });

  const oldWrites = old.proxy.writes;
  const newWrites = next.proxy.writes;
  // the test exercised what it claims: writes of the old leader were in flight when it stopped
  expect(heldAtStop).toBeGreaterThan(0);
  expect(oldWrites.filter((w) => w.method === 'POST' && w.path.includes('/jobs')).length).toBeGreaterThan(0);
  for (const w of [...oldWrites, ...newWrites]) expect(w.rv).toEqual(expect.any(Number));
  const firstOfNew = Math.min(...newWrites.map((w) => w.rv!));
  const late = oldWrites.filter((w) => w.rv! > firstOfNew).map((w) => `${w.method} ${w.path} rv ${w.rv}`);
  expect({ firstWriteOfNewLeader: newWrites[0] && `${newWrites[0].method} ${newWrites[0].path} rv ${firstOfNew}`, oldLeaderWritesAfterIt: late }).toEqual({
    firstWriteOfNewLeader: expect.stringContaining('leases'),
    oldLeaderWritesAfterIt: [],
  });
  // the release is the old leader's last write
  expect(oldWrites[oldWrites.length - 1]!.path).toContain('/leases/');
});
