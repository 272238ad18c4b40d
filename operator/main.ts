#!/usr/bin/env node
// snoopy-operator: reconciles SnoopyJobs and SnoopyDataEndpoints. Cluster from KUBECONFIG or the
// in-cluster service account; configuration from the environment (see operator/README.md).
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { exitWithError, parseCommandLine } from '../lib/command-line.js';
import { createLogger } from '../lib/log.js';
import { stopOnSignals } from '../lib/shutdown.js';
import { ConfigError, loadConfig, mergeConfigMap } from './config.js';
import { errorText, isNotFound, makeKube } from '../lib/kube/client.js';
import { Operator } from './operator.js';
import { startProbeServer } from './server.js';

const HELP = `usage: snoopy-operator [--metrics-port N] [--namespace NS] [--config-map NAME] [--no-leader-elect]

Reconciles SnoopyJobs (job.fennecproject.io/v1alpha1) into capture Jobs/CronJobs and
SnoopyDataEndpoints (data.fennecproject.io/v1alpha1) into collector workloads.
Cluster: KUBECONFIG, else in-cluster. Environment: SNOOPY_NAMESPACE, SNOOPY_PODTRACER_IMAGE,
SNOOPY_COLLECTOR_IMAGE, SNOOPY_ALLOWED_TOOLS, SNOOPY_ALLOW_MUTATING_TOOLS, SNOOPY_ALLOW_CROSS_NAMESPACE,
SNOOPY_PRIVILEGED, K_SINK, METRICS_PORT (default 8081) and more, see the README.
  --metrics-port N     serve /healthz, /readyz and /metrics on port N (0: any free port)
  --namespace NS       operator namespace (overrides SNOOPY_NAMESPACE)
  --config-map NAME    also read settings from this ConfigMap in the operator namespace (env wins)
  --no-leader-elect    reconcile without taking the leader lease (a single replica only)
`;

function fail(message: string): never {
  return exitWithError('snoopy-operator', message);
}

async function main(): Promise<void> {
  const parsed = parseCommandLine('snoopy-operator', HELP, {
    'metrics-port': { type: 'string' },
    namespace: { type: 'string' },
    'config-map': { type: 'string' },
    'no-leader-elect': { type: 'boolean' },
  });
  if (!parsed) return;
  const { values } = parsed;
  const env: Record<string, string | undefined> = { ...process.env };
  if (values['metrics-port'] !== undefined) env.METRICS_PORT = values['metrics-port'];
  if (values.namespace !== undefined) env.SNOOPY_NAMESPACE = values.namespace;
  if (values['no-leader-elect']) env.SNOOPY_LEADER_ELECTION = 'false';

  const logger = createLogger('snoopy-operator');
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('no cluster in the kube config');
  } catch (err) {
    fail(`cannot load a kube config (KUBECONFIG or in-cluster): ${(err as Error).message}`);
  }
  let config;
  try {
    config = loadConfig(env, hostname());
    if (values['config-map']) {
      try {
        const cm = await makeKube(kc).core.readNamespacedConfigMap({ namespace: config.namespace, name: values['config-map'] });
        config = loadConfig(mergeConfigMap(env, cm.data), hostname());
      } catch (err) {
        if (!isNotFound(err)) throw err;
        logger.warn({ configMap: values['config-map'] }, 'ConfigMap not found; using the environment only');
      }
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    fail(errorText(err));
  }

  const operator = new Operator({ kubeConfig: kc, config, logger });
  const probes = await startProbeServer(config.metricsPort, operator.metrics.registry, () => ({ ready: operator.isReady, leader: operator.isLeader }));
  logger.info({ namespace: config.namespace, identity: config.identity, metricsPort: probes.port, leaderElection: config.leaderElection }, 'snoopy-operator starting');

  stopOnSignals(
    logger,
    async () => {
      try {
        await operator.stop();
        await probes.close();
      } catch (err) {
        // Exit 0 all the same: the lease is released or expires, and a restart is clean.
        logger.error({ err: errorText(err) }, 'error during shutdown');
      }
    },
    // room for the drain, the lease release and the CloudEvents still queued
    { forceAfterMs: Math.max(20_000, (config.drainSeconds + 10) * 1000) },
  );
  await operator.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`snoopy-operator: ${errorText(err)}\n`);
  process.exit(1);
});
