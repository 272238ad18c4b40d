// The snoopy-devcluster executable: --help, refusal of bad input with a one-line reason, and
// `up --api-only` serving kubectl until SIGTERM.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from '@jest/globals';

const mainJs = fileURLToPath(new URL('../main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'devcluster-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainJs, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('--help prints usage; bad input exits non-zero with one line', async () => {
  const help = await run(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('snoopy-devcluster up');
  for (const bad of [[], ['sideways'], ['up', '--port', 'abc'], ['up', '--nodes', 'Bad_Node'], ['up', '--bogus']]) {
    const r = await run(bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^snoopy-devcluster: /);
  }
});

test('down on a state dir with nothing left to clean succeeds', async () => {
  const r = await run(['down', '--state-dir', join(dir, 'empty')]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('cleaned');
});

test('up --api-only prints the kubeconfig path, serves kubectl, and stops on SIGTERM', async () => {
  const stateDir = join(dir, 'state');
  const child = spawn(process.execPath, [mainJs, 'up', '--api-only', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const path = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]); });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    expect(path).toBe(join(stateDir, 'kubeconfig'));
    expect(readFileSync(path, 'utf8')).toContain('snoopy-dev');
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('kubectl', ['--kubeconfig', path, 'get', 'namespaces', '-o', 'name'], { env: { ...process.env, HOME: dir } }, (err, stdout) => resolve({ code: err ? 1 : 0, stdout }));
    });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(existsSync(stateDir)).toBe(true);
});
