// Object keys for stored segments (docs/design.md "Storage keys"):
//   [<prefix>/]<jobNamespace>/<job>/<captureId>/<podNamespace>/<pod>/<sequence:6>.<ext>
// and a node capture pod's manifest of the run:
//   [<prefix>/]<jobNamespace>/<job>/<captureId>/_nodes/<node>.json
// ("_nodes" cannot be a Kubernetes namespace, whose names are DNS labels, so no pod's keys meet it).
// Every element is reduced to [A-Za-z0-9._-] and may not be "." or "..", so no name a client
// sends can escape its place in the layout.

export type SegmentFormat = 'pcap' | 'pcapng' | 'text';

export interface SegmentKeyParts {
  prefix?: string;
  snoopyJobNamespace: string;
  snoopyJob: string;
  captureId: string;
  podNamespace: string;
  pod: string;
  sequence: number;
  format: SegmentFormat;
}

const EXTENSION: Record<SegmentFormat, string> = { pcap: 'pcap', pcapng: 'pcapng', text: 'txt' };

export class KeyError extends Error {
  override name = 'KeyError';
}

/** Replaces every character outside [A-Za-z0-9._-] with "_"; refuses empty, "." and "..". */
export function sanitizeKeyElement(value: string, what = 'name'): string {
  const clean = value.replace(/[^A-Za-z0-9._-]/g, '_');
  if (clean === '' || clean === '.' || clean === '..') {
    throw new KeyError(`${what} "${value}" is not usable in a storage key`);
  }
  return clean;
}

/** Strict check for names that must already be clean (e.g. from a gRPC header). */
export function isCleanKeyElement(value: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(value) && value !== '.' && value !== '..';
}

/** Normalises a configured prefix ("a/b/", "/a//b") to "a/b", each element sanitised. */
export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  return prefix
    .split('/')
    .filter((p) => p !== '')
    .map((p) => sanitizeKeyElement(p, 'prefix element'))
    .join('/');
}

export function segmentKey(parts: SegmentKeyParts): string {
  if (!Number.isInteger(parts.sequence) || parts.sequence < 0 || parts.sequence > 999_999) {
    throw new KeyError(`sequence ${parts.sequence} is outside 0..999999`);
  }
  const elements = [
    sanitizeKeyElement(parts.snoopyJobNamespace, 'SnoopyJob namespace'),
    sanitizeKeyElement(parts.snoopyJob, 'SnoopyJob name'),
    sanitizeKeyElement(parts.captureId, 'capture id'),
    sanitizeKeyElement(parts.podNamespace, 'pod namespace'),
    sanitizeKeyElement(parts.pod, 'pod name'),
    `${String(parts.sequence).padStart(6, '0')}.${EXTENSION[parts.format]}`,
  ];
  const prefix = normalizePrefix(parts.prefix);
  return prefix ? `${prefix}/${elements.join('/')}` : elements.join('/');
}

/** The directory-like key prefix under which all segments of one target's capture live. */
export function captureTargetPrefix(parts: Omit<SegmentKeyParts, 'sequence' | 'format'>): string {
  return segmentKey({ ...parts, sequence: 0, format: 'text' }).replace(/\/000000\.txt$/, '/');
}

/** The evidence object of one target's capture (lib/evidence), beside its segments. */
export const EVIDENCE_OBJECT = 'evidence.json';

export function evidenceKey(parts: Omit<SegmentKeyParts, 'sequence' | 'format'>): string {
  return `${captureTargetPrefix(parts)}${EVIDENCE_OBJECT}`;
}

/** Inverse of evidenceKey: the target the evidence object belongs to; undefined for other keys. */
export function parseEvidenceKey(key: string): Omit<ParsedSegmentKey, 'sequence' | 'format'> | undefined {
  const parts = key.split('/');
  if (parts.length < 6 || parts[parts.length - 1] !== EVIDENCE_OBJECT || parts[parts.length - 2] === NODE_MANIFEST_DIR) return undefined;
  const [jobNs, job, cid, podNs, pod] = parts.slice(-6, -1) as [string, string, string, string, string];
  return { prefix: parts.slice(0, -6).join('/'), snoopyJobNamespace: jobNs, snoopyJob: job, captureId: cid, podNamespace: podNs, pod };
}

