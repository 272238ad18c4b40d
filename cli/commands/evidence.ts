// kubectl snoopy evidence NAME [--pod P] [-o json|yaml]: the targets' evidence objects under the
// SnoopyJob's prefix, the deltas first.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Evidence } from '../../lib/evidence/schema.js';
import { planEvidence } from '../download-plan.js';
import { CliError } from '../errors.js';
import { evidenceText, type TargetEvidence } from '../evidence-view.js';
import { connect } from '../kube.js';
import { jobNamespace, type GlobalOptions } from '../options.js';
import { parseOutputFormat, serialise } from '../output.js';
import { getSnoopyJob } from '../resources.js';
import { listObjects, openStorage, resolveStorage, storageError, type StorageFlags } from '../storage.js';

export const EVIDENCE_OPTIONS = { output: { type: 'string', short: 'o' }, pod: { type: 'string' } } as const;
export type EvidenceFlags = GlobalOptions & StorageFlags & { pod?: string };

export async function evidence(flags: EvidenceFlags, name: string, out: NodeJS.WritableStream): Promise<number> {
  const format = parseOutputFormat(flags.output);
  const { kube } = connect(flags);
  const sj = await getSnoopyJob(kube, jobNamespace(flags), name);
  const loc = await resolveStorage(kube, sj, flags);
  const s3 = openStorage(loc);
  try {
    const plan = planEvidence(await listObjects(s3, loc), flags.pod);
    if (plan.length === 0) {
      throw new CliError(`no evidence stored under ${loc.jobPrefix} at ${loc.where}${flags.pod ? ` for pod ${flags.pod}` : ''} (spec.evidence off, or the capture not finished)`);
    }
    const items: TargetEvidence[] = [];
    for (const e of plan) {
      let text: string;
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: e.object.key }));
        text = await res.Body!.transformToString();
      } catch (err) {
        throw storageError(err, loc.where);
      }
      try {
        items.push({ target: `${e.podNamespace}/${e.pod}`, key: e.object.key, evidence: JSON.parse(text) as Evidence });
      } catch {
        throw new CliError(`${e.object.key} is not JSON`);
      }
    }
    if (format === 'json' || format === 'yaml') out.write(serialise(items, format));
    else out.write(evidenceText(items));
    return 0;
  } finally {
    s3.destroy();
  }
}
