// A throwaway one-node Ceph cluster with the RADOS Gateway in front: one monitor, one memstore
// OSD (objects live in the OSD's memory), pool size 1, no cephx between daemons, RGW's beast
// frontend on one address. Everything it writes (ceph.conf, mon store, sockets, logs) is in its
// own directory, every port is picked free, and it has its own fsid, so several instances run
// side by side on one machine. Real S3 semantics for tests and the demo, where the embedded
// server is an emulator.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The Debian packages RGW needs (scripts/install-deps.sh installs them). */
export const RGW_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd'] as const;

export interface RgwOptions {
  /** Parent directory of the instance's own directory (default: the OS temp dir). */
  parentDir?: string;
  /** Address RGW listens on (default 127.0.0.1); the monitor and OSD always use 127.0.0.1. */
  address?: string;
  /** RGW port (default: a free one). */
  port?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Buckets created before start resolves. */
  buckets?: string[];
  /** Capacity the memstore OSD reports; objects take real memory only as they are written. */
  memstoreBytes?: number;
  /** Bound on the whole start, from nothing to a bucket PUT accepted (ms). */
  startTimeoutMs?: number;
}

export interface RgwServer {
  endpoint: string;
  address: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The instance's directory (ceph.conf, logs); removed by stop(). */
  dir: string;
  /** pid of the radosgw process (changes on restartGateway). */
  readonly pid: number;
  /** Milliseconds from nothing to the first bucket PUT accepted. */
  startMs: number;
  /** Milliseconds since the start at which each step was done (where the start time goes). */
  steps: Record<string, number>;
  /** Kills every daemon and removes the directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs radosgw only (a storage outage); the cluster and its objects stay. */
  killGateway(): Promise<void>;
  /** Starts radosgw again on the same port (after killGateway). */
  restartGateway(): Promise<void>;
}

const RGW_USER = 'snoopy';
const REGION = 'us-east-1';

/** A port nobody listens on right now (the kernel's pick; a daemon failing to bind is retried by the caller). */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a ceph tool to completion, killed if it outlives timeoutMs. */
function runTool(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err.message.includes('ENOENT') ? new Error(`${cmd} not found: install ${RGW_PACKAGES.join(', ')} (scripts/install-deps.sh)`) : err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function mustRun(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const r = await runTool(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code ?? 'killed'}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  return r.stdout;
}

/** No CEPH_* from the caller's environment may point a tool at another cluster. */
function toolEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CEPH_')) delete env[k];
  return env;
}

function cephConf(dir: string, fsid: string, monV2: number, monV1: number, rgwAddress: string, rgwPort: number, memstoreBytes: number): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# radosgw asks for secure connections by default, which auth none cannot give
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
keyring = ${dir}/keyring
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
log to stderr = false
err to stderr = true
mon cluster log file = ${dir}/log/cluster.log
crash dir = ${dir}/crash
exporter sock dir = ${dir}/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# the monitor batches map changes for a second by default; RGW's start is a chain of them
paxos propose interval = 0.01
paxos min wait = 0.001

[mon]
mon data = ${dir}/$name

[osd]
osd data = ${dir}/$name
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
osd max object name len = 256
osd max object namespace len = 64

