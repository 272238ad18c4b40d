// Checks a segment header before anything is stored: names must already be clean key elements
// (refused, never rewritten, so two different names cannot land on one key), the token must name
// exactly this capture target. Pure; the handler maps the outcome to a gRPC status.
import { status } from '@grpc/grpc-js';
import type { SegmentHeader } from '../../lib/proto.js';
import { evidenceKey, isCleanKeyElement, segmentKey, type SegmentFormat } from '../../lib/storage-keys.js';
import { verifyToken } from '../../lib/token.js';

export type HeaderCheck =
  | { ok: true; key: string; format: SegmentFormat | 'evidence'; metadata: Record<string, string>; contentType: string }
  | { ok: false; code: status; message: string };

const REQUIRED_NAMES = [
  ['captureId', 'capture_id'],
  ['snoopyJob', 'snoopy_job'],
  ['snoopyJobNamespace', 'snoopy_job_namespace'],
  ['pod', 'pod'],
  ['podNamespace', 'pod_namespace'],
] as const;

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

export function checkHeader(
  header: SegmentHeader,
  opts: { prefix: string; tokenKey: string | undefined; nowSeconds?: number },
): HeaderCheck {
  for (const [field, wire] of REQUIRED_NAMES) {
    const value = header[field];
    if (!value) return { ok: false, code: status.INVALID_ARGUMENT, message: `${wire} is required` };
    if (!isCleanKeyElement(value) || value.length > 253) {
      return {
        ok: false,
        code: status.INVALID_ARGUMENT,
        message: `${wire} "${value}" is not a clean name (only A-Za-z0-9 . _ - allowed, not "." or "..", at most 253 characters)`,
      };
    }
  }
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
