// Files shared between the dev cluster's kubelet (writer) and API server (reader). One module so
// both halves agree on the layout of the state directory.
import { join } from 'node:path';

/** Directory of container logs: the kubelet appends, the API server serves `pods/log`. */
export function podLogDir(stateDir: string): string {
  return join(stateDir, 'logs');
}

/** `<stateDir>/logs/<namespace>_<pod>_<container>.log` — names are DNS labels, so `_` cannot be ambiguous. */
export function podLogPath(stateDir: string, namespace: string, pod: string, container: string): string {
  return join(podLogDir(stateDir), `${namespace}_${pod}_${container}.log`);
}

/** The kubeconfig `startDevCluster` writes. */
export function kubeconfigPath(stateDir: string): string {
  return join(stateDir, 'kubeconfig');
}
