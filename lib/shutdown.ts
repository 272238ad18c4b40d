// Graceful shutdown for long-running executables: the first SIGTERM or SIGINT runs `stop`, then
// exits 0 (1 if stopping failed); repeated signals are ignored so that cleanup (network
// namespaces, in-flight uploads, the leader lease) is never cut short by an impatient second one.
// `forceAfterMs` bounds the wait where something (e.g. keep-alive sockets) could hold it open.
import type { Logger } from './log.js';

export interface ShutdownOptions {
  forceAfterMs?: number;
  /** exit code when the force timer fires first */
  forceExitCode?: number;
}

export function stopOnSignals(log: Logger, stop: () => Promise<void>, opts: ShutdownOptions = {}): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received, shutting down');
    if (opts.forceAfterMs !== undefined) {
      setTimeout(() => process.exit(opts.forceExitCode ?? 1), opts.forceAfterMs).unref();
    }
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
