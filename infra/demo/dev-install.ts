// The manifests of a dev-cluster install (infra/dev: infra/default + infra/samples with the dev
// cluster's differences), rendered by kubectl kustomize through a generated overlay that may
// rename the images and merge literals into the operator's ConfigMap. Shared by the demo and the
// tests that install the way it does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';
import { parseObjects, type K8sObject } from '../install/bundle.js';
import type { Kubectl } from './kubectl.js';

export interface DevInstallOverlay {
  /** kustomize `images` entries */
  images?: Array<{ name: string; newName: string; newTag: string }>;
  /** KEY=VALUE merged into the operator's ConfigMap */
  operatorConfig?: string[];
}

export async function renderDevInstall(kubectl: Kubectl, dir: string, operatorNamespace: string, overlay: DevInstallOverlay = {}): Promise<K8sObject[]> {
  const at = join(dir, 'overlay');
  mkdirSync(at, { recursive: true });
  writeFileSync(
    join(at, 'kustomization.yaml'),
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [relative(at, repoPath('infra/dev'))],
      ...(overlay.images ? { images: overlay.images } : {}),
      configMapGenerator: [{ name: 'snoopy-operator-config', namespace: operatorNamespace, behavior: 'merge', literals: overlay.operatorConfig ?? [] }],
    }),
  );
  return parseObjects(await kubectl.run(['kustomize', at]), 'infra/dev');
}

/** The images as `make deploy REGISTRY=kind.local TAG=dev` names them, and the operator told so. */
export const KIND_LOCAL_DEV_IMAGES: Required<DevInstallOverlay> = {
  images: ['operator', 'collector', 'analyzer', 'podtracer'].map((n) => ({ name: `snoopy/${n}`, newName: `kind.local/snoopy/${n}`, newTag: 'dev' })),
  operatorConfig: ['SNOOPY_PODTRACER_IMAGE=kind.local/snoopy/podtracer:dev', 'SNOOPY_COLLECTOR_IMAGE=kind.local/snoopy/collector:dev'],
};
