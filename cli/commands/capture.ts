// kubectl snoopy capture: a SnoopyJob from flags; checks before it creates (CRD, endpoint, pods);
// --wait follows it to the end.
import { stringify } from 'yaml';
import { parseDuration } from '../../lib/duration.js';
import type { SnoopyJob } from '../../lib/api/schema.js';
import { buildSnoopyJob, selectorString } from '../capture-spec.js';
import { CliError, apiError } from '../errors.js';
import { connect } from '../kube.js';
import { jobNamespace, operatorNamespace, type GlobalOptions } from '../options.js';
import { createSnoopyJob, ensureCrd, getDataEndpoint, getSnoopyJob, listDataEndpointNames, namespaceExists } from '../resources.js';
import { DEFAULT_ENDPOINT, chooseEndpoint } from '../endpoint-choice.js';
import type { Kube } from '../../lib/kube/client.js';
import { FINAL_PHASES, progressLine, timeLine } from '../status-view.js';

export interface CaptureFlags extends GlobalOptions {
  selector?: string;
  container?: string;
  timer?: string;
  schedule?: string;
  filter?: string;
  'max-bytes'?: string;
  evidence?: boolean;
  'no-evidence'?: boolean;
  endpoint?: string;
  collector?: string;
  name?: string;
  wait?: boolean;
  'dry-run'?: boolean;
}

export async function capture(flags: CaptureFlags, tool: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (!flags.selector) throw new CliError('-l/--selector is required: the labels of the target pods, e.g. -l app=web');
  if (flags.evidence && flags['no-evidence']) throw new CliError('give --evidence or --no-evidence, not both');
  if (flags.wait && flags.schedule) throw new CliError('--wait follows a one-shot capture; a --schedule capture never finishes (use status)');
  // -n names the target pods' namespace; offline (dry run) it is the context's or "default"
  let targetNamespace = flags.namespace;
  let conn: ReturnType<typeof connect> | undefined;
  if (!flags['dry-run'] || !targetNamespace) {
    try {
      conn = connect(flags);
      targetNamespace = conn.namespace;
    } catch (e) {
      if (!flags['dry-run']) throw e;
      targetNamespace = 'default';
    }
  }
  // no --endpoint/--collector: the endpoint the job namespace has (offline dry run: the default name)
  let endpoint = flags.endpoint;
  if (endpoint === undefined && flags.collector === undefined) {
    endpoint = conn ? await defaultEndpoint(conn.kube, jobNamespace(flags), Boolean(flags['dry-run'])) : DEFAULT_ENDPOINT;
  }
  const sj = buildSnoopyJob({
    jobNamespace: jobNamespace(flags),
    operatorNamespace: operatorNamespace(),
    targetNamespace: targetNamespace!,
    selector: flags.selector,
    tool,
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.container !== undefined ? { container: flags.container } : {}),
    ...(flags.timer !== undefined ? { timer: flags.timer } : {}),
    ...(flags.schedule !== undefined ? { schedule: flags.schedule } : {}),
    ...(flags.filter !== undefined ? { filter: flags.filter } : {}),
    ...(flags['max-bytes'] !== undefined ? { maxBytes: flags['max-bytes'] } : {}),
    ...(flags.evidence ? { evidence: true } : flags['no-evidence'] ? { evidence: false } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(flags.collector !== undefined ? { collector: flags.collector } : {}),
  });
  if (flags['dry-run']) {
    out.write(flags.output === 'json' ? `${JSON.stringify(sj, null, 2)}\n` : stringify(sj));
    return 0;
  }
  const { kube } = conn!;
  await ensureCrd(kube);
  if (sj.spec.dataEndpointRef && !(await getDataEndpoint(kube, sj.metadata.namespace, sj.spec.dataEndpointRef.name))) {
    throw new CliError(`SnoopyDataEndpoint "${sj.spec.dataEndpointRef.name}" not found in namespace "${sj.metadata.namespace}"`);
  }
  const selector = selectorString(sj.spec.labelSelector);
  if (!(await namespaceExists(kube, sj.spec.targetNamespace!))) throw new CliError(`namespace ${sj.spec.targetNamespace} does not exist (check -n; kubectl get namespaces lists them)`);
  let pods;
  try {
    pods = (await kube.core.listNamespacedPod({ namespace: sj.spec.targetNamespace!, labelSelector: selector })).items;
  } catch (e) {
    throw apiError(e, `listing pods in ${sj.spec.targetNamespace}`);
  }
  const live = pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata?.deletionTimestamp);
  if (live.length === 0 && !sj.spec.schedule) throw new CliError(`no pods match ${selector} in namespace ${sj.spec.targetNamespace}: nothing to capture`);
  if (sj.spec.container) {
    const without = live.filter((p) => !(p.spec?.containers ?? []).some((c) => c.name === sj.spec.container)).map((p) => p.metadata?.name);
    if (without.length > 0) throw new CliError(`container "${sj.spec.container}" is not in pod${without.length > 1 ? 's' : ''} ${without.slice(0, 3).join(', ')}${without.length > 3 ? ', …' : ''}`);
  }
  const created = await createSnoopyJob(kube, sj);
  out.write(`snoopyjob.job.fennecproject.io/${created.metadata.name} created in ${created.metadata.namespace} (${live.length} target pods match)\n`);
  if (!flags.wait) return 0;
  return follow(flags, created, err);
}

