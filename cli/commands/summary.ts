// kubectl snoopy summary NAME: the analyzer's <target>.summary.json objects under the SnoopyJob's prefix.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Summary } from '../../lib/api/analysis-summary.js';
import { CliError } from '../errors.js';
import { connect } from '../kube.js';
import { jobNamespace, type GlobalOptions } from '../options.js';
import { parseOutputFormat, serialise } from '../output.js';
import { getSnoopyJob } from '../resources.js';
import { listObjects, openStorage, resolveStorage, storageError, type StorageFlags } from '../storage.js';
import { summaryTables, targetOfSummaryKey, type TargetSummary } from '../summary-view.js';

export const SUMMARY_OPTIONS = { output: { type: 'string', short: 'o' } } as const;
export type SummaryFlags = GlobalOptions & StorageFlags;

export async function summary(flags: SummaryFlags, name: string, out: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { kube } = connect(flags);
  const sj = await getSnoopyJob(kube, jobNamespace(flags), name);
  const loc = await resolveStorage(kube, sj, flags);
  const s3 = openStorage(loc);
  try {
    const keys = (await listObjects(s3, loc)).filter((o) => o.key.endsWith('.summary.json')).map((o) => o.key).sort();
    if (keys.length === 0) throw new CliError(`no analyzer summaries under ${loc.jobPrefix} at ${loc.where} (is the analyzer subscribed to capture.completed?)`);
    const items: TargetSummary[] = [];
    for (const key of keys) {
      let text: string;
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key }));
        text = await res.Body!.transformToString();
      } catch (e) {
        throw storageError(e, loc.where);
      }
      let parsed: Summary;
      try {
        parsed = JSON.parse(text) as Summary;
      } catch {
        throw new CliError(`${key} is not JSON`);
      }
      items.push({ target: targetOfSummaryKey(key), key, summary: parsed });
    }
    if (format === 'json' || format === 'yaml') out.write(serialise(items, format));
    else out.write(summaryTables(items));
    return 0;
  } finally {
    s3.destroy();
  }
}
