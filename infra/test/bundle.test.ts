// The committed install bundle is exactly what `npm run gen:bundle` renders from infra/default now.
import { readFile } from 'node:fs/promises';
import { expect, test } from '@jest/globals';
import { repoPath } from '../../lib/repo-root.js';
import { BUNDLE_PATH, generateBundle, parseObjects } from '../install/bundle.js';

test('infra/install/snoopy.yaml is current (else: npm run gen:bundle)', async () => {
  const committed = await readFile(repoPath(BUNDLE_PATH), 'utf8');
  const fresh = await generateBundle();
  expect(committed).toBe(fresh);
});

test('the bundle holds the CRDs, the namespace, RBAC, the operator and MinIO', async () => {
  const objects = parseObjects(await readFile(repoPath(BUNDLE_PATH), 'utf8'), BUNDLE_PATH);
  const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(names).toEqual(
    expect.arrayContaining([
      'CustomResourceDefinition/snoopyjobs.job.fennecproject.io',
      'CustomResourceDefinition/snoopydataendpoints.data.fennecproject.io',
      'Namespace/snoopy-operator',
      'ServiceAccount/snoopy-operator',
      'ServiceAccount/snoopy-capture',
      'ClusterRole/snoopy-operator',
      'ClusterRole/snoopy-capture',
      'Role/snoopy-operator',
      'Deployment/snoopy-operator',
      'Deployment/minio',
      'Service/minio',
      'PersistentVolumeClaim/minio-data',
      'Job/minio-create-bucket',
    ]),
  );
  // kustomize orders namespaces and CRDs first, so one `kubectl apply -f` creates them before use.
  expect(objects[0]!.kind).toBe('Namespace');
  expect(new Set(names).size).toBe(names.length);
});

test('parseObjects refuses a document that is not a Kubernetes object', () => {
  expect(() => parseObjects('apiVersion: v1\nkind: ConfigMap\n---\nfoo: bar\n', 'x.yaml')).toThrow(/without apiVersion, kind and metadata.name/);
  expect(() => parseObjects('a: [1,\n', 'y.yaml')).toThrow(/y\.yaml/);
});
