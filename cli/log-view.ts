// Capture pods' logs for a person: podtracer logs pino JSON lines, which pino-pretty turns into
// one readable line each (time, level, name, message, fields). Lines that are not JSON pass as they are.
import { prettyFactory } from 'pino-pretty';

const pretty = prettyFactory({
  colorize: false,
  singleLine: true,
  translateTime: 'UTC:yyyy-mm-dd HH:MM:ss.l"Z"',
  ignore: 'pid,hostname',
});

/** One log line of a pod, readable (default) or as logged (`json`), prefixed with the pod's name. */
export function logLine(pod: string, line: string, format: 'text' | 'json'): string {
  if (format === 'json' || !line.startsWith('{')) return `[${pod}] ${line}\n`;
  const text = String(pretty(line)).trimEnd();
  return `[${pod}] ${text}\n`;
}
