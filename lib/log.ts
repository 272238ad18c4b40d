// One structured JSON logger shape for every executable: pino, to stderr, so stdout stays free
// for data (podtracer, `snoopy-analyzer summarize`, kubectl-snoopy).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name } }, pino.destination({ dest: 2, sync: true }));
}