[client]
rgw data = ${dir}/rgw
rgw frontends = beast endpoint=${rgwAddress.includes(':') ? `[${rgwAddress}]` : rgwAddress}:${rgwPort}
rgw thread pool size = 64
rgw enable usage log = false
`;
}

/** Kills the daemons and removes the directory if the process that started them dies first. */
const WATCHDOG = `
parent=$1; dir=$2; i=0
while kill -0 "$parent" 2>/dev/null && [ -d "$dir" ] && [ $i -lt 604800 ]; do sleep 1; i=$((i+1)); done
[ -f "$dir/pids" ] && kill -9 $(cat "$dir/pids") 2>/dev/null
rm -rf "$dir"
`;

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  stderrTail(): string;
}

export async function startRgw(opts: RgwOptions = {}): Promise<RgwServer> {
  const t0 = Date.now();
  const deadline = t0 + (opts.startTimeoutMs ?? 90_000);
  const left = () => Math.max(1000, deadline - Date.now());
  const address = opts.address ?? '127.0.0.1';
  const accessKeyId = opts.accessKeyId ?? `SNOOPY${randomBytes(7).toString('hex').toUpperCase()}`;
  const secretAccessKey = opts.secretAccessKey ?? randomBytes(20).toString('base64url');
  const parent = opts.parentDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'snoopy-rgw-'));
  for (const d of ['run', 'log', 'crash', 'rgw']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'keyring'), '');
  writeFileSync(join(dir, 'pids'), '');
  const conf = join(dir, 'ceph.conf');
  const daemons: Daemon[] = [];
  let rgw: Daemon | undefined;
  let port = opts.port ?? 0;
  let stopped = false;

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'snoopy-rgw-watchdog', String(process.pid), dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  const launch = (name: string, cmd: string, args: string[]): Daemon => {
    const child = spawn(cmd, ['-c', conf, ...args, '-f'], { stdio: ['ignore', 'ignore', 'pipe'], env: toolEnv() });
    let tail = '';
    child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => {
      child.once('error', () => resolve());
      child.once('exit', () => resolve());
    });
    const d: Daemon = { name, child, exited, stderrTail: () => tail.trim() };
    daemons.push(d);
    writePids();
    void exited.then(() => {
      daemons.splice(daemons.indexOf(d), 1);
      writePids();
    });
    return d;
  };
  /** The live daemons' pids, for the watchdog (a dead daemon's pid could be reused). */
  const writePids = () => {
    if (!stopped) writeFileSync(join(dir, 'pids'), daemons.map((d) => d.child.pid).filter(Boolean).join('\n'));
  };
  const alive = (d: Daemon) => d.child.exitCode === null && d.child.signalCode === null && d.child.pid !== undefined;
  const killDaemon = async (d: Daemon) => {
    if (alive(d)) d.child.kill('SIGKILL');
    await d.exited;
  };
  /** Polls `check` until true; fails early with the daemon's stderr if it died. */
  const until = async (what: string, check: () => Promise<boolean>, watch: Daemon[], by = deadline) => {
    for (let i = 0; Date.now() < by && i < 100_000; i++) {
      for (const d of watch) {
        if (!alive(d)) throw new Error(`${d.name} exited (${d.child.exitCode ?? d.child.signalCode}) while waiting for ${what}: ${d.stderrTail() || readLogTail(dir, d.name)}`);
      }
      if (await check()) return;
      await sleep(100);
    }
    throw new Error(`RGW: timed out waiting for ${what} (logs in ${dir}/log)`);
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...daemons].map(killDaemon));
    rmSync(dir, { recursive: true, force: true });
    if (watchdog.exitCode === null) watchdog.kill('SIGKILL');
  };

  const startGateway = async (by: number) => {
    // A port picked free can be taken before radosgw binds it: try a few. A restart keeps its
    // port (the old socket may linger a moment after SIGKILL).
    let lastErr: unknown;
    for (let attempt = 0; attempt < 50 && Date.now() < by; attempt++) {
      const p = port || (await freePort(address));
      writeFileSync(conf, cephConf(dir, fsid, monV2, monV1, address, p, opts.memstoreBytes ?? 4 * 1024 ** 3));
      const d = launch('client.rgw', 'radosgw', ['-n', 'client.rgw']);
      try {
        await until('radosgw to listen', () => canConnect(address === '0.0.0.0' ? '127.0.0.1' : address, p), [d], by);
        rgw = d;
        port = p;
        return;
      } catch (err) {
        lastErr = err;
        await killDaemon(d);
        await sleep(200);
      }
    }
    throw lastErr instanceof Error ? lastErr : new Error(`RGW: radosgw did not start in time${lastErr === undefined ? '' : ` (${JSON.stringify(lastErr)})`}`);
  };

  const steps: Record<string, number> = {};
  const step = (name: string) => (steps[name] = Date.now() - t0);
  const fsid = randomUUID();
  let monV2 = 0;
  let monV1 = 0;
  try {
    // the monitor: its two ports picked free, retried if another process took one meanwhile
    for (let attempt = 0; ; attempt++) {
      monV2 = await freePort();
      monV1 = await freePort();
      writeFileSync(conf, cephConf(dir, fsid, monV2, monV1, address, 0, opts.memstoreBytes ?? 4 * 1024 ** 3));
      rmSync(join(dir, 'mon.a'), { recursive: true, force: true });
      const monmap = join(dir, 'monmap');
      await mustRun('monmaptool', ['--create', '--clobber', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monV2},v1:127.0.0.1:${monV1}]`, monmap], left());
      await mustRun('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', monmap], left());
      const mon = launch('mon.a', 'ceph-mon', ['-i', 'a']);
      try {
        await until('the monitor to listen', () => canConnect('127.0.0.1', monV2), [mon]);
        step('monitor');
        break;
      } catch (err) {
        await killDaemon(mon);
        if (attempt >= 4 || Date.now() >= deadline) throw err;
      }
    }
    // the OSD: registered with the monitor, then its store made and the daemon started
    const osdUuid = randomUUID();
    const id = (await mustRun('ceph', ['-c', conf, '--connect-timeout', String(Math.ceil(left() / 1000)), 'osd', 'new', osdUuid], left())).trim();
    if (!/^\d+$/.test(id)) throw new Error(`RGW: "ceph osd new" answered "${id}"`);
    step('osd registered');
    mkdirSync(join(dir, `osd.${id}`));
    await mustRun('ceph-osd', ['-c', conf, '-i', id, '--mkfs', '--osd-uuid', osdUuid], left());
    step('osd mkfs');
    const osd = launch(`osd.${id}`, 'ceph-osd', ['-i', id]);
    // the S3 user first (radosgw-admin waits for the OSD and creates RGW's pools), then the
    // gateway: once it listens, its user's requests are accepted (a readiness probe on the port
    // means ready)
    await mustRun(
      'radosgw-admin',
      ['-c', conf, 'user', 'create', '--uid', RGW_USER, '--display-name', 'Snoopy', '--access-key', accessKeyId, '--secret-key', secretAccessKey],
      left(),
    );
    step('user created');
    await startGateway(deadline);
    step('gateway listening');
    await until('the OSD to stay up', async () => alive(osd), []);
  } catch (err) {
    await stop();
    throw err;
  }

  const endpointHost = address === '0.0.0.0' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
  const server: RgwServer = {
    endpoint: `http://${endpointHost}:${port}`,
    address,
    port,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    dir,
    get pid() {
      return rgw?.child.pid ?? 0;
    },
    startMs: 0,
    steps,
    stop,
    async killGateway() {
      if (rgw) await killDaemon(rgw);
    },
    async restartGateway() {
      if (rgw) await killDaemon(rgw);
      await startGateway(Date.now() + (opts.startTimeoutMs ?? 90_000));
    },
  };
  try {
    await createBuckets(server, opts.buckets ?? [], deadline);
  } catch (err) {
    await stop();
    throw err;
  }
  server.startMs = step('bucket created');
  return server;
}

