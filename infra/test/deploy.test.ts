// make deploy's overlay: the images of every Snoopy workload and the images the operator starts
// come from REGISTRY and TAG; Knative objects only when Knative is there; bad input is refused.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from '@jest/globals';
import { repoPath } from '../../lib/repo-root.js';
import { parseObjects, type K8sObject } from '../install/bundle.js';
import { loadCrdValidators, validateObject } from '../validate/manifests.js';
import { formatProblems } from '../validate/problems.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'snoopy-deploy-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function render(knative: boolean, ...args: string[]): Promise<K8sObject[]> {
  const { stdout } = await run('bash', [repoPath('infra/deploy.sh'), '--render', ...args], {
    env: { ...process.env, SNOOPY_DEPLOY_DIR: join(dir, knative ? 'kn' : 'plain'), SNOOPY_DEPLOY_KNATIVE: String(knative) },
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseObjects(stdout, 'deploy.sh');
}

function images(objs: K8sObject[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(objs);
  return out;
}

describe('infra/deploy.sh', () => {
  test('with Knative: every Snoopy image from the registry and tag, operator told the same, all valid', async () => {
    const objs = await render(true, 'registry.example:5000/team/', 'v0.1.0');
    const snoopy = [...new Set(images(objs).filter((i) => i.includes('snoopy/')))];
    expect(snoopy.sort()).toEqual(['registry.example:5000/team/snoopy/analyzer:v0.1.0', 'registry.example:5000/team/snoopy/collector:v0.1.0', 'registry.example:5000/team/snoopy/operator:v0.1.0']);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('snoopy-operator-config')) as K8sObject & { data: Record<string, string> };
    expect(cm.data.SNOOPY_PODTRACER_IMAGE).toBe('registry.example:5000/team/snoopy/podtracer:v0.1.0');
    expect(cm.data.SNOOPY_COLLECTOR_IMAGE).toBe('registry.example:5000/team/snoopy/collector:v0.1.0');
    expect(cm.data.SNOOPY_NAMESPACE).toBe('snoopy-operator'); // merged, not replaced
    expect(objs.some((o) => o.kind === 'Broker')).toBe(true);
    const crds = await loadCrdValidators();
    const problems: string[] = [];
    for (const o of objs) {
      const p = await validateObject(o, crds);
      if (p.length > 0) problems.push(`${o.kind}/${o.metadata.name}: ${formatProblems(p)}`);
    }
    expect(problems).toEqual([]);
  });

  test('without Knative and without a registry: plain image names, no Knative objects', async () => {
    const objs = await render(false, '', 'dev');
    expect(images(objs).filter((i) => i.includes('snoopy/'))).toEqual(['snoopy/operator:dev']);
    expect(objs.filter((o) => o.apiVersion.includes('knative.dev'))).toEqual([]);
  });

  test('refuses a malformed registry or tag', async () => {
    for (const args of [['bad registry', 'v1'], ['reg.example', 'v1;rm']]) {
      const err = await render(false, ...args).then(
        () => undefined,
        (e: { code?: number; stderr?: string }) => e,
      );
      expect(err?.code).toBe(2);
      expect(err?.stderr).toMatch(/^deploy: invalid (REGISTRY|TAG)/);
    }
  });
});
