#!/usr/bin/env node
// snoopy-devcluster: a local stand-in for a Kubernetes cluster (API server, controllers, kubelets).
import { exitWithError, parseCommandLine } from '../../lib/command-line.js';
import { createLogger } from '../../lib/log.js';
import { repoPath } from '../../lib/repo-root.js';
import { stopOnSignals } from '../../lib/shutdown.js';

const HELP = `Usage:
  snoopy-devcluster up [--nodes a,b] [--fake-nodes N] [--port N] [--host ADDR] [--state-dir DIR] [--api-only]
      Runs a local dev cluster in the foreground and prints the kubeconfig path
      (<state-dir>/kubeconfig). SIGINT/SIGTERM stops everything it started.
  snoopy-devcluster down [--state-dir DIR]
      Cleans up after a run that crashed: network namespaces, veths, bridge, cgroups and processes
      recorded in the state dir.
Options:
  --nodes      comma-separated node names (default: node-a; '' for none)
  --fake-nodes register N fake nodes (fake-node-0 …), kwok-style: their pods go Running with no
               process; for measuring the operator at scale (default: 0)
  --port       API server port (default: 0, any free port)
  --host       API server listen address (default: 127.0.0.1)
  --state-dir  state directory (default: .state/devcluster in the repository)
  --api-only   run only the API server
`;

function fail(msg: string): never {
  return exitWithError('snoopy-devcluster', msg);
}

async function main(): Promise<void> {
  const parsed = parseCommandLine(
    'snoopy-devcluster',
    HELP,
    { nodes: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'state-dir': { type: 'string' }, 'api-only': { type: 'boolean' }, 'fake-nodes': { type: 'string' } },
    { allowPositionals: true },
  );
  if (!parsed) return;
  const { values, positionals } = parsed;
  const cmd = positionals[0];
  if (positionals.length !== 1 || (cmd !== 'up' && cmd !== 'down')) fail(`expected one command, up or down (see --help)`);
  const stateDir = values['state-dir'] ?? repoPath('.state', 'devcluster');
  if (cmd === 'down') {
    const { cleanupStateDir } = (await import(new URL('./kubelet/index.js', import.meta.url).href)) as { cleanupStateDir: (d: string) => Promise<{ removed: number }> };
    const r = await cleanupStateDir(stateDir);
    process.stdout.write(`cleaned ${stateDir} (${r.removed} leftovers removed)\n`);
    return;
  }
  const nodes = (values.nodes ?? 'node-a').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of nodes) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n) || n.length > 63) fail(`invalid node name "${n}": must be a DNS label`);
  const fakeNodes = Number(values['fake-nodes'] ?? 0);
  if (!Number.isInteger(fakeNodes) || fakeNodes < 0 || fakeNodes > 32768) fail(`invalid --fake-nodes "${values['fake-nodes']}": a count from 0 to 32768`);
  if (fakeNodes > 0 && values['api-only']) fail('--fake-nodes needs the controllers: drop --api-only');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port "${values.port}"`);
  }
  const log = createLogger('snoopy-devcluster');
  // Loaded only when needed, so --help and refusals answer without loading the Kubernetes client.
  const { startDevCluster } = await import('./cluster.js');
  const cluster = await startDevCluster({ nodes, port, host: values.host, stateDir, logger: log, apiOnly: values['api-only'], fakeNodes });
  process.stdout.write(`${cluster.kubeconfigPath}\n`);
  stopOnSignals(log, () => cluster.stop());
}

main().catch((e: Error) => {
  process.stderr.write(`snoopy-devcluster: ${e.message}\n`);
  process.exit(1);
});