function readLogTail(dir: string, name: string): string {
  const file = join(dir, 'log', `${name}.log`);
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
}

/** PUT each bucket until RGW accepts it: it answers before its pools are ready. */
async function createBuckets(server: RgwServer, buckets: string[], deadline: number): Promise<void> {
  const { CreateBucketCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3');
  const { createS3Client } = await import('../../lib/s3.js');
  const client = createS3Client({ ...server, endpoint: server.endpoint, forcePathStyle: true, maxAttempts: 1, requestTimeoutMs: 10_000 });
  try {
    const names = buckets.length ? buckets : [];
    // with no bucket to create, "ready" is a HEAD answered by the gateway with a real S3 reply
    const probe = names.length ? undefined : `snoopy-ready-${randomBytes(4).toString('hex')}`;
    let last = '';
    for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
      try {
        for (const name of names) await client.send(new CreateBucketCommand({ Bucket: name })).catch(ignoreOwned);
        if (probe) await client.send(new HeadBucketCommand({ Bucket: probe })).catch((err: { name?: string }) => {
          if (err.name !== 'NotFound') throw err;
        });
        return;
      } catch (err) {
        last = (err as Error).message;
        await sleep(200);
      }
    }
    throw new Error(`RGW: no bucket PUT accepted before the deadline (last: ${last})`);
  } finally {
    client.destroy();
  }
}

function ignoreOwned(err: unknown): void {
  if (!(err instanceof Error) || err.name !== 'BucketAlreadyOwnedByYou') throw err;
}
