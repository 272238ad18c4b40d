// Runs host tools (ip, nft, mount helpers) with an argv, never through a shell, and turns a
// non-zero exit into an Error that carries the tool's stderr.
import { execFile, spawn } from 'node:child_process';

export class HostCommandError extends Error {
  override name = 'HostCommandError';
  constructor(readonly argv: string[], readonly code: number | null, readonly stderr: string) {
    super(`${argv.join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
        reject(new HostCommandError([cmd, ...args], code, String(stderr || err.message)));
      } else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like run() but a failure is only reported as false (for best-effort cleanup). */
export async function tryRun(cmd: string, args: string[], input?: string): Promise<boolean> {
  try {
    await run(cmd, args, input);
    return true;
  } catch {
    return false;
  }
}

export { spawn };
