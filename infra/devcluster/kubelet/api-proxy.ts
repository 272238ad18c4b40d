// Pods in their own network namespaces cannot reach an API server listening on the host's
// loopback. As a real cluster's `kubernetes` Service does, the kubelets of a dev cluster give pods
// a way in: a TCP relay on the bridge address (the pods' gateway) to the API server, and a
// kubeconfig for pods (<stateDir>/kubelet/pod-kubeconfig) whose server is that relay. Containers
// in a pod network namespace get KUBECONFIG pointing at it; hostNetwork pods get the original.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export interface ApiRelay {
  kubeconfigPath: string;
  server: string;
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
}

/** The kubeconfig text with every cluster's server replaced. */
export function rewriteKubeconfig(text: string, server: string): string {
  const doc = parse(text) as { clusters?: Array<{ cluster?: Record<string, unknown> }> };
  for (const c of doc.clusters ?? []) if (c.cluster) c.cluster.server = server;
  return stringify(doc);
}

const relays = new Map<string, { relay: Promise<ApiRelay>; users: number }>();

/**
 * Starts (or shares) the relay for a dev cluster. Undefined when pods can reach the API server
 * as it is (it does not listen on loopback).
 */
export async function acquireApiRelay(stateDir: string, apiServer: string, gateway: string, hostKubeconfig: string): Promise<ApiRelay | undefined> {
  const url = new URL(apiServer);
  if (!isLoopback(url.hostname)) return undefined;
  const known = relays.get(stateDir);
  if (known) {
    known.users++;
    return known.relay;
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const sockets = new Set<Socket>();
  const relay = (async (): Promise<ApiRelay> => {
    const server: Server = createServer((client) => {
      const upstream = connect({ host: url.hostname, port });
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // the API server's own port number, on the bridge address (other clusters use other bridges)
      server.listen(port, gateway, () => resolve());
    });
    const relayUrl = `${url.protocol}//${gateway}:${port}`;
    const dir = join(stateDir, 'kubelet');
    mkdirSync(dir, { recursive: true });
    const kubeconfigPath = join(dir, 'pod-kubeconfig');
    writeFileSync(kubeconfigPath, rewriteKubeconfig(readFileSync(hostKubeconfig, 'utf8'), relayUrl), { mode: 0o600 });
    return {
      kubeconfigPath,
      server: relayUrl,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  })();
  relays.set(stateDir, { relay, users: 1 });
  relay.catch(() => relays.delete(stateDir));
  return relay;
}

export async function releaseApiRelay(stateDir: string): Promise<void> {
  const known = relays.get(stateDir);
  if (!known) return;
  if (--known.users > 0) return;
  relays.delete(stateDir);
  await (await known.relay).close();
}
