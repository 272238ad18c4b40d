// The demo drives the cluster the way a user does: with the real kubectl and a kubeconfig.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class Kubectl {
  constructor(private readonly kubeconfig: string) {}

  async run(args: string[], input?: string): Promise<string> {
    const child = run('kubectl', ['--kubeconfig', this.kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    try {
      return (await child).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')}: ${(e.stderr || e.message).trim()}`, { cause: err });
    }
  }

  /** kubectl apply -f - with the given YAML. */
  async apply(yaml: string): Promise<string> {
    return this.run(['apply', '-f', '-'], yaml);
  }

  async getJson<T>(args: string[]): Promise<T> {
    return JSON.parse(await this.run(['get', ...args, '-o', 'json'])) as T;
  }
}
