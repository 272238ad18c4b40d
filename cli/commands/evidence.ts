// kubectl snoopy evidence NAME [--pod P] [-o json|yaml]: the targets' evidence objects under the
// SnoopyJob's prefix, the deltas first.
import type { Evidence } from '../../lib/evidence/schema.js';
import { planEvidence } from '../download-plan.js';
import { CliError } from '../errors.js';
import { evidenceText, type TargetEvidence } from '../evidence-view.js';
import { openJobStorage, readJsonObject } from '../job-storage.js';
import type { GlobalOptions } from '../options.js';
import { parseOutputFormat, serialise } from '../output.js';
import { listObjects, type StorageFlags } from '../storage.js';

export type EvidenceFlags = GlobalOptions & StorageFlags & { pod?: string };

export async function evidence(flags: EvidenceFlags, name: string, out: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { loc, s3 } = await openJobStorage(flags, name);
  try {
    const plan = planEvidence(await listObjects(s3, loc), flags.pod);
    if (plan.length === 0) {
      throw new CliError(`no evidence stored under ${loc.jobPrefix} at ${loc.where}${flags.pod ? ` for pod ${flags.pod}` : ''} (spec.evidence off, or the capture not finished)`);
    }
    const items: TargetEvidence[] = [];
    for (const e of plan) {
      items.push({ target: `${e.podNamespace}/${e.pod}`, key: e.object.key, evidence: await readJsonObject<Evidence>(s3, loc, e.object.key) });
    }
    if (format === 'json' || format === 'yaml') out.write(serialise(items, format));
    else out.write(evidenceText(items));
    return 0;
  } finally {
    s3.destroy();
  }
}
