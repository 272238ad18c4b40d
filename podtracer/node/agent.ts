// `podtracer node` (podtracer/README.md, "podtracer node"): captures every target of the node's
// assignment, one child `podtracer run` per target, starting children for targets that join while
// it runs. The timer is the node run's: it counts from the start of `podtracer node`, and a target
// that joins later gets what is left. The run ends once every started target has ended and the
// timer, if any, is over; SIGTERM stops every child gracefully first. Then the report goes to the
// termination log and the node manifest to storage. A target's failure is its own: the exit code
// is 0 unless the agent itself failed (an unreadable assignment: 2; the manifest not stored: 4).
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssignmentError, type AssignedTarget, type NodeAssignment, type NodeManifest, type NodeManifestTarget } from '../../lib/contracts/node-capture.js';
import { PodtracerEnv } from '../../lib/contracts/podtracer-invocation.js';
import type { Logger } from '../../lib/log.js';
import { generatedCaptureId } from '../capture-id.js';
import type { NodeOptions } from '../cli.js';
import { EXIT } from '../summary.js';
import { AssignmentWatcher, readToken, targetId } from './assignment.js';
import { TargetChild, childArgs, childEnv } from './child.js';
import { nodeManifest, nodeReportText, notStarted, targetOutcome, writeNodeReport } from './report.js';

export interface NodeRunDeps {
  log: Logger;
  /** stores the node manifest (manifest-store.ts); rejects when it could not */
  storeManifest: (manifest: NodeManifest) => Promise<void>;
  env?: NodeJS.ProcessEnv;
}

/** The targets of a node run and their children. */
class Targets {
  readonly children = new Map<string, TargetChild>();
  /** assigned, not started yet: their token file is missing */
  readonly waiting = new Map<string, AssignedTarget>();
  readonly outcomes = new Map<string, NodeManifestTarget>();

  running(): number {
    return [...this.children.keys()].filter((id) => !this.outcomes.has(id)).length;
  }
}

