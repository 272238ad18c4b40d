// Without root the kubelet still runs pods, as plain processes on the host network.
//
// The fixture runs as uid 65534, which must reach the build and node_modules wherever the clone
// lies, also under a 0700 directory such as /root or a `mktemp -d`: it is started through a
// world-readable bind mount of the repository in a private mount namespace (gone with the process).
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1PodStatus } from '@kubernetes/client-node';
import { repoRoot } from '../../../lib/repo-root.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/nonroot-kubelet.js', import.meta.url));
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
// dropping privileges needs root to begin with
const d = process.getuid?.() === 0 ? describe : describe.skip;

/**
 * Runs the fixture as nobody from the repository at `repo`. With `hideRepo`, `repo` is first made
 * reachable only through a 0700 directory (bind-mounted there), as a clone under /root is.
 */
async function runFixtureAsNobody(work: string, opts: { hideRepo: boolean }): Promise<string> {
  const open = join(work, 'repo'); // the world-readable mount point nobody starts from
  mkdirSync(open);
  let source = repoRoot();
  const script = ['set -e'];
  if (opts.hideRepo) {
    const hidden = mkdtempSync(join(tmpdir(), 'kubelet-nonroot-0700-'));
    chmodSync(hidden, 0o700);
    mkdirSync(join(hidden, 'clone'));
    script.push(`mount --bind "$REPO" "${join(hidden, 'clone')}"`);
    // the condition being tested: nobody cannot reach the clone by its own path
    script.push(`! setpriv ${NOBODY.join(' ')} test -r "${join(hidden, 'clone', 'package.json')}"`);
    source = join(hidden, 'clone');
  }
  script.push(`mount --bind "${source}" "${open}"`);
  script.push(`exec setpriv ${NOBODY.join(' ')} "$NODE" "${join(open, relative(repoRoot(), FIXTURE))}" "$WORK"`);
  try {
    const { stdout } = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script.join('\n')], {
      cwd: work,
      timeout: 60_000,
      env: { ...process.env, REPO: repoRoot(), NODE: process.execPath, WORK: work },
    });
    return stdout;
  } finally {
    // the mounts lived in the private namespace only; the directories are this test's
    if (opts.hideRepo) rmSync(source.slice(0, -'/clone'.length), { recursive: true, force: true });
  }
}

d('kubelet without root', () => {
  test.each([
    ['reached through a world-readable path', false],
    ['cloned under a 0700 directory', true],
  ])('runs a pod as a plain process and reports its exit (repository %s)', async (_name, hideRepo) => {
    const dir = mkdtempSync(join(tmpdir(), 'kubelet-nonroot-'));
    chmodSync(dir, 0o777);
    try {
      const out = JSON.parse(await runFixtureAsNobody(dir, { hideRepo })) as { status: V1PodStatus; log: string };
      expect(out.log).toBe('p 65534\n');
      expect(out.status.phase).toBe('Failed');
      expect(out.status.podIP).toBe('127.0.0.1');
      expect(out.status.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 4, reason: 'Error' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
