// kubectl snoopy list | status NAME | delete NAME | logs NAME
import type { V1Pod } from '@kubernetes/client-node';
import { Labels } from '../../lib/api/names.js';
import { CliError, apiError } from '../errors.js';
import { connect } from '../kube.js';
import { jobNamespace, type GlobalOptions } from '../options.js';
import { parseOutputFormat, serialise } from '../output.js';
import { deleteSnoopyJob, getSnoopyJob, listSnoopyJobs } from '../resources.js';
import { listTable, statusText, type EventLine, type RunManifestRead } from '../status-view.js';
import { logLine } from '../log-view.js';
import { mergeRun, runCaptureIds, statusIsPartial } from '../run-view.js';
import { listNodeManifests, openStorage, readNodeManifests, resolveStorage, type StorageFlags } from '../storage.js';
import type { Kube } from '../../lib/kube/client.js';
import type { SnoopyJob } from '../../lib/api/schema.js';

export interface GetFlags extends GlobalOptions {
  'all-namespaces'?: boolean;
}

export async function list(flags: GetFlags, out: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { kube } = connect(flags);
  let items = await listSnoopyJobs(kube, flags['all-namespaces'] ? undefined : jobNamespace(flags));
  // -n narrows to the captures of one target namespace
  if (flags.namespace) items = items.filter((sj) => (sj.spec.targetNamespace || sj.metadata.namespace) === flags.namespace);
  if (format === 'json' || format === 'yaml') out.write(serialise({ apiVersion: 'v1', kind: 'List', items }, format));
  else if (items.length === 0) out.write('No SnoopyJobs found.\n');
  else out.write(listTable(items, format === 'wide'));
  return 0;
}

/** The run manifest merged with the status; a storage problem is shown, never fatal: the status itself is still worth printing. */
async function readRun(kube: Kube, sj: SnoopyJob, flags: StorageFlags): Promise<RunManifestRead> {
  try {
    const loc = await resolveStorage(kube, sj, flags);
    const s3 = openStorage(loc);
    try {
      return { view: mergeRun(sj, await readNodeManifests(s3, loc, await listNodeManifests(s3, loc, runCaptureIds(sj)))) };
    } finally {
      s3.destroy();
    }
  } catch (e) {
    if (e instanceof CliError) return { error: e.message };
    throw e;
  }
}

export async function status(flags: GlobalOptions & StorageFlags, name: string, out: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { kube } = connect(flags);
  const ns = jobNamespace(flags);
  const sj = await getSnoopyJob(kube, ns, name);
  if (format === 'json' || format === 'yaml') {
    out.write(serialise(sj, format));
    return 0;
  }
  let events: EventLine[] = [];
  try {
    const list = await kube.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
    events = list.items.map((e) => ({ type: e.type, reason: e.reason, message: e.message, count: e.count }));
  } catch {
    // events are a courtesy: a user who may read SnoopyJobs but not events still gets the status
  }
  // with per-node capture the status lists only the first targets: the rest are in the run manifest
  const run = statusIsPartial(sj) ? await readRun(kube, sj, flags) : undefined;
  out.write(statusText(sj, format === 'wide', events, run));
  return 0;
}

export async function remove(flags: GlobalOptions, name: string, out: NodeJS.WritableStream): Promise<number> {
  const { kube } = connect(flags);
  const ns = jobNamespace(flags);
  await deleteSnoopyJob(kube, ns, name);
  out.write(`snoopyjob.job.fennecproject.io/${name} deleted from ${ns}\n`);
  return 0;
}

/** The capture pods' logs, each line prefixed with its pod: readable, or as logged with -o json. */
export async function logs(flags: GlobalOptions, name: string, out: NodeJS.WritableStream): Promise<number> {
  if (flags.output !== undefined && flags.output !== 'json') throw new CliError(`-o ${flags.output}: logs prints readable lines, or JSON lines with -o json`, 2);
  const format = flags.output === 'json' ? 'json' : 'text';
  const { kube } = connect(flags);
  const ns = jobNamespace(flags);
  const sj = await getSnoopyJob(kube, ns, name);
  // the capture Jobs live in the operator's namespace, found by the SnoopyJob's uid label
  const podNamespaces = [...new Set([ns, process.env.SNOOPY_NAMESPACE || 'snoopy-operator'])];
  const pods: V1Pod[] = [];
  for (const podNs of podNamespaces) {
    try {
      pods.push(...(await kube.core.listNamespacedPod({ namespace: podNs, labelSelector: `${Labels.jobUid}=${sj.metadata.uid}` })).items);
    } catch (e) {
      throw apiError(e, `listing capture pods in ${podNs}`);
    }
  }
  if (pods.length === 0) throw new CliError(`SnoopyJob ${name} has no capture pods (not started yet, or cleaned up after their TTL)`);
  for (const pod of pods) {
    const podName = pod.metadata!.name!;
    let text: string;
    try {
      text = await kube.core.readNamespacedPodLog({ namespace: pod.metadata!.namespace!, name: podName });
    } catch (e) {
      out.write(`[${podName}] (no log: ${apiError(e, 'reading the log').message})\n`);
      continue;
    }
    for (const line of String(text).split('\n')) if (line !== '') out.write(logLine(podName, line, format));
  }
  return 0;
}
