// Runs the real snoopy-collector executable as a child process (tests, benchmark, demo); ready
// when its "collector ready" log line (JSON on stderr) names the ports it bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const COLLECTOR_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export interface CollectorChild {
  child: ChildProcess;
  /** host:port of the gRPC server */
  address: string;
  metricsPort: number;
  /** Everything logged so far (bounded to the last 64 KiB). */
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `nodeArgs`: extra node options for the child, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
export function startCollectorChild(env: Record<string, string>, timeoutMs = 20_000, nodeArgs: string[] = []): Promise<CollectorChild> {
  const child = spawn(process.execPath, [...nodeArgs, COLLECTOR_MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`collector not ready: ${log}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      log = (log + `${line}\n`).slice(-65536);
      try {
        const rec = JSON.parse(line) as { msg?: string; grpcPort?: number; metricsPort?: number };
        if (rec.msg === 'collector ready') {
          clearTimeout(timer);
          resolve({ child, address: `127.0.0.1:${rec.grpcPort}`, metricsPort: rec.metricsPort!, stderr: () => log, exited });
        }
      } catch {
        /* not JSON */
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code}: ${log}`));
    });
  });
}
