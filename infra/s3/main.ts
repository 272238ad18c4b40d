#!/usr/bin/env node
// snoopy-s3: the embedded local S3 server as an executable. Prints one JSON line with its
// endpoint on stdout when ready; stops cleanly on SIGTERM/SIGINT.
import { exitWithError, parseCommandLine } from '../../lib/command-line.js';
import { createLogger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/shutdown.js';
import { runLocalS3 } from './server.js';

const HELP = `Usage: snoopy-s3 [--port N] [--address 127.0.0.1] [--directory DIR] [--bucket NAME ...]
                 [--access-key K --secret-key S]

A local S3-compatible server (path-style, multipart uploads) for development, tests and demos.
When ready it prints one JSON line on stdout:
  {"endpoint":"http://127.0.0.1:N","port":N,"directory":DIR,"buckets":[...],"accessKeyId":K}
  --port N          port to listen on (default 4568; 0 picks a free one)
  --address A       address to bind (default 127.0.0.1)
  --directory DIR   where objects are stored (default ./.state/s3)
  --bucket NAME     bucket to create at start (repeatable)
  --access-key K    an extra access key to accept (with --secret-key); S3RVER/S3RVER always works
`;

function fail(message: string): never {
  return exitWithError('snoopy-s3', message);
}

async function main(): Promise<void> {
  const parsed = parseCommandLine('snoopy-s3', HELP, {
    port: { type: 'string', default: '4568' },
    address: { type: 'string', default: '127.0.0.1' },
    directory: { type: 'string', default: '.state/s3' },
    bucket: { type: 'string', multiple: true, default: [] },
    'access-key': { type: 'string' },
    'secret-key': { type: 'string' },
  });
  if (!parsed) return;
  const { values } = parsed;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer 0..65535, got "${values.port}"`);
  if (Boolean(values['access-key']) !== Boolean(values['secret-key'])) fail('--access-key and --secret-key go together');

  const log = createLogger('snoopy-s3');
  let server;
  try {
    server = await runLocalS3({
      port,
      address: values.address,
      directory: values.directory,
      buckets: values.bucket,
      ...(values['access-key'] ? { accessKeyId: values['access-key'], secretAccessKey: values['secret-key'] } : {}),
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const ready = {
    endpoint: server.endpoint,
    port: server.port,
    directory: values.directory,
    buckets: values.bucket,
    accessKeyId: server.accessKeyId,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  log.info(ready, 'S3 server ready');

  // Open keep-alive connections would hold close() open; bound the wait (data is already on disk).
  stopOnSignals(log, () => server.close(), { forceAfterMs: 3000, forceExitCode: 0 });
}

void main();
