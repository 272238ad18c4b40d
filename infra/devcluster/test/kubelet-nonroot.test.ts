// Without root the kubelet still runs pods, as plain processes on the host network.
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1PodStatus } from '@kubernetes/client-node';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/nonroot-kubelet.js', import.meta.url));
// dropping privileges needs root to begin with
const d = process.getuid?.() === 0 ? describe : describe.skip;

d('kubelet without root', () => {
  test('runs a pod as a plain process and reports its exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubelet-nonroot-'));
    chmodSync(dir, 0o777);
    try {
      const { stdout } = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, FIXTURE, dir], { cwd: dir, timeout: 60_000 });
      const out = JSON.parse(stdout) as { status: V1PodStatus; log: string };
      expect(out.log).toBe('p 65534\n');
      expect(out.status.phase).toBe('Failed');
      expect(out.status.podIP).toBe('127.0.0.1');
      expect(out.status.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 4, reason: 'Error' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