/** The job namespace's endpoint (a missing CRD said as such first); a dry run that cannot ask takes the default name. */
async function defaultEndpoint(kube: Kube, namespace: string, dryRun: boolean): Promise<string> {
  let names: string[];
  try {
    await ensureCrd(kube);
    names = await listDataEndpointNames(kube, namespace);
  } catch (e) {
    if (dryRun) return DEFAULT_ENDPOINT;
    throw e;
  }
  return chooseEndpoint(names, namespace);
}

/** Polls the SnoopyJob until a final phase; bounded by the timer plus a margin for scheduling and upload. */
async function follow(flags: CaptureFlags, sj: SnoopyJob, err: NodeJS.WritableStream): Promise<number> {
  const { kube } = connect(flags);
  const timerMs = parseDuration(sj.spec.timer ?? '1m');
  const started = Date.now();
  const deadline = started + timerMs + 120_000;
  // Ctrl-C stops following, not the capture: say so, and how to stop it
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.once('SIGINT', onInterrupt);
  try {
    let last = '';
    let lastAt = 0;
    let current = sj;
    while (Date.now() < deadline && !interrupted) {
      current = await getSnoopyJob(kube, sj.metadata.namespace, sj.metadata.name);
      // a line when the state changes, and every 10 s for the time
      const state = progressLine(current);
      const now = Date.now();
      if (state !== last || now - lastAt >= 10_000) {
        // the capture runs from its first target's start (the SnoopyJob's own startTime is its creation)
        const since = Math.min(...(current.status?.targets ?? []).map((t) => Date.parse(t.startTime ?? '')).filter((t) => !Number.isNaN(t)));
        err.write(`${state} ${timeLine(now - started, timerMs, Number.isFinite(since) ? now - since : undefined)}\n`);
        last = state;
        lastAt = now;
      }
      const phase = current.status?.phase;
      if (phase && (FINAL_PHASES as readonly string[]).includes(phase)) {
        if (phase === 'Completed') return 0;
        const cond = current.status?.conditions?.find((c) => c.status !== 'True' || c.type === 'Ready');
        throw new CliError(`SnoopyJob ${sj.metadata.name} ended ${phase}${cond?.message ? `: ${cond.message}` : ''}`);
      }
      await sleepUnlessInterrupted(1000, () => interrupted);
    }
    if (interrupted) {
      err.write(`stopped following; SnoopyJob ${sj.metadata.name} keeps running (kubectl snoopy status ${sj.metadata.name}; stop it: kubectl snoopy delete ${sj.metadata.name})\n`);
      return 130;
    }
    throw new CliError(`SnoopyJob ${sj.metadata.name} did not finish within its timer plus 2m (phase ${current.status?.phase ?? 'none'})`);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

async function sleepUnlessInterrupted(ms: number, interrupted: () => boolean): Promise<void> {
  for (let waited = 0; waited < ms && !interrupted(); waited += 100) await new Promise((r) => setTimeout(r, 100));
}
