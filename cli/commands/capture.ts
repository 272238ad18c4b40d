// kubectl snoopy capture: a SnoopyJob from flags; checks before it creates (CRD, endpoint, pods);
// --wait follows it to the end.
import { stringify } from 'yaml';
import { parseDuration } from '../../lib/duration.js';
import type { SnoopyJob } from '../../lib/api/schema.js';
import { buildSnoopyJob, selectorString } from '../capture-spec.js';
import { CliError, apiError } from '../errors.js';
import { connect } from '../kube.js';
import { jobNamespace, operatorNamespace, type GlobalOptions } from '../options.js';
import { createSnoopyJob, ensureCrd, getDataEndpoint, getSnoopyJob } from '../resources.js';
import { FINAL_PHASES, progressLine } from '../status-view.js';

export const CAPTURE_OPTIONS = {
  selector: { type: 'string', short: 'l' },
  container: { type: 'string', short: 'c' },
  timer: { type: 'string' },
  schedule: { type: 'string' },
  filter: { type: 'string' },
  'max-bytes': { type: 'string' },
  evidence: { type: 'boolean' },
  'no-evidence': { type: 'boolean' },
  endpoint: { type: 'string' },
  collector: { type: 'string' },
  name: { type: 'string' },
  wait: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const;

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
    ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
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

/** Polls the SnoopyJob until a final phase; bounded by the timer plus a margin for scheduling and upload. */
async function follow(flags: CaptureFlags, sj: SnoopyJob, err: NodeJS.WritableStream): Promise<number> {
  const { kube } = connect(flags);
  const timerMs = parseDuration(sj.spec.timer ?? '1m');
  const deadline = Date.now() + timerMs + 120_000;
  let last = '';
  let current = sj;
  while (Date.now() < deadline) {
    current = await getSnoopyJob(kube, sj.metadata.namespace, sj.metadata.name);
    const line = progressLine(current);
    if (line !== last) err.write(`${line}\n`);
    last = line;
    const phase = current.status?.phase;
    if (phase && (FINAL_PHASES as readonly string[]).includes(phase)) {
      if (phase === 'Completed') return 0;
      const cond = current.status?.conditions?.find((c) => c.status !== 'True' || c.type === 'Ready');
      throw new CliError(`SnoopyJob ${sj.metadata.name} ended ${phase}${cond?.message ? `: ${cond.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new CliError(`SnoopyJob ${sj.metadata.name} did not finish within its timer plus 2m (phase ${current.status?.phase ?? 'none'})`);
}
