// Test fixture: a full dev cluster in a fresh state directory with the dev install's manifests
// rendered (infra/dev, the images as `make deploy REGISTRY=kind.local TAG=dev` names them), for
// the tests that install the way `make demo` does. Not applied: each test applies what it needs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/log.js';
import { startDevCluster, type DevCluster } from '../devcluster/cluster.js';
import { cleanupStateDir } from '../devcluster/kubelet/index.js';
import { KIND_LOCAL_DEV_IMAGES, renderDevInstall } from '../demo/dev-install.js';
import { Kubectl } from '../demo/kubectl.js';
import type { K8sObject } from '../install/bundle.js';

export interface DevInstallCluster {
  stateDir: string;
  cluster: DevCluster;
  kubectl: Kubectl;
  objects: K8sObject[];
  /** stops the cluster and removes everything it left */
  stop(): Promise<void>;
}

export async function startDevInstallCluster(name: string, nodes: string[], operatorNamespace: string): Promise<DevInstallCluster> {
  const stateDir = mkdtempSync(join(tmpdir(), `snoopy-${name}-`));
  const clusterDir = join(stateDir, 'cluster');
  let cluster: DevCluster | undefined;
  const stop = async () => {
    await cluster?.stop();
    await cleanupStateDir(clusterDir).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    cluster = await startDevCluster({ nodes, stateDir: clusterDir, logger: createLogger(name, process.env.TEST_LOG_LEVEL ?? 'silent') });
    const kubectl = new Kubectl(cluster.kubeconfigPath);
    const objects = await renderDevInstall(kubectl, stateDir, operatorNamespace, KIND_LOCAL_DEV_IMAGES);
    return { stateDir, cluster, kubectl, objects, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
