// kubectl snoopy summary NAME: the analyzer's <target>.summary.json objects under the SnoopyJob's prefix.
import type { Summary } from '../../lib/api/analysis-summary.js';
import { CliError } from '../errors.js';
import { openJobStorage, readJsonObject } from '../job-storage.js';
import type { GlobalOptions } from '../options.js';
import { parseOutputFormat, serialise } from '../output.js';
import { listObjects, type StorageFlags } from '../storage.js';
import { summaryTables, targetOfSummaryKey, type TargetSummary } from '../summary-view.js';

export type SummaryFlags = GlobalOptions & StorageFlags;

export async function summary(flags: SummaryFlags, name: string, out: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { loc, s3 } = await openJobStorage(flags, name);
  try {
    const keys = (await listObjects(s3, loc)).filter((o) => o.key.endsWith('.summary.json')).map((o) => o.key).sort();
    if (keys.length === 0) throw new CliError(`no analyzer summaries under ${loc.jobPrefix} at ${loc.where} (is the analyzer subscribed to capture.completed?)`);
    const items: TargetSummary[] = [];
    for (const key of keys) items.push({ target: targetOfSummaryKey(key), key, summary: await readJsonObject<Summary>(s3, loc, key) });
    if (format === 'json' || format === 'yaml') out.write(serialise(items, format));
    else out.write(summaryTables(items));
    return 0;
  } finally {
    s3.destroy();
  }
}
