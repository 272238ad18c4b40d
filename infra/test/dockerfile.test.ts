// The Dockerfile builds on Node 22 LTS slim, copies only files that exist, has one target per
// image the manifests name, starts each executable package.json declares, and the podtracer
// image carries the tools podtracer runs.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from '@jest/globals';
import { repoPath } from '../../lib/repo-root.js';
import { DEFAULT_ALLOWED_TOOLS } from '../../lib/tool-policy.js';
import { SNAPSHOT_COMMANDS } from '../../lib/evidence/commands.js';

const text = await readFile(repoPath('images/Dockerfile'), 'utf8');
// Instructions with continuation lines joined.
const lines = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const args = Object.fromEntries(lines.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=') as [string, string]));
const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_m, name: string) => args[name] ?? '');

function stage(name: string): string[] {
  const start = lines.findIndex((l) => new RegExp(`^FROM \\S+ AS ${name}$`, 'i').test(l));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return lines.slice(start, end < 0 ? undefined : end);
}

describe('images/Dockerfile', () => {
  test('every base image is Node 22 slim', () => {
    const bases = lines.filter((l) => l.startsWith('FROM ')).map((l) => expand(l.split(/\s+/)[1]!));
    const stages = new Set(lines.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[3]));
    const external = bases.filter((b) => !stages.has(b));
    expect(external.length).toBeGreaterThan(0);
    for (const b of external) expect(b).toMatch(/^node:22(\.\d+)*-(\w+-)?slim$/);
  });

  test('COPY sources exist in the repository', () => {
    const copies = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies) {
      const parts = c.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) expect([src, existsSync(repoPath(src))]).toEqual([src, true]);
    }
  });

  test('builds with npm ci and the project build, then drops dev dependencies', () => {
    const build = stage('build').join('\n');
    expect(build).toMatch(/RUN npm ci/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
  });

  test('one target per image, each starting its package.json executable; only podtracer runs as root', async () => {
    const pkg = JSON.parse(await readFile(repoPath('package.json'), 'utf8')) as { bin: Record<string, string> };
    const bins: Record<string, string> = {
      operator: pkg.bin['snoopy-operator']!,
      collector: pkg.bin['snoopy-collector']!,
      analyzer: pkg.bin['snoopy-analyzer']!,
      podtracer: pkg.bin['podtracer']!,
    };
    for (const [target, bin] of Object.entries(bins)) {
      const s = stage(target);
      expect([target, s.length > 0]).toEqual([target, true]);
      const entry = s.find((l) => l.startsWith('ENTRYPOINT '));
      expect(JSON.parse(entry!.slice('ENTRYPOINT '.length))).toEqual(['node', bin]);
      const user = s.find((l) => l.startsWith('USER '))?.split(/\s+/)[1];
      if (target === 'podtracer') expect(user).toBe('0:0');
      else expect(Number(user!.split(':')[0])).toBeGreaterThan(0);
    }
  });

  test('the podtracer image installs the capture and diagnosis tools', () => {
    const install = stage('podtracer').find((l) => l.includes('apt-get install'))!;
    for (const p of ['tcpdump', 'iperf3', 'iproute2', 'iputils-ping', 'util-linux', 'dnsutils', 'conntrack', 'ethtool', 'curl']) {
      expect(install.split(/\s+/)).toContain(p);
    }
  });

  test('the podtracer image has every tool the evidence snapshots run', () => {
    const packageOf: Record<string, string> = { ip: 'iproute2', tc: 'iproute2', ss: 'iproute2', nft: 'nftables', 'iptables-save': 'iptables', sysctl: 'procps', conntrack: 'conntrack' };
    const install = stage('podtracer').find((l) => l.includes('apt-get install'))!.split(/\s+/);
    for (const tool of new Set(SNAPSHOT_COMMANDS.map((c) => c.command))) {
      expect([tool, packageOf[tool] !== undefined && install.includes(packageOf[tool])]).toEqual([tool, true]);
    }
  });

  test('the podtracer image has every tool the default allowlist lets a SnoopyJob run', () => {
    // Debian bookworm package of each tool (and nsenter, which podtracer itself runs)
    const packageOf: Record<string, string> = {
      tcpdump: 'tcpdump', iperf3: 'iperf3', iperf: 'iperf', ip: 'iproute2', ss: 'iproute2', nstat: 'iproute2', tc: 'iproute2',
      ping: 'iputils-ping', tracepath: 'iputils-tracepath', traceroute: 'traceroute', ethtool: 'ethtool',
      conntrack: 'conntrack', dig: 'dnsutils', nslookup: 'dnsutils', curl: 'curl', nsenter: 'util-linux',
    };
    const install = stage('podtracer').find((l) => l.includes('apt-get install'))!.split(/\s+/);
    for (const tool of [...DEFAULT_ALLOWED_TOOLS, 'nsenter']) {
      expect([tool, packageOf[tool] !== undefined && install.includes(packageOf[tool])]).toEqual([tool, true]);
    }
  });

  test('make images builds the same four targets', async () => {
    const makefile = await readFile(repoPath('Makefile'), 'utf8');
    expect(makefile).toMatch(/^IMAGES = operator collector analyzer podtracer$/m);
    expect(makefile).toMatch(/docker build -f images\/Dockerfile --target \$\$image/);
  });
});
