// Checks a segment header before anything is stored: names must already be clean key elements
// (refused, never rewritten, so two different names cannot land on one key), the token must name
// exactly this capture target (or, for a node manifest, this node of this run). Pure; the handler
// maps the outcome to a gRPC status.
import { status } from '@grpc/grpc-js';
import { ManifestError, NODE_MANIFEST_MAX_BYTES, parseNodeManifest } from '../../lib/contracts/node-capture.js';
import type { SegmentHeader } from '../../lib/proto.js';
import { captureTargetPrefix, evidenceKey, isCleanKeyElement, nodeManifestKey, segmentKey, type SegmentFormat } from '../../lib/storage-keys.js';
import { verifyNodeToken, verifyToken } from '../../lib/token.js';

/** An object whose whole body must pass `check` (a message: refused) before it is stored. */
export interface BodyCheck {
  maxBytes: number;
  check(body: Buffer): string | undefined;
}

export type HeaderCheck =
  | { ok: true; key: string; format: SegmentFormat | 'evidence' | 'node-manifest'; metadata: Record<string, string>; contentType: string; body?: BodyCheck }
  | { ok: false; code: status; message: string };

const RUN_NAMES = [
  ['captureId', 'capture_id'],
  ['snoopyJob', 'snoopy_job'],
  ['snoopyJobNamespace', 'snoopy_job_namespace'],
] as const;
const REQUIRED_NAMES = [...RUN_NAMES, ['pod', 'pod'], ['podNamespace', 'pod_namespace']] as const;
const MANIFEST_NAMES = [...RUN_NAMES, ['node', 'node']] as const;

const FORMATS: Record<string, SegmentFormat> = {
  FORMAT_PCAP: 'pcap',
  FORMAT_PCAPNG: 'pcapng',
  FORMAT_TEXT: 'text',
  // An unspecified format is stored as text: the bytes are kept as given either way.
  FORMAT_UNSPECIFIED: 'text',
};

const CONTENT_TYPES: Record<SegmentFormat, string> = {
  pcap: 'application/vnd.tcpdump.pcap',
  pcapng: 'application/x-pcapng',
  text: 'text/plain; charset=utf-8',
};

/** S3 user metadata travels as HTTP headers: printable ASCII only, bounded length. */
export function metadataValue(value: string): string {
  const printable = /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
  return printable.length > 512 ? printable.slice(0, 512) : printable;
}

type HeaderOptions = { prefix: string; tokenKey: string | undefined; nowSeconds?: number };

function checkNames(header: SegmentHeader, names: readonly (readonly [keyof SegmentHeader, string])[]): HeaderCheck | undefined {
  for (const [field, wire] of names) {
    const value = header[field];
    if (!value || typeof value !== 'string') return { ok: false, code: status.INVALID_ARGUMENT, message: `${wire} is required` };
    if (!isCleanKeyElement(value) || value.length > 253) {
      return {
        ok: false,
        code: status.INVALID_ARGUMENT,
        message: `${wire} "${value}" is not a clean name (only A-Za-z0-9 . _ - allowed, not "." or "..", at most 253 characters)`,
      };
    }
  }
  return undefined;
}

/**
 * A node capture pod's manifest of its run (lib/contracts/node-capture.ts): authorised by the
 * node's own token, stored once at "…/<captureId>/_nodes/<node>.json", and only if its body is a
 * NodeManifest of exactly this node, run and SnoopyJob whose objects are its targets' own keys.
 */
