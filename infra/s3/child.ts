// Runs snoopy-s3 as a child process, so tests and demos can stop, kill and restart the storage
// server for real (same port and directory after a restart).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createS3Client } from '../../lib/s3.js';
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3ServerChildOptions {
  dir: string;
  port?: number;
  buckets?: string[];
  address?: string;
  /** How long to wait for the ready line (ms). */
  startTimeoutMs?: number;
}

export interface S3ServerChild {
  endpoint: string;
  port: number;
  pid: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** Env for a process that should use this server (S3_ENDPOINT, AWS_* …). */
  env(bucket: string): Record<string, string>;
  client(): S3Client;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit (storage outage). */
  kill(): Promise<void>;
  /** Starts again on the same port and directory (after stop or kill). */
  restart(): Promise<void>;
}

export const S3_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface Ready {
  endpoint: string;
  port: number;
  accessKeyId: string;
}

function launch(opts: S3ServerChildOptions, port: number): Promise<{ child: ChildProcess; ready: Ready }> {
  const args = [S3_MAIN, '--port', String(port), '--directory', opts.dir, '--address', opts.address ?? '127.0.0.1'];
  for (const b of opts.buckets ?? []) args.push('--bucket', b);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`snoopy-s3 not ready in time: ${stderr}`));
    }, opts.startTimeoutMs ?? 20_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve({ child, ready: JSON.parse(line) as Ready });
      } catch {
        reject(new Error(`snoopy-s3 printed an unexpected line: ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`snoopy-s3 exited with ${code}: ${stderr}`));
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startS3Server(opts: S3ServerChildOptions): Promise<S3ServerChild> {
  let { child, ready } = await launch(opts, opts.port ?? 0);
  const port = ready.port;
  const secretAccessKey = 'S3RVER';
  const handle: S3ServerChild = {
    endpoint: ready.endpoint,
    port,
    get pid() {
      return child.pid!;
    },
    accessKeyId: ready.accessKeyId,
    secretAccessKey,
    env: (bucket) => ({
      STORAGE: 's3',
      S3_ENDPOINT: ready.endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: ready.accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    client: () =>
      createS3Client({
        endpoint: ready.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: ready.accessKeyId,
        secretAccessKey,
      }),
    async stop() {
      const done = waitExit(child);
      child.kill('SIGTERM');
      await done;
    },
    async kill() {
      const done = waitExit(child);
      child.kill('SIGKILL');
      await done;
    },
    async restart() {
      await handle.kill();
      // The port was just released; a few attempts cover a slow release.
      let lastErr: unknown;
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          ({ child, ready } = await launch(opts, port));
          return;
        } catch (err) {
          lastErr = err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw lastErr;
    },
  };
  return handle;
}