export async function runNode(o: NodeOptions, deps: NodeRunDeps): Promise<number> {
  const env = deps.env ?? process.env;
  const startedAt = Date.now();
  const deadline = o.timerMs !== undefined ? startedAt + o.timerMs : undefined;
  let log = deps.log;

  // a signal before the children exist is carried out as soon as they do
  let stopping = false;
  let signals = 0;
  const targets = new Targets();
  let wake: () => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    stopping = true;
    log.info({ signal, count: signals }, 'signal received: stopping every target');
    for (const c of targets.children.values()) if (signals === 1) c.stop();
    else c.hurry();
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const pending: AssignedTarget[] = [];
  const watcher = new AssignmentWatcher(o.assignmentDir, o.targetPollMs, log, (fresh) => {
    pending.push(...fresh);
    wake();
  });
  let assignment: NodeAssignment;
  try {
    assignment = await watcher.first();
  } catch (err) {
    if (!(err instanceof AssignmentError)) throw err;
    log.error({ err: err.message }, 'bad assignment');
    if (o.terminationLog) await writeNodeReport(o.terminationLog, JSON.stringify({ error: err.message, exitCode: EXIT.usage })).catch(() => undefined);
    return EXIT.usage;
  }
  const node = assignment.node;
  log = log.child({ node });
  const captureId = o.captureId ?? assignment.captureId ?? generatedCaptureId();
  const job = { name: o.job ?? 'podtracer', namespace: o.jobNamespace ?? env[PodtracerEnv.podNamespace] ?? 'default' };
  log.info({ captureId, targets: assignment.targets.length, timerMs: o.timerMs, assignmentDir: o.assignmentDir }, 'node capture starting');

  // each child's spool and termination log: under --spool-dir, else a directory of our own
  const madeWorkDir = o.spoolDir === undefined;
  const workDir = o.spoolDir ?? (await mkdtemp(join(tmpdir(), 'podtracer-node-')));
  await mkdir(workDir, { recursive: true, mode: 0o700 });

  const startTarget = async (t: AssignedTarget): Promise<void> => {
    const id = targetId(t);
    const token = await readToken(o.assignmentDir, t);
    if (token === undefined) {
      if (!targets.waiting.has(id)) log.warn({ target: `${t.namespace}/${t.pod}`, tokenKey: t.tokenKey }, 'no token file for the target yet: waiting');
      targets.waiting.set(id, t);
      return;
    }
    targets.waiting.delete(id);
    const remaining = deadline !== undefined ? deadline - Date.now() : undefined;
    const files = {
      captureId,
      terminationLog: join(workDir, `${id}.summary.json`),
      ...(o.outputDir !== undefined ? { outputDir: join(o.outputDir, t.namespace, t.pod) } : { spoolDir: join(workDir, id) }),
      ...(remaining !== undefined ? { timerMs: remaining } : {}),
    };
    const child = new TargetChild(t, childArgs(o.invocation, t, files), childEnv(env, t, token, node), files.terminationLog, log);
    targets.children.set(id, child);
    const pid = child.start();
    log.info({ target: child.id, uid: t.uid, pid, ...(files.timerMs !== undefined ? { timerMs: Math.ceil(files.timerMs) } : {}) }, 'target capture started');
    void child.done.then((end) => {
      targets.outcomes.set(id, targetOutcome(t, end));
      wake();
    });
  };

  // the run: start what was assigned, and what joins, until every started target ended and the
  // timer (if any) is over, or a signal stopped everything
  const timer = deadline !== undefined ? setTimeout(() => wake(), Math.max(0, deadline - Date.now())) : undefined;
  watcher.start();
  for (;;) {
    const woken = new Promise<void>((r) => (wake = r));
    const timeUp = deadline !== undefined && Date.now() >= deadline;
    // targets waiting for their token are tried again at every turn (at least every poll)
    if (!stopping && !timeUp) for (const t of [...pending.splice(0), ...targets.waiting.values()]) await startTarget(t);
    if (stopping) for (const c of targets.children.values()) c.stop();
    if (targets.running() === 0 && (stopping || deadline === undefined || timeUp)) break;
    await Promise.race([woken, new Promise<void>((r) => setTimeout(r, o.targetPollMs).unref())]);
  }
  if (timer) clearTimeout(timer);
  await watcher.stop();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);

  const outcomes: NodeManifestTarget[] = [...targets.outcomes.values()];
  for (const t of targets.waiting.values()) outcomes.push(notStarted(t, `no capture token: ${t.tokenKey} is not in the assignment Secret`));
  for (const t of pending) outcomes.push(notStarted(t, stopping ? 'assigned as the node run was stopped: not captured' : 'assigned after the node run ended: not captured'));

  const report = nodeReportText(node, outcomes);
  if (o.terminationLog) {
    try {
      await writeNodeReport(o.terminationLog, report);
    } catch (err) {
      log.warn({ path: o.terminationLog, err: String(err) }, 'cannot write the termination log');
    }
  }
  await cleanUp(workDir, madeWorkDir, [...targets.children.keys()], log);
  log.info({ report: JSON.parse(report) as unknown }, 'node report');

  try {
    await deps.storeManifest(nodeManifest(node, captureId, job, outcomes));
    return EXIT.ok;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'the node manifest was not stored');
    return EXIT.dataLost;
  }
}

/**
 * Removes each child's termination log, and its spool directory once empty (a child leaves unsent
 * segments there, which must stay), then our own work directory if we made it and it is empty.
 */
async function cleanUp(workDir: string, madeWorkDir: boolean, ids: string[], log: Logger): Promise<void> {
  for (const id of ids) {
    await rm(join(workDir, `${id}.summary.json`), { force: true });
    await rmdir(join(workDir, id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY') log.error({ spoolDir: join(workDir, id) }, 'unsent segments left in the spool');
    });
  }
  if (madeWorkDir) await rmdir(workDir).catch(() => undefined);
}
