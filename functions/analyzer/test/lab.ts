// Test fixtures: two network namespaces joined by a veth pair (unique names), servers in the
// "server" namespace (HTTP, DNS, a port dropped by nftables), capture tools in the "client"
// namespace writing files, and the traffic the tests count.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createVethPair } from '../../../lib/testing/veth-pair.js';

const run = promisify(execFile);

export const CLIENT_IP = '198.51.100.1';
export const SERVER_IP = '198.51.100.2';
export const HTTP_PORT = 8080;
export const REFUSED_PORT = 8081;
export const DROPPED_PORT = 9999;
export const HTTP_BODY_BYTES = 20_000;
/** UDP port the end-of-traffic marker goes to (dropped silently by the server namespace) */
export const MARKER_PORT = 9;
export const NAME_OK = 'web.snoopy.test';
export const NAME_NX = 'missing.snoopy.test';
export const NAME_SILENT = 'silent.snoopy.test';

export interface Lab {
  id: string;
  nsClient: string;
  nsServer: string;
  ifClient: string;
  ifServer: string;
  dir: string;
  close(): Promise<void>;
}

export function inNs(ns: string, argv: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
  return run('ip', ['netns', 'exec', ns, ...argv], { maxBuffer: 64 << 20, timeout: timeoutMs });
}

/** Same, but the exit status does not matter (curl to a refused port, dig without answer). */
export function inNsAnyway(ns: string, argv: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

const children = new Set<ChildProcess>();

/** A long-running process in a namespace; resolves once `ready` matches its output. */
export async function startInNs(ns: string, argv: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${argv[0]} not ready after 30 s: ${out}`)), 30_000);
      const onData = (c: Buffer) => {
        out += c.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${argv[0]} exited (${code}) before it was ready: ${out}`));
      });
    });
  } catch (e) {
    await stopChild(child, 'SIGKILL');
    throw e;
  }
  return child;
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function createLab(): Promise<Lab> {
  const dir = await mkdtemp(join(tmpdir(), 'snoopy-analyzer-'));
  let pair;
  try {
    pair = await createVethPair({ tag: 'an', ipA: CLIENT_IP, ipB: SERVER_IP });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    id: pair.nsA.slice(-6),
    nsClient: pair.nsA,
    nsServer: pair.nsB,
    ifClient: pair.ifA,
    ifServer: pair.ifB,
    dir,
    close: async () => {
      for (const c of [...children]) await stopChild(c, 'SIGKILL');
      await pair.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const DNS_SERVER = fileURLToPath(new URL('./dns-server.js', import.meta.url));

/** HTTP on HTTP_PORT, DNS on 53, and TCP to DROPPED_PORT silently dropped; nothing on REFUSED_PORT. */
export async function startServers(lab: Lab): Promise<void> {
  const http = `require('http').createServer((q, r) => r.end('x'.repeat(${HTTP_BODY_BYTES}))).listen(${HTTP_PORT}, '${SERVER_IP}', () => console.log('ready'))`;
  await startInNs(lab.nsServer, [process.execPath, '-e', http], /ready/);
  await startInNs(
    lab.nsServer,
    [process.execPath, DNS_SERVER, SERVER_IP, `${NAME_OK}=${SERVER_IP}`, '--nxdomain', NAME_NX, '--silent', NAME_SILENT],
    /ready/,
  );
  const rules = `table inet snoopytest {\n  chain input {\n    type filter hook input priority 0;\n    tcp dport ${DROPPED_PORT} drop\n    udp dport ${MARKER_PORT} drop\n  }\n}\n`;
  await new Promise<void>((resolve, reject) => {
    const nft = spawn('ip', ['netns', 'exec', lab.nsServer, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    nft.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    nft.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft failed: ${err}`))));
    nft.stdin!.end(rules);
  });
}

export interface Generated {
  httpGets: number;
  refused: number;
  unanswered: number;
  dnsOk: number;
  dnsNx: number;
  dnsSilent: number;
  pings: number;
}

/** The traffic the tests count: HTTP GETs, a refused and a dropped connection, three kinds of
 *  DNS answer, and pings. */
export async function generateTraffic(lab: Lab): Promise<Generated> {
  const c = lab.nsClient;
  const dig = (name: string) =>
    inNsAnyway(c, ['dig', `@${SERVER_IP}`, name, 'A', '+tries=1', '+time=1', '+noedns', '+nocookie']);
  await dig(NAME_OK);
  await dig(NAME_NX);
  await dig(NAME_SILENT);
  const httpGets = 3;
  for (let i = 0; i < httpGets; i++) {
    await inNs(c, ['curl', '-sS', '-o', '/dev/null', '--max-time', '10', `http://${NAME_OK}:${HTTP_PORT}/`, '--resolve', `${NAME_OK}:${HTTP_PORT}:${SERVER_IP}`]);
  }
  const refused = await inNsAnyway(c, ['curl', '-sS', '-o', '/dev/null', `http://${SERVER_IP}:${REFUSED_PORT}/`]);
  if (refused.code === 0) throw new Error('the refused port answered');
  // 1.5 s: the SYN and one retransmission (Linux retries after 1 s)
  const dropped = await inNsAnyway(c, ['curl', '-sS', '-o', '/dev/null', '--connect-timeout', '1.5', `http://${SERVER_IP}:${DROPPED_PORT}/`]);
  if (dropped.code === 0) throw new Error('the dropped port answered');
  const pings = 3;
  await inNs(c, ['ping', '-q', '-c', String(pings), '-i', '0.2', SERVER_IP]);
  return { httpGets, refused: 1, unanswered: 1, dnsOk: 1, dnsNx: 1, dnsSilent: 1, pings };
}

/**
 * Sends one UDP datagram carrying a unique marker after the traffic and waits (bounded) until every
 * capture file holds it, so the capture tools are stopped only once they have written everything.
 * A capture of several interfaces needs one marker (each its own `tag`) through each of them.
 */
export async function markEnd(lab: Lab, files: string[], to = SERVER_IP, tag = ''): Promise<void> {
  const marker = `snoopy-end-of-traffic-${lab.id}${tag}`;
  const send = `require('dgram').createSocket('udp4').send('${marker}', ${MARKER_PORT}, '${to}', (e, n) => process.exit(e ? 1 : 0))`;
  await inNs(lab.nsClient, [process.execPath, '-e', send]);
  const needle = Buffer.from(marker);
  for (let i = 0; i < 150; i++) {
    const contents = await Promise.all(files.map((f) => readFile(f).catch(() => Buffer.alloc(0))));
    if (contents.every((c) => c.includes(needle))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the capture tools did not write the end-of-traffic marker within 15 s');
}
