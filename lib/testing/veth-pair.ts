// Test support: two network namespaces joined by a veth pair, the little network that the
// capture tests of several parts send their traffic across. Names carry a random suffix so
// tests running side by side never collide (interface names stay within Linux's 15 characters).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface VethPairOptions {
  /** short tag (≤ 6 characters) naming the test that owns the namespaces */
  tag: string;
  ipA: string;
  ipB: string;
  prefixLength?: number;
  /** IPv6 autoconfiguration chatter makes packet counts depend on timing */
  disableIpv6?: boolean;
}

export interface VethPair {
  nsA: string;
  nsB: string;
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
  /** Deletes both namespaces (and so the veth pair); never throws. */
  remove(): Promise<void>;
}

export async function createVethPair(opts: VethPairOptions): Promise<VethPair> {
  if (opts.tag.length > 6) throw new Error(`veth pair tag "${opts.tag}" is longer than 6 characters`);
  const id = randomBytes(3).toString('hex');
  const pair: VethPair = {
    nsA: `${opts.tag}-a-${id}`,
    nsB: `${opts.tag}-b-${id}`,
    ifA: `${opts.tag}a${id}`,
    ifB: `${opts.tag}b${id}`,
    ipA: opts.ipA,
    ipB: opts.ipB,
    remove: async () => {
      await run('ip', ['netns', 'del', pair.nsA]).catch(() => undefined);
      await run('ip', ['netns', 'del', pair.nsB]).catch(() => undefined);
    },
  };
  try {
    await run('ip', ['netns', 'add', pair.nsA]);
    await run('ip', ['netns', 'add', pair.nsB]);
    await run('ip', ['link', 'add', pair.ifA, 'netns', pair.nsA, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', pair.nsB]);
    for (const [ns, dev, ip] of [
      [pair.nsA, pair.ifA, pair.ipA],
      [pair.nsB, pair.ifB, pair.ipB],
    ] as const) {
      if (opts.disableIpv6) await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      await run('ip', ['-n', ns, 'addr', 'add', `${ip}/${opts.prefixLength ?? 24}`, 'dev', dev]);
      await run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (err) {
    await pair.remove();
    throw err;
  }
  return pair;
}
