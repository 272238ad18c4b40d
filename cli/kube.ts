// The cluster connection, resolved the way kubectl resolves it: --kubeconfig, else KUBECONFIG,
// else ~/.kube/config; --context, else the current context; -n, else the context's namespace.
import { KubeConfig } from '@kubernetes/client-node';
import { makeKube, type Kube } from '../lib/kube/client.js';
import { CliError } from './errors.js';

export interface Connection {
  kube: Kube;
  /** the namespace from -n or the context */
  namespace: string;
  namespaceExplicit: boolean;
}

export function connect(opts: { kubeconfig?: string; context?: string; namespace?: string }): Connection {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot load kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) throw new CliError(`context "${opts.context}" is not in the kubeconfig`);
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) throw new CliError('no cluster configured: set --kubeconfig or KUBECONFIG');
  const ctxNs = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return { kube: makeKube(kc), namespace: opts.namespace || ctxNs || 'default', namespaceExplicit: Boolean(opts.namespace) };
}