/** The folder, beside the run's pod namespaces, holding its node manifests. */
export const NODE_MANIFEST_DIR = '_nodes';

export interface NodeManifestKeyParts {
  prefix?: string;
  snoopyJobNamespace: string;
  snoopyJob: string;
  captureId: string;
  node: string;
}

/** Where a run's node manifests are: "[<prefix>/]<jobNamespace>/<job>/<captureId>/_nodes/". */
export function nodeManifestPrefix(parts: Omit<NodeManifestKeyParts, 'node'>): string {
  return `${snoopyJobPrefix(parts.prefix, parts.snoopyJobNamespace, parts.snoopyJob)}${sanitizeKeyElement(parts.captureId, 'capture id')}/${NODE_MANIFEST_DIR}/`;
}

/** The manifest one node capture pod stores at the end of a run (lib/contracts/node-capture.ts). */
export function nodeManifestKey(parts: NodeManifestKeyParts): string {
  return `${nodeManifestPrefix(parts)}${sanitizeKeyElement(parts.node, 'node name')}.json`;
}

/** Inverse of nodeManifestKey; undefined for other keys. */
export function parseNodeManifestKey(key: string): Required<NodeManifestKeyParts> | undefined {
  const parts = key.split('/');
  if (parts.length < 5 || parts[parts.length - 2] !== NODE_MANIFEST_DIR) return undefined;
  const m = /^(.+)\.json$/.exec(parts[parts.length - 1]!);
  if (!m) return undefined;
  const [jobNs, job, cid] = parts.slice(-5, -2) as [string, string, string];
  return { prefix: parts.slice(0, -5).join('/'), snoopyJobNamespace: jobNs, snoopyJob: job, captureId: cid, node: m[1]! };
}

/** The prefix under which every object of one SnoopyJob lives. */
export function snoopyJobPrefix(prefix: string | undefined, namespace: string, job: string): string {
  const p = normalizePrefix(prefix);
  const rest = `${sanitizeKeyElement(namespace, 'SnoopyJob namespace')}/${sanitizeKeyElement(job, 'SnoopyJob name')}/`;
  return p ? `${p}/${rest}` : rest;
}

/** The analyzer's summary sits next to the capture: "<same path>.summary.json". */
export function summaryKey(segmentOrCaptureKey: string): string {
  return `${segmentOrCaptureKey}.summary.json`;
}

export interface ParsedSegmentKey {
  prefix: string;
  snoopyJobNamespace: string;
  snoopyJob: string;
  captureId: string;
  podNamespace: string;
  pod: string;
  sequence: number;
  format: SegmentFormat;
}

/** Inverse of segmentKey for keys it produced; undefined for anything else. */
export function parseSegmentKey(key: string): ParsedSegmentKey | undefined {
  const parts = key.split('/');
  if (parts.length < 6 || parts[parts.length - 2] === NODE_MANIFEST_DIR) return undefined;
  const file = parts[parts.length - 1]!;
  const m = /^(\d{6})\.(pcap|pcapng|txt)$/.exec(file);
  if (!m) return undefined;
  const [jobNs, job, cid, podNs, pod] = parts.slice(-6, -1) as [string, string, string, string, string];
  const format: SegmentFormat = m[2] === 'txt' ? 'text' : (m[2] as SegmentFormat);
  return {
    prefix: parts.slice(0, -6).join('/'),
    snoopyJobNamespace: jobNs,
    snoopyJob: job,
    captureId: cid,
    podNamespace: podNs,
    pod,
    sequence: Number(m[1]),
    format,
  };
}

/**
 * The object tag under which the collector records a segment's sha256 once the whole object is
 * stored (user metadata is fixed when an upload starts, before the hash is known); readers such
 * as `kubectl snoopy download` verify what they read against it.
 */
export const SHA256_TAG = 'sha256';
