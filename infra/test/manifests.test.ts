// Every deployment file in infra/ and knative/ against the schema of its kind (Kubernetes OpenAPI,
// Knative CRD schemas, our CRDs, kind / func.yaml schemas), every kustomization rendered by
// kustomize and its output checked the same way, and deliberately broken fixtures that must fail
// at exactly the misspelled or mistyped field — and pass once that one field is corrected.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { repoPath } from '../../lib/repo-root.js';
import type { CrdValidators } from '../validate/crd.js';
import {
  type ManifestFileKind,
  listManifestFiles,
  loadCrdValidators,
  parseYamlDocuments,
  validateDocument,
  validateFile,
  validateObject,
} from '../validate/manifests.js';
import { formatProblems } from '../validate/problems.js';

const run = promisify(execFile);
const files = await listManifestFiles();
let crds: CrdValidators;
beforeAll(async () => {
  crds = await loadCrdValidators();
});

describe('manifest files', () => {
  test('are found in every part and of every format', () => {
    const paths = files.map((f) => f.path);
    for (const expected of [
      'infra/install/snoopy.yaml',
      'infra/crds/job.fennecproject.io_snoopyjobs.yaml',
      'infra/operator/deployment.yaml',
      'infra/minio/bucket-job.yaml',
      'infra/samples/snoopy/job_v1alpha1_snoopyjob_packet_capture.yaml',
      'knative/collector/service.yaml',
      'knative/eventing/triggers.yaml',
    ]) {
      expect(paths).toContain(expected);
    }
    const kinds = new Set(files.map((f) => f.kind));
    expect([...kinds].sort()).toEqual(['func', 'kind-config', 'kustomization', 'objects']);
  });

  test('our CRDs are loaded for the custom resource checks', () => {
    expect(crds.kinds().sort()).toEqual(['data.fennecproject.io/v1alpha1/SnoopyDataEndpoint', 'job.fennecproject.io/v1alpha1/SnoopyJob']);
  });

  test.each(files.filter((f) => f.kind !== 'kustomization').map((f) => [f.path, f] as const))('%s is valid', async (_path, file) => {
    const problems = await validateFile(file, crds);
    expect(problems).toEqual([]);
  });
});

describe('kustomizations', () => {
  const dirs = files.filter((f) => f.kind === 'kustomization').map((f) => dirname(f.path));
  test.each(dirs)('%s renders, and what it renders is valid', async (dir) => {
    const { stdout } = await run('kubectl', ['kustomize', repoPath(dir)], { maxBuffer: 64 * 1024 * 1024 });
    const objects = parseYamlDocuments(stdout, dir);
    expect(objects.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const obj of objects) {
      const found = await validateObject(obj, crds);
      if (found.length > 0) problems.push(`${(obj as { kind: string }).kind}: ${formatProblems(found)}`);
    }
    expect(problems).toEqual([]);
  });
});

// --- broken fixtures ------------------------------------------------------------------------

interface Fixture {
  name: string;
  format: ManifestFileKind;
  doc: unknown;
  /** "a.b[0].c" of the wrong field */
  path: string;
  /** unknown: the correct key name; invalid: the correct value (YAML) */
  fix: { kind: 'rename'; to: string } | { kind: 'set'; value: unknown };
}

function segments(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

function applyFix(doc: unknown, fx: Fixture): unknown {
  const copy = structuredClone(doc);
  const segs = segments(fx.path);
  let parent = copy as Record<string | number, unknown>;
  for (const s of segs.slice(0, -1)) parent = parent[s] as Record<string | number, unknown>;
  const last = segs[segs.length - 1]!;
  if (fx.fix.kind === 'rename') {
    parent[fx.fix.to] = parent[last];
    delete parent[last];
  } else {
    parent[last] = fx.fix.value;
  }
  return copy;
}

async function loadFixtures(): Promise<Fixture[]> {
  const dir = repoPath('infra/test/fixtures');
  const out: Fixture[] = [];
  for (const name of (await readdir(dir)).filter((n) => /^broken-.*\.yaml$/.test(n)).sort()) {
    const text = await readFile(`${dir}/${name}`, 'utf8');
    const format = /^# format: (\S+)$/m.exec(text)?.[1] as ManifestFileKind | undefined;
    const unknown = /^# expect-unknown: (\S+) -> (\S+)$/m.exec(text);
    const invalid = /^# expect-invalid: (\S+) = (.+)$/m.exec(text);
    if (!format || (!unknown && !invalid)) throw new Error(`${name}: needs "# format:" and "# expect-unknown: PATH -> KEY" or "# expect-invalid: PATH = VALUE"`);
    const [doc] = parseYamlDocuments(text, name);
    out.push(
      unknown
        ? { name, format, doc, path: unknown[1]!, fix: { kind: 'rename', to: unknown[2]! } }
        : { name, format, doc, path: invalid![1]!, fix: { kind: 'set', value: parseYamlDocuments(invalid![2]!, name)[0] } },
    );
  }
  return out;
}

const fixtures = await loadFixtures();

describe('deliberately broken fixtures', () => {
  test('exist for built-in, Knative, custom resource, kind and func formats', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(8);
    const kinds = fixtures.map((f) => (f.doc as { kind?: string }).kind ?? f.format);
    expect(kinds).toEqual(expect.arrayContaining(['Deployment', 'ClusterRole', 'Service', 'Trigger', 'SnoopyJob', 'SnoopyDataEndpoint', 'Cluster', 'func']));
  });

  test.each(fixtures.map((f) => [f.name, f] as const))('%s fails at its broken field and passes once it is fixed', async (_name, fx) => {
    const problems = await validateDocument(fx.format, fx.doc, crds);
    expect(problems.map((p) => p.path)).toContain(fx.path);
    if (fx.fix.kind === 'rename') {
      expect(problems.find((p) => p.path === fx.path)?.message).toMatch(/unknown field/);
    }
    const fixed = await validateDocument(fx.format, applyFix(fx.doc, fx), crds);
    expect(formatProblems(fixed)).toBe('');
  });
});
