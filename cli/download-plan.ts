// Which stored objects make which output file (pure): segments grouped per capture target and
// ordered by sequence; what the SnoopyJob's status lists but storage lacks.
import { parseEvidenceKey, parseSegmentKey, type ParsedSegmentKey } from '../lib/storage-keys.js';
import { parseS3Uri } from '../lib/s3.js';
import type { SnoopyJob } from '../lib/api/schema.js';
import type { ListedObject } from './storage.js';

export interface TargetDownload {
  captureId: string;
  podNamespace: string;
  pod: string;
  format: ParsedSegmentKey['format'];
  segments: (ListedObject & { sequence: number })[];
  /** relative output path */
  file: string;
}

export function planDownload(objects: ListedObject[]): TargetDownload[] {
  const groups = new Map<string, TargetDownload>();
  for (const o of objects) {
    const p = parseSegmentKey(o.key);
    if (!p) continue; // summaries and anything else that is not a segment
    const id = `${p.captureId}/${p.podNamespace}/${p.pod}/${p.format}`;
    let g = groups.get(id);
    if (!g) {
      const ext = p.format === 'text' ? 'txt' : p.format;
      g = { captureId: p.captureId, podNamespace: p.podNamespace, pod: p.pod, format: p.format, segments: [], file: `${p.captureId}/${p.podNamespace}_${p.pod}.${ext}` };
      groups.set(id, g);
    }
    g.segments.push({ ...o, sequence: p.sequence });
  }
  const out = [...groups.values()];
  for (const g of out) g.segments.sort((a, b) => a.sequence - b.sequence);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

export interface EvidenceDownload {
  captureId: string;
  podNamespace: string;
  pod: string;
  object: ListedObject;
  /** relative output path, beside the target's capture file */
  file: string;
}

/** The targets' evidence objects (lib/evidence), one file each. */
export function planEvidence(objects: ListedObject[], pod?: string): EvidenceDownload[] {
  const out: EvidenceDownload[] = [];
  for (const o of objects) {
    const p = parseEvidenceKey(o.key);
    if (!p || (pod !== undefined && p.pod !== pod)) continue;
    out.push({ captureId: p.captureId, podNamespace: p.podNamespace, pod: p.pod, object: o, file: `${p.captureId}/${p.podNamespace}_${p.pod}.evidence.json` });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** Keys the status reports as stored (objects are URIs or keys). */
export function statusKeys(sj: SnoopyJob): string[] {
  const keys: string[] = [];
  for (const t of sj.status?.targets ?? []) for (const o of t.objects ?? []) keys.push(parseS3Uri(o)?.key ?? o);
  return keys;
}

/** Sequence numbers missing inside each target's run of segments (0..max). */
export function sequenceGaps(t: TargetDownload): number[] {
  const have = new Set(t.segments.map((s) => s.sequence));
  const max = Math.max(-1, ...have);
  const gaps: number[] = [];
  for (let i = 0; i <= max && gaps.length < 100; i++) if (!have.has(i)) gaps.push(i);
  return gaps;
}
