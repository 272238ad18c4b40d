// kubectl snoopy summary NAME: the analyzer's <target>.summary.json objects under the SnoopyJob's
// prefix; with none there, each target's segments analysed here (local-analysis.ts).
import type { Summary } from '../../lib/api/analysis-summary.js';
import { CliError } from '../errors.js';
import { openJobStorage, readJsonObject } from '../job-storage.js';
import type { GlobalOptions } from '../options.js';
import { parseOutputFormat, serialise } from '../output.js';
import { listObjects, type StorageFlags } from '../storage.js';
import { planDownload } from '../download-plan.js';
import { analyzeLocally } from '../local-analysis.js';
import { summaryTables, targetOfSummaryKey, type TargetSummary } from '../summary-view.js';

export type SummaryFlags = GlobalOptions & StorageFlags;

export async function summary(flags: SummaryFlags, name: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { loc, s3 } = await openJobStorage(flags, name);
  try {
    const objects = await listObjects(s3, loc);
    const keys = objects.filter((o) => o.key.endsWith('.summary.json')).map((o) => o.key).sort();
    const items: TargetSummary[] = [];
    if (keys.length === 0) {
      // no analyzer deployed (or not subscribed): analyse each target's segments here, and say so
      const targets = planDownload(objects).filter((t) => t.format !== 'text');
      if (targets.length === 0) throw new CliError(`no analyzer summaries and no captures under ${loc.jobPrefix} at ${loc.where}`);
      err.write(`no analyzer summaries under ${loc.jobPrefix} (is an analyzer subscribed to capture.completed?): analysing ${targets.length} target(s) here with snoopy-analyzer\n`);
      for (const t of targets) {
        const segmentKeys = t.segments.map((seg) => seg.key);
        items.push({ target: `${t.podNamespace}/${t.pod} (${t.captureId})`, key: `local analysis of ${segmentKeys.length} segment(s)`, summary: await analyzeLocally(loc, segmentKeys) });
      }
    }
    for (const key of keys) items.push({ target: targetOfSummaryKey(key), key, summary: await readJsonObject<Summary>(s3, loc, key) });
    if (format === 'json' || format === 'yaml') out.write(serialise(items, format));
    else out.write(summaryTables(items));
    return 0;
  } finally {
    s3.destroy();
  }
}
