// Benchmark: what the sandbox (sandbox.ts) adds to a tool's start. Time from spawn to the tool's
// first output, for the chain podtracer ran before the sandbox (`nsenter --net=… -- TOOL`) and for
// the sandbox chain, in alternating rounds side by side, against the same network namespace:
// `echo` (the chain alone) and tcpdump (until it prints "listening on").
//   npm run bench:sandbox [-- --rounds 8]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { sandboxArgv } from '../sandbox.js';
import { TargetNetns } from '../test/helpers.js';

/** Milliseconds from spawn until `text` appears on stdout or stderr; the process group is then killed. */
function firstOutputMs(argv: string[], text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let seen = '';
    let done = false;
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (done || !seen.includes(text)) return;
      done = true;
      resolve(Number(process.hrtime.bigint() - start) / 1e6);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already ended
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', (code) => {
      if (!done) reject(new Error(`${argv.join(' ')} ended (${code}) without printing "${text}": ${seen.slice(-500)}`));
    });
  });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `median ${median.toFixed(0).padStart(5)} ms   min ${s[0]!.toFixed(0).padStart(5)} ms   max ${s[s.length - 1]!.toFixed(0).padStart(5)} ms`;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw new Error('--rounds: 1 to 100');
  const net = new TargetNetns('sbxb');
  await net.create();
  try {
    const netnsPath = `/proc/${net.targetPid}/ns/net`;
    const tools: Array<{ name: string; argv: string[]; text: string }> = [
      { name: 'echo', argv: ['echo', 'ready'], text: 'ready' },
      { name: 'tcpdump', argv: ['tcpdump', '-i', net.vethA, '-U', '-w', '-'], text: 'listening on' },
    ];
    for (const tool of tools) {
      const plain: number[] = [];
      const sandboxed: number[] = [];
      const plainArgv = ['nsenter', `--net=${netnsPath}`, '--', ...tool.argv];
      const sandboxedArgv = sandboxArgv({ procRoot: '/proc', netnsPath, command: tool.argv[0]!, argv: tool.argv.slice(1), allowMutating: false });
      // alternate which goes first, so that a slow moment of the machine hits both alike
      for (let i = 0; i < rounds; i++) {
        if (i % 2 === 0) {
          plain.push(await firstOutputMs(plainArgv, tool.text));
          sandboxed.push(await firstOutputMs(sandboxedArgv, tool.text));
        } else {
          sandboxed.push(await firstOutputMs(sandboxedArgv, tool.text));
          plain.push(await firstOutputMs(plainArgv, tool.text));
        }
      }
      const diffs = plain.map((p, i) => sandboxed[i]! - p);
      console.log(`${tool.name}: spawn → first output, ${rounds} rounds`);
      console.log(`  nsenter only    ${stats(plain)}`);
      console.log(`  sandbox         ${stats(sandboxed)}`);
      console.log(`  added           ${stats(diffs)}`);
    }
    const mounts = (await import('node:fs')).readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length;
    console.log(`(mounts in this mount namespace: ${mounts}; the sandbox remounts the writable ones read-only)`);
  } finally {
    await net.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
