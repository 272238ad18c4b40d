// Peers for the tool under test, run inside the throwaway namespace: a tool only opens some files
// once it talks to someone (dig loads +tls-ca when it reaches a DoT server; curl handles cookies
// and output on a response). Listens on every address of the namespace: HTTP on 80 and 8080, plain
// TCP (accepted, then idle) on 53, 443 and 853, UDP on 53 (no answers). Prints "ready" once
// listening and exits by itself after a bounded time.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';

const lifetimeMs = Number(process.argv[2] ?? '20000');

const servers: Server[] = [];
const listen = (srv: Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ port, host: '::', ipv6Only: false }, () => resolve());
  });

const http = (): Server =>
  createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'snp=1; Path=/', etag: '"snp"' });
    res.end('ok\n');
  });
const idle = (): Server => createTcpServer((sock) => sock.on('error', () => undefined));

async function main(): Promise<void> {
  for (const [srv, port] of [[http(), 80], [http(), 8080], [idle(), 53], [idle(), 443], [idle(), 853]] as const) {
    servers.push(srv);
    await listen(srv, port);
  }
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  await new Promise<void>((resolve) => udp.bind(53, '::', resolve));
  process.stdout.write('ready\n');
  setTimeout(() => process.exit(0), lifetimeMs).unref();
  setInterval(() => undefined, 1000).unref();
  await new Promise((resolve) => setTimeout(resolve, lifetimeMs));
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`companion: ${String(err)}\n`);
  process.exit(1);
});
