// Shell completion: the candidates for each position (pure, the cluster's answers given), and the
// bash script run by a real bash against the built plugin.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { candidates, type CompletionLookups } from '../commands/completion.js';
import { CLI_MAIN, cleanEnv } from './run-cli.js';

const exec = promisify(execFile);

const asked: string[] = [];
const cluster: CompletionLookups = {
  namespaces: () => Promise.resolve(['cnf-telco', 'default', 'shop']),
  snoopyJobs: (ns) => {
    asked.push(`sj:${ns ?? ''}`);
    return Promise.resolve(['pings', 'web-dns']);
  },
  labelKeys: (ns) => {
    asked.push(`labels:${ns ?? ''}`);
    return Promise.resolve(['app', 'tier']);
  },
};

describe('completion candidates', () => {
  test.each([
    [[''], ['capture', 'list', 'ls', 'status', 'get', 'logs', 'delete', 'download', 'summary', 'evidence', 'completion']],
    [['d'], ['delete', 'download']],
    [['capture', '--ti'], ['--timer']],
    [['capture', '-n', ''], ['cnf-telco', 'default', 'shop']],
    [['list', '--job-namespace', 'sh'], ['shop']],
    [['capture', '-n', 'shop', '-l', ''], ['app=', 'tier=']],
    [['capture', '-n', 'shop', '-l', 'app=web,t'], ['app=web,tier=']],
    [['status', '-o', ''], ['json', 'yaml', 'wide']],
    [['logs', '-o', ''], ['json']],
    [['status', ''], ['pings', 'web-dns']],
    [['download', '--bucket', 'b', 'w'], ['web-dns']],
    [['download', 'pings', ''], []],
    [['capture', '--timer', ''], []],
    [['capture', '-l', 'app=x', '--', 'ping', '-'], []],
    [['completion', ''], ['bash', 'zsh']],
    [['frobnicate', ''], []],
  ])('%j → %j', async (words, expected) => {
    expect(await candidates(words, cluster)).toEqual(expected);
  });

  test('label keys come from the target namespace given with -n, names from --job-namespace', async () => {
    asked.length = 0;
    await candidates(['capture', '-n', 'shop', '-l', ''], cluster);
    await candidates(['status', '--job-namespace', 'ops', ''], cluster);
    expect(asked).toEqual(['labels:shop', 'sj:ops']);
  });
});

describe('the bash completion script', () => {
  let bin: string;
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'snoopy-completion-'));
    symlinkSync(CLI_MAIN, join(bin, 'kubectl-snoopy'));
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  async function complete(line: string[]): Promise<string[]> {
    const script = `source <(kubectl-snoopy completion bash)
COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}
_kubectl_snoopy; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const env = cleanEnv({ PATH: `${bin}:${process.env.PATH ?? ''}`, KUBECONFIG: join(bin, 'none') });
    const { stdout } = await exec('bash', ['-c', script], { env });
    return stdout.split('\n').filter(Boolean);
  }

  test('commands and flags, with no cluster to ask', async () => {
    expect(await complete(['kubectl-snoopy', 'su'])).toEqual(['summary']);
    expect(await complete(['kubectl-snoopy', 'download', '--me'])).toEqual(['--merge']);
    // names need the cluster: none reachable, nothing offered and nothing printed
    expect(await complete(['kubectl-snoopy', 'status', ''])).toEqual([]);
  });
});
