// The node's assignment as `podtracer node` sees it: assignment.json in the mounted Secret
// (lib/contracts/node-capture.ts), re-read every poll, since the operator adds targets that join
// and the kubelet swaps the Secret's files in at once (its `..data` symlink), and one token file
// per target beside it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ASSIGNMENT_KEY, AssignmentError, parseAssignment, type AssignedTarget, type NodeAssignment } from '../../lib/contracts/node-capture.js';
import type { Logger } from '../../lib/log.js';

/** Reads and checks assignment.json; throws AssignmentError when it is missing or bad. */
export async function readAssignment(dir: string): Promise<NodeAssignment> {
  let text: string;
  try {
    text = await readFile(join(dir, ASSIGNMENT_KEY), 'utf8');
  } catch (err) {
    throw new AssignmentError(`cannot read ${join(dir, ASSIGNMENT_KEY)}: ${(err as Error).message}`);
  }
  return parseAssignment(text);
}

/** A target's capture token, from its file beside assignment.json; undefined when there is none (yet). */
export async function readToken(dir: string, target: AssignedTarget): Promise<string | undefined> {
  try {
    const token = (await readFile(join(dir, target.tokenKey), 'utf8')).trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** What identifies a target: a pod re-created under the same name is another target. */
export const targetId = (t: Pick<AssignedTarget, 'uid'>): string => t.uid;

/**
 * Re-reads the assignment every pollMs and hands over the targets not seen before. A read that
 * fails after the first one (a Secret being rewritten, say) keeps the last good assignment: the
 * kubelet's swap is atomic, so that is a passing state or an operator bug, and neither is a
 * reason to stop the targets already captured.
 */
export class AssignmentWatcher {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  private lastProblem: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly pollMs: number,
    private readonly log: Logger,
    private readonly onNew: (targets: AssignedTarget[], assignment: NodeAssignment) => void,
  ) {}

  /** The first read: its failure is the agent's (a bad assignment), so it throws. */
  async first(): Promise<NodeAssignment> {
    const a = await readAssignment(this.dir);
    this.take(a);
    return a;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.reading = this.reading.then(() => this.poll());
    }, this.pollMs);
  }

  /** Stops polling; resolves once a read in progress has handed over what it found. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
  }

  private async poll(): Promise<void> {
    let a: NodeAssignment;
    try {
      a = await readAssignment(this.dir);
    } catch (err) {
      const problem = (err as Error).message;
      if (problem !== this.lastProblem) this.log.warn({ err: problem }, 'cannot re-read the assignment: keeping the last one');
      this.lastProblem = problem;
      return;
    }
    this.lastProblem = undefined;
    if (this.timer === undefined) return; // stopped while reading
    this.take(a);
  }

  private take(a: NodeAssignment): void {
    const fresh = a.targets.filter((t) => !this.seen.has(targetId(t)));
    for (const t of fresh) this.seen.add(targetId(t));
    if (fresh.length > 0) this.onNew(fresh, a);
  }
}
