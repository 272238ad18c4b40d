#!/usr/bin/env node
// snoopy-s3: a local S3 server as an executable, the embedded one or a throwaway Ceph RGW
// cluster. Prints one JSON line with its endpoint on stdout when ready; stops cleanly (every
// daemon killed, the RGW cluster's directory removed) on SIGTERM/SIGINT.
import { exitWithError, parseCommandLine } from '../../lib/command-line.js';
import { createLogger } from '../../lib/log.js';
import { stopOnSignals } from '../../lib/shutdown.js';
import { startRgw, type RgwServer } from './rgw.js';
import { runLocalS3 } from './server.js';

const HELP = `Usage: snoopy-s3 [--backend embedded|rgw] [--port N] [--address 127.0.0.1] [--directory DIR]
                 [--bucket NAME ...] [--access-key K --secret-key S]

A local S3-compatible server (path-style, multipart uploads) for development, tests and demos.
When ready it prints one JSON line on stdout:
  {"endpoint":"http://127.0.0.1:N","port":N,"directory":DIR,"buckets":[...],"accessKeyId":K,
   "secretAccessKey":S,"backend":B,"startMs":T}
  --backend B       embedded (default): the embedded server, objects in files under DIR;
                    rgw: a one-node Ceph cluster (monitor, memstore OSD) behind the RADOS Gateway,
                    objects in memory, its files in a new directory under DIR removed at exit
                    (needs the Debian packages radosgw, ceph-mon, ceph-osd)
  --port N          port to listen on (default 4568; 0 picks a free one)
  --address A       address to bind (default 127.0.0.1)
  --directory DIR   where objects (rgw: the cluster's files) are stored (default ./.state/s3)
  --bucket NAME     bucket to create at start (repeatable)
  --access-key K    embedded: an extra access key to accept (S3RVER/S3RVER always works);
                    rgw: the S3 user's key (default: random) (with --secret-key)
`;

function fail(message: string): never {
  return exitWithError('snoopy-s3', message);
}

async function main(): Promise<void> {
  const parsed = parseCommandLine('snoopy-s3', HELP, {
    backend: { type: 'string', default: 'embedded' },
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
  if (values.backend !== 'embedded' && values.backend !== 'rgw') fail(`--backend must be embedded or rgw, got "${values.backend}"`);

  const log = createLogger('snoopy-s3');
  if (values.backend === 'rgw') return mainRgw(log, port, values);
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
    secretAccessKey: server.secretAccessKey,
    backend: 'embedded',
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  log.info(ready, 'S3 server ready');

  // Open keep-alive connections would hold close() open; bound the wait (data is already on disk).
  stopOnSignals(log, () => server.close(), { forceAfterMs: 3000, forceExitCode: 0 });
}

async function mainRgw(
  log: ReturnType<typeof createLogger>,
  port: number,
  values: { address: string; directory: string; bucket: string[]; 'access-key'?: string; 'secret-key'?: string },
): Promise<void> {
  // A signal during the start stops what was started so far; after it, the daemons and files.
  let server: RgwServer | undefined;
  let stopping = false;
  const starting = startRgw({
    parentDir: values.directory,
    address: values.address,
    ...(port ? { port } : {}),
    buckets: values.bucket,
    ...(values['access-key'] ? { accessKeyId: values['access-key'], secretAccessKey: values['secret-key']! } : {}),
  });
  stopOnSignals(
    log,
    async () => {
      stopping = true;
      const s = server ?? (await starting.catch(() => undefined));
      await s?.stop();
    },
    { forceAfterMs: 10_000, forceExitCode: 1 },
  );
  try {
    server = await starting;
  } catch (err) {
    if (!stopping) fail((err as Error).message);
    return;
  }
  const ready = {
    endpoint: server.endpoint,
    port: server.port,
    directory: server.dir,
    buckets: values.bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    backend: 'rgw',
    startMs: server.startMs,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  log.info({ ...ready, secretAccessKey: undefined, steps: server.steps }, 'S3 server ready (Ceph RGW)');
}

void main();
