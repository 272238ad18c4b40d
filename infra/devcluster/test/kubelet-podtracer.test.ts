// The dev cluster as the product uses it: a capture Job running the snoopy/podtracer image (this
// repository's podtracer) with the host's /proc at /host/proc finds the target pod's container
// through the API and its cgroup, runs the tool in the target's network namespace, and reports
// its summary through the termination message.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { startControllers, type Controllers } from '../controllers/index.js';
import { apiPath } from '../controllers/kube-client.js';
import { startKubelet, type Kubelet } from '../kubelet/index.js';
import { startTestApi, suffix, testLogger, waitFor, type TestApi } from './kubelet-helpers.js';

const isRoot = process.getuid?.() === 0;
const d = isRoot ? describe : describe.skip;

d('podtracer in a capture Job on the dev cluster', () => {
  let t: TestApi;
  let controllers: Controllers;
  let kubelet: Kubelet;
  const node = `pt-${suffix()}`;

  beforeAll(async () => {
    t = await startTestApi('kubelet-podtracer-');
    controllers = await startControllers({ kubeConfig: t.kc, logger: testLogger });
    kubelet = await startKubelet({ kubeConfig: t.kc, nodeName: node, stateDir: t.stateDir, kubeconfigPath: t.kubeconfigPath, logger: testLogger });
  });

  afterAll(async () => {
    await controllers?.stop();
    await kubelet?.stop();
    await t?.stop();
  });

  test("podtracer runs `ip -o addr` in the target pod's network namespace", async () => {
    await t.kube.create(apiPath('v1', 'pods', 'default'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'target' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'busybox', command: ['sleep', '120'] }] },
    });
    const target = await waitFor('target running', async () => {
      const p = await t.kube.get<V1Pod>(apiPath('v1', 'pods', 'default', 'target'));
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    const out = join(t.stateDir, 'capture-out');
    mkdirSync(out);
    await t.kube.create(apiPath('batch/v1', 'jobs', 'default'), {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'capture' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [target.spec!.nodeName!] }] }] } } },
            tolerations: [{ operator: 'Exists' }],
            volumes: [{ name: 'proc', hostPath: { path: '/proc' } }, { name: 'out', hostPath: { path: out, type: 'Directory' } }],
            containers: [
              {
                name: 'podtracer',
                image: 'quay.io/example/snoopy/podtracer:dev',
                // as the operator renders it: the dev cluster's pods have no KUBERNETES_SERVICE_HOST telling
                // podtracer it runs in a pod, so the termination log is named
                args: ['run', '--pod', 'target', '--namespace', 'default', '--output-dir', '/out', '--capture-id', 'c1', '--termination-log', '/dev/termination-log', '--', 'ip', '-o', 'addr'],
                volumeMounts: [{ name: 'proc', mountPath: '/host/proc', readOnly: true }, { name: 'out', mountPath: '/out' }],
              },
            ],
          },
        },
      },
    });
    const job = await waitFor('capture job finished', async () => {
      const j = await t.kube.get<V1Job>(apiPath('batch/v1', 'jobs', 'default', 'capture'));
      return j?.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ? j : undefined;
    }, 600);
    const pods = await t.kube.list<V1Pod>(apiPath('v1', 'pods', 'default'), { labelSelector: 'job-name=capture' });
    const term = pods.items[0]?.status?.containerStatuses?.[0]?.state?.terminated;
    const log = readFileSync(join(t.stateDir, 'logs', `default_${pods.items[0]!.metadata!.name}_podtracer.log`), 'utf8');
    expect({ complete: job.status?.conditions?.find((c) => c.type === 'Complete')?.status, exitCode: term?.exitCode, log: term?.exitCode ? log.slice(-2000) : '' }).toEqual({ complete: 'True', exitCode: 0, log: '' });
    const summary = JSON.parse(term!.message!) as { segments: number; toolExitCode: number };
    expect(summary.toolExitCode).toBe(0);
    expect(summary.segments).toBeGreaterThanOrEqual(1);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else files.push(join(dir, e.name));
      }
    };
    walk(out);
    const text = files.map((f) => readFileSync(f, 'utf8')).join('');
    // the target's own address and its eth0, not the host's interfaces
    expect(text).toContain(`inet ${target.status!.podIP}/16`);
    expect(text).toMatch(/\beth0\b/);
    expect(text).not.toMatch(/snpbr-/);
  });
});
