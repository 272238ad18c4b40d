// kubectl snoopy download NAME [-o DIR] [--merge]
// Verification: every object the SnoopyJob's status lists must be in storage, and, when the status
// lists fewer targets than the run has (per-node capture), every object the run manifest lists; each object's
// size must equal the listing's; the bytes read must match the sha256 the collector computed
// while storing the object (its `sha256` object tag), and a single-part object's ETag (its MD5). The sha256 of every segment and of every
// file written are recorded in DIR/segments.sha256 and DIR/SHA256SUMS (sha256sum -c format).
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { mergePcaps } from '../../lib/pcap/index.js';
import { parseS3Uri } from '../../lib/s3.js';
import { SegmentJoiner } from '../segment-joiner.js';
import { CliError } from '../errors.js';
import { connect } from '../kube.js';
import { jobNamespace, type GlobalOptions } from '../options.js';
import { humanBytes } from '../output.js';
import { progressBar, type ProgressStream } from '../progress.js';
import { getSnoopyJob } from '../resources.js';
import { fetchObject, listObjects, nodeManifestObjects, openStorage, readNodeManifests, resolveStorage, sha256, type StorageFlags } from '../storage.js';
import { manifestKeys, statusIsPartial } from '../run-view.js';
import { planDownload, planEvidence, sequenceGaps, statusKeys } from '../download-plan.js';

export interface DownloadFlags extends GlobalOptions, StorageFlags {
  merge?: boolean;
}

export async function download(flags: DownloadFlags, name: string, out: NodeJS.WritableStream, err: ProgressStream): Promise<number> {
  const { kube } = connect(flags);
  const sj = await getSnoopyJob(kube, jobNamespace(flags), name);
  const loc = await resolveStorage(kube, sj, flags);
  const s3 = openStorage(loc);
  try {
    const objects = await listObjects(s3, loc);
    const plan = planDownload(objects);
    const present = new Set(objects.map((o) => o.key));
    const missing = statusKeys(sj).filter((k) => !present.has(k));
    if (missing.length > 0) throw new CliError(`${missing.length} objects listed in the SnoopyJob's status are not in storage (${loc.where}), e.g. ${missing[0]}`);
    if (statusIsPartial(sj)) {
      // the status lists only the first targets: every target's objects are in the run manifest
      const manifests = await readNodeManifests(s3, loc, nodeManifestObjects(objects));
      const absent = manifestKeys(manifests).filter((k) => !present.has(parseS3Uri(k)?.key ?? k));
      if (absent.length > 0) throw new CliError(`${absent.length} objects listed in the run manifest are not in storage (${loc.where}), e.g. ${absent[0]}`);
    }
    if (plan.length === 0) throw new CliError(`no segments stored under ${loc.jobPrefix} at ${loc.where}${sj.status?.phase ? ` (SnoopyJob phase ${sj.status.phase})` : ''}`);
    const dir = resolve(flags.output ?? name);
    const total = plan.reduce((n, t) => n + t.segments.reduce((m, s) => m + s.size, 0), 0);
    const bar = progressBar(err, total, `downloading ${name}`);
    const sums: string[] = []; // files written, checkable with sha256sum -c
    const segmentSums: string[] = []; // the stored objects, by key
    const pcapFiles: string[] = [];
    const written: string[] = []; // printed after the bar, so the two never share a line
    let done = 0;
    let segments = 0;
    for (const t of plan) {
      const gaps = sequenceGaps(t);
      if (gaps.length > 0) throw new CliError(`${t.podNamespace}/${t.pod}: segments ${gaps.join(', ')} are missing from storage`);
      // One segment in memory at a time, appended to a .partial file renamed once all are verified.
      const file = join(dir, t.file);
      mkdirSync(dirname(file), { recursive: true });
      const partial = `${file}.partial`;
      const fd = openSync(partial, 'w');
      const fileHash = createHash('sha256');
      const joiner = new SegmentJoiner(t.format);
      try {
        for (const s of t.segments) {
          bar.update(done, `${t.pod} #${s.sequence}`);
          const body = await fetchObject(s3, loc, s.key, s);
          segmentSums.push(`${sha256(body)}  ${s.key}`);
          const piece = joiner.next(body);
          writeSync(fd, piece);
          fileHash.update(piece);
          done += s.size;
          segments++;
          bar.update(done);
        }
      } finally {
        closeSync(fd);
      }
      renameSync(partial, file);
      if (t.format !== 'text') pcapFiles.push(file);
      sums.push(`${fileHash.digest('hex')}  ${t.file}`);
      written.push(file);
    }
    // the evidence objects beside the captures, verified the same way
    for (const e of planEvidence(objects)) {
      const body = await fetchObject(s3, loc, e.object.key, e.object);
      segmentSums.push(`${sha256(body)}  ${e.object.key}`);
      const file = join(dir, e.file);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, body);
      sums.push(`${sha256(body)}  ${e.file}`);
      written.push(file);
    }
    if (flags.merge) {
      if (pcapFiles.length === 0) throw new CliError('--merge joins packet captures, and this SnoopyJob stored only text');
      const merged = mergePcaps(pcapFiles.map((f) => readFileSync(f)));
      const file = join(dir, 'merged.pcap');
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, merged);
      sums.push(`${sha256(merged)}  merged.pcap`);
      written.push(file);
    }
    writeFileSync(join(dir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
    writeFileSync(join(dir, 'segments.sha256'), `${segmentSums.join('\n')}\n`);
    bar.done();
    for (const f of written) out.write(`${f}\n`);
    if (err.isTTY) err.write(`${segments} segments, ${humanBytes(total)} verified into ${dir}\n`);
    return 0;
  } finally {
    s3.destroy();
  }
}
