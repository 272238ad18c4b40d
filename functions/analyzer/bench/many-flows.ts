// The bench's many-flow traffic, real and captured: thousands of short TCP connections (a small
// request, a small answer, FIN both ways) and DNS queries (answered, NXDOMAIN, unanswered) from
// the client namespace, with nftables dropping a random share of the packets each namespace
// sends (before they reach the wire, so the capture shows the retransmissions, not the losses),
// captured by tcpdump on the client's interface. (nftables rather than tc netem: netem is a
// kernel module that not every kernel has.)
import { spawn } from 'node:child_process';
import { inNs, MARKER_PORT, NAME_NX, NAME_OK, NAME_SILENT, SERVER_IP, startInNs, startServers, stopChild, markEnd, type Lab } from '../test/lab.js';

export const SMALL_PORT = 7000;

export interface ManyFlowOptions {
  connections: number;
  dnsQueries: number;
  /** packets dropped on each side, in percent */
  lossPercent: number;
}

/** A server answering each connection's first bytes with 200 bytes, then closing. */
const SMALL_SERVER = `require('net').createServer((s) => { s.on('error', () => {}); s.once('data', () => s.end(Buffer.alloc(200, 120))); })
  .listen(${SMALL_PORT}, '${SERVER_IP}', () => console.log('ready'));`;

function client(o: ManyFlowOptions): string {
  return `
const net = require('net');
const { Resolver } = require('dns').promises;
let tcpLeft = ${o.connections}, dnsLeft = ${o.dnsQueries}, open = 0;
const names = ['${NAME_OK}', '${NAME_OK}', '${NAME_OK}', '${NAME_NX}', '${NAME_OK}', '${NAME_OK}', '${NAME_OK}', '${NAME_OK}', '${NAME_OK}', '${NAME_SILENT}'];
function tcp() {
  if (tcpLeft-- <= 0) return;
  open++;
  const s = net.connect(${SMALL_PORT}, '${SERVER_IP}', () => s.write(Buffer.alloc(60, 97)));
  s.setTimeout(20000, () => s.destroy());
  s.on('data', () => {});
  s.on('end', () => s.end());
  s.on('error', () => {});
  s.on('close', () => { open--; tcp(); });
}
async function dns(i) {
  const r = new Resolver({ timeout: 300, tries: 1 });
  r.setServers(['${SERVER_IP}']);
  while (dnsLeft-- > 0) {
    open++;
    await r.resolve4(names[(dnsLeft + i) % names.length]).catch(() => undefined);
    open--;
  }
}
for (let i = 0; i < 48; i++) tcp();
const dnsDone = Promise.all(Array.from({ length: 8 }, (_, i) => dns(i)));
const t = setInterval(() => { if (tcpLeft <= 0 && open === 0) { clearInterval(t); dnsDone.then(() => console.log('done')); } }, 50);
`;
}

/** Drops `percent` % of what `ns` sends on `dev` (never the end-of-traffic marker). */
function dropRandomly(ns: string, dev: string, percent: number): Promise<void> {
  const rules =
    `table inet snoopyloss {\n  chain output {\n    type filter hook output priority 0;\n` +
    `    oifname "${dev}" udp dport ${MARKER_PORT} accept\n    oifname "${dev}" numgen random mod 1000 < ${Math.round(percent * 10)} drop\n  }\n}\n`;
  return new Promise<void>((resolve, reject) => {
    const nft = spawn('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    nft.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    nft.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft failed: ${err}`))));
    nft.stdin!.end(rules);
  });
}

/** Makes the traffic in `lab` and captures it to `file`. */
export async function captureManyFlows(lab: Lab, file: string, o: ManyFlowOptions): Promise<void> {
  await startServers(lab);
  await startInNs(lab.nsServer, [process.execPath, '-e', SMALL_SERVER], /ready/);
  for (const [ns, dev] of [
    [lab.nsClient, lab.ifClient],
    [lab.nsServer, lab.ifServer],
  ] as const) {
    await dropRandomly(ns, dev, o.lossPercent);
  }
  const tcpdump = await startInNs(lab.nsClient, ['tcpdump', '-U', '-i', lab.ifClient, '-B', '32768', '-w', file], /listening on/);
  try {
    await inNs(lab.nsClient, [process.execPath, '-e', client(o)], 900_000);
    await markEnd(lab, [file]);
  } finally {
    await stopChild(tcpdump, 'SIGINT');
  }
}