function checkNodeManifestHeader(header: SegmentHeader, opts: HeaderOptions): HeaderCheck {
  const bad = checkNames(header, MANIFEST_NAMES);
  if (bad) return bad;
  if (header.pod || header.podNamespace) return { ok: false, code: status.INVALID_ARGUMENT, message: 'a node manifest names no pod: pod and pod_namespace must be empty' };
  const job = `${header.snoopyJobNamespace}/${header.snoopyJob}`;
  if (opts.tokenKey !== undefined) {
    const check = verifyNodeToken(opts.tokenKey, header.token, { cid: header.captureId, job, node: header.node }, opts.nowSeconds);
    if (!check.ok) return { ok: false, code: status.UNAUTHENTICATED, message: `node token refused: ${check.reason}` };
  }
  const run = { prefix: opts.prefix, snoopyJobNamespace: header.snoopyJobNamespace, snoopyJob: header.snoopyJob, captureId: header.captureId };
  const check = (body: Buffer): string | undefined => {
    let manifest;
    try {
      manifest = parseNodeManifest(body.toString('utf8'));
    } catch (e) {
      if (e instanceof ManifestError) return `not a node manifest: ${e.message}`;
      throw e;
    }
    if (manifest.node !== header.node) return `the manifest is node ${manifest.node}'s, the header names node ${header.node}`;
    if (manifest.captureId !== header.captureId) return `the manifest is of capture ${manifest.captureId}, the header names ${header.captureId}`;
    if (`${manifest.job.namespace}/${manifest.job.name}` !== job) return `the manifest is of SnoopyJob ${manifest.job.namespace}/${manifest.job.name}, the header names ${job}`;
    for (const t of manifest.targets) {
      // a pod's own keys only, so a manifest cannot point readers at other captures' objects
      if (!isCleanKeyElement(t.namespace) || !isCleanKeyElement(t.pod)) return `target ${t.namespace}/${t.pod} is not a clean name`;
      const own = captureTargetPrefix({ ...run, podNamespace: t.namespace, pod: t.pod });
      const stray = t.objects.find((o) => !o.startsWith(own) || o.slice(own.length).includes('/'));
      if (stray !== undefined) return `target ${t.namespace}/${t.pod} lists ${stray}, which is not one of its objects (${own}…)`;
    }
    return undefined;
  };
  return {
    ok: true,
    key: nodeManifestKey({ ...run, node: header.node }),
    format: 'node-manifest',
    metadata: { node: metadataValue(header.node) },
    contentType: 'application/json',
    body: { maxBytes: NODE_MANIFEST_MAX_BYTES, check },
  };
}

export function checkHeader(header: SegmentHeader, opts: HeaderOptions): HeaderCheck {
  if (header.format === 'FORMAT_NODE_MANIFEST') return checkNodeManifestHeader(header, opts);
  const bad = checkNames(header, REQUIRED_NAMES);
  if (bad) return bad;
  if (!Number.isInteger(header.sequence) || header.sequence < 0 || header.sequence > 999_999) {
    return { ok: false, code: status.INVALID_ARGUMENT, message: `sequence ${header.sequence} is outside 0..999999` };
  }
  const format = header.format === 'FORMAT_EVIDENCE' ? 'evidence' : FORMATS[header.format];
  if (!format) return { ok: false, code: status.INVALID_ARGUMENT, message: `unknown format ${String(header.format)}` };
  if (opts.tokenKey !== undefined) {
    const check = verifyToken(
      opts.tokenKey,
      header.token,
      { cid: header.captureId, ns: header.podNamespace, pod: header.pod, job: `${header.snoopyJobNamespace}/${header.snoopyJob}` },
      opts.nowSeconds,
    );
    if (!check.ok) return { ok: false, code: status.UNAUTHENTICATED, message: `capture token refused: ${check.reason}` };
  }
  const target = {
    prefix: opts.prefix,
    snoopyJobNamespace: header.snoopyJobNamespace,
    snoopyJob: header.snoopyJob,
    captureId: header.captureId,
    podNamespace: header.podNamespace,
    pod: header.pod,
  };
  const key = format === 'evidence' ? evidenceKey(target) : segmentKey({ ...target, sequence: header.sequence, format });
  const metadata: Record<string, string> = {};
  const add = (name: string, value: string | undefined) => {
    if (value) metadata[name] = metadataValue(value);
  };
  add('node', header.node);
  add('pod-uid', header.podUid);
  add('container', header.container);
  add('command', header.command);
  return { ok: true, key, format, metadata, contentType: format === 'evidence' ? 'application/json' : CONTENT_TYPES[format] };
}
