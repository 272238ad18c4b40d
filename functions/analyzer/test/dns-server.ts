// A tiny DNS server for the tests, run inside a test network namespace:
//   node dns-server.js ADDRESS NAME=IP ... --nxdomain NAME ... --silent NAME ...
// answers A queries for the NAME=IP pairs, NXDOMAIN for --nxdomain names, and nothing at all for
// --silent names (a query that stays unanswered), over UDP and TCP (RFC 1035 4.2.2 framing).
// Prints "ready" once both are bound.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
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

/** The response to a query, or undefined for no answer at all. */
function respond(msg: Buffer): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const q = readName(msg, 0, msg.length, 12);
  if (!q || q.next + 4 > msg.length) return undefined;
  if (silent.has(q.name)) return undefined;
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
  return Buffer.concat(parts);
}

const sock = createSocket('udp4');
sock.on('message', (msg, peer) => {
  const reply = respond(msg);
  if (reply) sock.send(reply, peer.port, peer.address);
});

const tcp = createServer((conn) => {
  let buffered = Buffer.alloc(0);
  conn.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + msg.length);
      const reply = respond(msg);
      if (!reply) continue;
      const length = Buffer.alloc(2);
      length.writeUInt16BE(reply.length);
      conn.write(Buffer.concat([length, reply]));
    }
  });
  conn.on('error', () => conn.destroy());
});

let bound = 0;
const ready = () => {
  if (++bound === 2) process.stdout.write('ready\n');
};
sock.bind(53, address, ready);
tcp.listen(53, address, ready);
process.on('SIGTERM', () => {
  tcp.close();
  sock.close(() => process.exit(0));
});
