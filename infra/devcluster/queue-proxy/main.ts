#!/usr/bin/env node
// snoopy-queue-proxy: the dev cluster's queue-proxy sidecar (see proxy.ts), configured by the
// environment the Knative Service stand-in gives it.
import { createLogger } from '../../../lib/log.js';
import { stopOnSignals } from '../../../lib/shutdown.js';
import { startQueueProxy } from './proxy.js';

const HELP = `Usage: snoopy-queue-proxy

The dev cluster's stand-in for Knative's queue-proxy. Environment:
  USER_PORT                      the user container's port (required)
  SERVING_PROTOCOL               h2c | http1 (default http1)
  TIMEOUT_SECONDS (300)  RESPONSE_START_TIMEOUT_SECONDS (300)  IDLE_TIMEOUT_SECONDS (0: none)
Holds 8013, 8022, 9090, 9091 and serves the pod on 8012.
`;

function num(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`snoopy-queue-proxy: ${name} must be a non-negative integer, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const userPort = num('USER_PORT', 0);
  if (userPort === 0) {
    process.stderr.write('snoopy-queue-proxy: USER_PORT is required\n');
    process.exit(2);
  }
  const log = createLogger('queue-proxy');
  const qp = await startQueueProxy({
    userPort,
    protocol: process.env.SERVING_PROTOCOL === 'h2c' ? 'h2c' : 'http1',
    timeouts: {
      timeoutSeconds: num('TIMEOUT_SECONDS', 300),
      responseStartTimeoutSeconds: num('RESPONSE_START_TIMEOUT_SECONDS', 300),
      idleTimeoutSeconds: num('IDLE_TIMEOUT_SECONDS', 0),
    },
    log,
  });
  log.info({ port: qp.port, userPort }, 'queue-proxy serving');
  stopOnSignals(log, () => qp.close(), { forceAfterMs: 5000 });
}

main().catch((err: unknown) => {
  process.stderr.write(`snoopy-queue-proxy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
