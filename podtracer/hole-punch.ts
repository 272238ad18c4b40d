// Gives bytes of a file back to the disk without changing its length or any offset in it
// (`fallocate --punch-hole`; Node has no fallocate call). Reading a punched range yields zeros.
//
// The punches go through one long-lived shell that runs fallocate for each request: spawning a
// process from podtracer itself costs its (large) Node process about 20 ms of CPU each time, which
// at full capture rates is CPU taken from the tool, while the small shell forks cheaply.
import { spawn, type ChildProcess } from 'node:child_process';

const BLOCK = 4096;
/** how long close() waits for the punches still queued */
const CLOSE_WAIT_MS = 5000;
// offsets come from podtracer as plain integers; the path is an argument, never part of the script
const SCRIPT = 'while read -r off len; do fallocate --punch-hole --offset "$off" --length "$len" -- "$1" || echo "punching $len bytes at $off failed" >&2; done';

export class HolePuncher {
  private helper: ChildProcess | undefined;
  private broken = false;
  private closing = false;
  private reported = false;
  /** punches requested (after alignment), for tests and logs */
  requested = 0;

  constructor(
    readonly path: string,
    /** callers punch in steps of at least this many bytes: every punch briefly blocks the tool's
     *  writes to the file and costs the kernel work, so fewer, larger punches cost fewer packets */
    readonly stepBytes: number,
    /** told once about the first failure (the file then keeps its space until it is deleted) */
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {}

  /** Punches the whole 4 KiB blocks inside [start, end); never waits. A filesystem that cannot
   *  punch holes only keeps the space until the file is deleted, so a failure is not an error.
   *  Returns where the last whole block inside the range ends (what a caller punching a growing
   *  prefix goes on from). */
  punch(start: number, end: number): number {
    const from = Math.ceil(start / BLOCK) * BLOCK;
    const to = Math.floor(end / BLOCK) * BLOCK;
    if (to <= from || this.broken) return Math.max(to, start);
    this.helper ??= this.startHelper();
    this.requested++;
    this.helper.stdin!.write(`${from} ${to - from}\n`);
    return to;
  }

  /** Lets the helper finish what was asked (bounded), then ends it. */
  async close(): Promise<void> {
    const helper = this.helper;
    this.closing = true;
    if (!helper || helper.exitCode !== null || helper.signalCode !== null) return;
    const closed = new Promise<void>((resolve) => helper.once('close', () => resolve()));
    helper.stdin!.end();
    const timer = setTimeout(() => helper.kill('SIGKILL'), CLOSE_WAIT_MS);
    await closed;
    clearTimeout(timer);
  }

  private startHelper(): ChildProcess {
    const child = spawn('sh', ['-c', SCRIPT, 'hole-punch', this.path], { stdio: ['pipe', 'ignore', 'pipe'] });
    // fallocate's complaint may come in pieces: reported once a whole line (or the end) is there
    let errText = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      errText = (errText + text).slice(0, 4096);
      const nl = errText.indexOf('\n');
      if (nl >= 0) this.report(errText.slice(0, nl).trim());
    });
    const fail = (why: string) => {
      this.broken = true;
      if (!this.closing) this.report(why);
    };
    child.once('error', (err) => fail(`cannot run the hole punching helper: ${err.message}`));
    child.stdin!.on('error', (err) => fail(`the hole punching helper stopped taking requests: ${err.message}`));
    child.once('close', (code, signal) => {
      if (errText.trim() !== '') this.report(errText.trim().split('\n')[0]!);
      fail(`the hole punching helper ended (${signal ?? `exit ${code}`})`);
    });
    return child;
  }

  private report(message: string): void {
    if (this.reported) return;
    this.reported = true;
    this.onProblem(message);
  }
}
