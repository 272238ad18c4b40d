// The dev cluster as other parts' tests and benches start it (their only way in; the part
// boundary check in .dependency-cruiser.cjs enforces that): a whole cluster with its host network
// set-up and clean-up, or the API server alone with a kubeconfig for it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import { startApiServer, type ApiServer } from './apiserver/index.js';
import { kubeconfigYaml } from './cluster.js';

export { startDevCluster, kubeconfigYaml, type DevCluster, type DevClusterOptions } from './cluster.js';
export { startApiServer, type ApiServer } from './apiserver/index.js';
export { cleanupStateDir } from './kubelet/index.js';
export { KNATIVE_SERVICE_CRD } from './controllers/knative.js';
export { FAKE_NODE_LABEL, FAKE_NODE_TAINT, fakeNodeNames } from './fake-nodes/index.js';
export { ensureClusterNetwork } from './kubelet/network.js';
// how a kubelet updates a mounted Secret, for tests of what reads one (podtracer node's assignment)
export { writeVolumeAtomically, type VolumeFile } from './kubelet/atomic-writer.js';

export interface ApiServerWithKubeconfig {
  api: ApiServer;
  kc: KubeConfig;
  stateDir: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

/** An API server in a new state directory named by `prefix`, and a kubeconfig file for it. */
export async function startApiServerWithKubeconfig(prefix: string, logger: Logger): Promise<ApiServerWithKubeconfig> {
  const stateDir = mkdtempSync(join(tmpdir(), prefix));
  const api = await startApiServer({ logger, stateDir });
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(api.url));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    api,
    kc,
    stateDir,
    kubeconfigPath,
    async stop() {
      await api.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
