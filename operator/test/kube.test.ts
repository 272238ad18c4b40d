// The Kubernetes machinery on its own: the work queue's guarantees, the cache restarting after
// errors, leader election between two electors on one Lease.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { ResilientCache } from '../kube/informer.js';
import { LeaderElector } from '../kube/leader.js';
import { WorkQueue } from '../kube/workqueue.js';
import { LEASES, getObject, plain } from '../../lib/kube/client.js';
import { createRunningPod, quiet, startTestCluster, waitFor, type TestCluster } from './helpers.js';

describe('WorkQueue', () => {
  test('dedups waiting keys, never runs a key twice at once, re-runs a key changed while running', async () => {
    const runs: string[] = [];
    let active = 0;
    let maxActive = 0;
    const perKeyActive = new Map<string, number>();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(
      async (key) => {
        runs.push(key);
        active++;
        maxActive = Math.max(maxActive, active);
        perKeyActive.set(key, (perKeyActive.get(key) ?? 0) + 1);
        expect(perKeyActive.get(key)).toBe(1);
        if (key === 'a' && runs.filter((k) => k === 'a').length === 1) await gate;
        perKeyActive.set(key, perKeyActive.get(key)! - 1);
        active--;
      },
      { workers: 2 },
      () => undefined,
    );
    q.add('a'); // starts, blocks on the gate
    q.add('a'); // a is processing: marked dirty, not run concurrently
    q.add('a');
    q.add('b');
    q.add('c');
    q.add('c'); // waiting: deduplicated
    await waitFor('b and c ran', () => runs.includes('b') && runs.includes('c'));
    expect(runs.filter((k) => k === 'a')).toHaveLength(1);
    release();
    await waitFor('a ran again once', () => runs.filter((k) => k === 'a').length === 2);
    await q.drain();
    expect(runs.sort()).toEqual(['a', 'a', 'b', 'c']);
    expect(maxActive).toBeLessThanOrEqual(2);
    q.stop();
  });

  test('failures come back with a per-key backoff that doubles', async () => {
    const times: number[] = [];
    let fails = 3;
    const errors: string[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (fails-- > 0) throw new Error('boom');
      },
      { workers: 1, baseBackoffMs: 20, maxBackoffMs: 1000 },
      (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    );
    q.add('k');
    await waitFor('four attempts', () => times.length === 4, 10_000, 10);
    expect(errors).toEqual(['k: boom', 'k: boom', 'k: boom']);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // backoff doubles: each gap at least the base delay of its attempt
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    q.stop();
  });

  test("a failure's backoff is not held back by a long requeue already pending for the key", async () => {
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        runs++;
        if (runs === 1) return { requeueAfterMs: 3_600_000 }; // e.g. the next cron schedule, an hour away
        if (runs === 2) throw new Error('conflict');
        return undefined;
      },
      { workers: 1, baseBackoffMs: 20, maxBackoffMs: 1000 },
      () => undefined,
    );
    q.add('k');
    await waitFor('the first run', () => runs === 1, 10_000, 10);
    await q.drain(); // finished, its hour-long requeue pending
    q.add('k'); // a watch event: runs now and fails
    await waitFor('the retry after the failure', () => runs === 3, 10_000, 10);
    q.stop();
  });
});

describe('against the API server', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster(['snoopy-operator', 'ns1']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('the cache restarts after list errors and then follows changes', async () => {
    await createRunningPod(cluster.kube, 'ns1', 'p1', { a: 'b' }, 'n1');
    let failures = 2;
    const seen: string[] = [];
    const errors: unknown[] = [];
    const cache = new ResilientCache<V1Pod>({
      kc: cluster.kc,
      path: '/api/v1/namespaces/ns1/pods',
      list: async () => {
        if (failures-- > 0) throw new Error('API unavailable');
        return plain(await cluster.kube.core.listNamespacedPod({ namespace: 'ns1' }));
      },
      logger: quiet,
      name: 'test',
      onChange: (p, verb) => seen.push(`${verb} ${p.metadata!.name}`),
      onError: (err) => errors.push(err),
      maxBackoffMs: 100,
    });
    void cache.start();
    await cache.synced;
    expect(errors).toHaveLength(2);
    expect(cache.get('p1', 'ns1')?.metadata?.name).toBe('p1');
    await createRunningPod(cluster.kube, 'ns1', 'p2', { a: 'b' }, 'n1');
    await waitFor('p2 cached', () => cache.get('p2', 'ns1'));
    await cluster.kube.core.deleteNamespacedPod({ namespace: 'ns1', name: 'p1' });
    await waitFor('p1 gone', () => !cache.get('p1', 'ns1'));
    expect(seen).toEqual(expect.arrayContaining(['add p1', 'add p2', 'delete p1']));
    await cache.stop();
  });

  test('two electors: exactly one leads; release hands over at once', async () => {
    const events: string[] = [];
    const make = (id: string) =>
      new LeaderElector(cluster.kube, {
        namespace: 'snoopy-operator',
        name: 'test-lease',
        identity: id,
        leaseDurationSeconds: 30, // long: a hand-over can only come from release()
        renewDeadlineSeconds: 20,
        retryPeriodSeconds: 1,
        logger: quiet,
        onStartedLeading: () => void events.push(`${id} leads`),
        onStoppedLeading: () => void events.push(`${id} stops`),
      });
    const a = make('a');
    const b = make('b');
    a.start();
    await waitFor('a leads', () => a.isLeader);
    b.start();
    await new Promise((r) => setTimeout(r, 2500));
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    await a.stop();
    await waitFor('b leads', () => b.isLeader, 10_000);
    const lease = await getObject<{ apiVersion: string; kind: string; spec: { holderIdentity: string; leaseTransitions: number } }>(cluster.kube, LEASES, 'snoopy-operator', 'test-lease');
    expect(lease!.spec.holderIdentity).toBe('b');
    expect(events).toEqual(['a leads', 'a stops', 'b leads']);
    await b.stop();
  });

  test('a leader that cannot renew steps down after the renew deadline', async () => {
    const own = await startTestCluster(['snoopy-operator']);
    const events: string[] = [];
    const elector = new LeaderElector(own.kube, {
      namespace: 'snoopy-operator',
      name: 'renew-lease',
      identity: 'x',
      leaseDurationSeconds: 4,
      renewDeadlineSeconds: 2,
      retryPeriodSeconds: 1,
      logger: quiet,
      onStartedLeading: () => void events.push('leads'),
      onStoppedLeading: () => void events.push('stops'),
    });
    try {
      elector.start();
      await waitFor('leads', () => elector.isLeader);
      await own.api.stop(); // the API server goes away: renewals fail
      await waitFor('steps down', () => !elector.isLeader, 15_000);
      expect(events).toEqual(['leads', 'stops']);
    } finally {
      await elector.stop();
      await own.stop();
    }
  });
});
