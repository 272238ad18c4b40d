// A tiny DNS server for the tests, run inside a test network namespace:
//   node dns-server.js ADDRESS NAME=IP ... --nxdomain NAME ... --silent NAME ...
// answers A queries for the NAME=IP pairs, NXDOMAIN for --nxdomain names, and nothing at all for
// --silent names (a query that stays unanswered). Prints "ready" once bound.
import { createSocket } from 'node:dgram';
import { readName } from '../decode/dns.js';

const [address, ...rest] = process.argv.slice(2);
const answers = new Map<string, string>();
const nx = new Set<string>();
const silent = new Set<string>();
for (let i = 0; i < rest.length; i++) {
  const a = rest[i]!;
  if (a === '--nxdomain') nx.add(rest[++i]!);
  else if (a === '--silent') silent.add(rest[++i]!);
  else {
    const [n, ip] = a.split('=') as [string, string];
    answers.set(n, ip);
  }
}

const sock = createSocket('udp4');
sock.on('message', (msg, peer) => {
  if (msg.length < 12) return;
  const q = readName(msg, 0, msg.length, 12);
  if (!q || q.next + 4 > msg.length) return;
  if (silent.has(q.name)) return;
  const question = msg.subarray(12, q.next + 4);
  const ip = answers.get(q.name);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(msg.readUInt16BE(0), 0);
  const rcode = ip ? 0 : nx.has(q.name) ? 3 : 2; // NOERROR, NXDOMAIN, else SERVFAIL
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(ip ? 1 : 0, 6);
  const parts = [header, question];
  if (ip) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    parts.push(rr);
  }
  sock.send(Buffer.concat(parts), peer.port, peer.address);
});
sock.bind(53, address, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
