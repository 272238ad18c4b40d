// Kubernetes `Status` failures. Every refusal of the API server is one of these, with the reason,
// code and details a real API server would send, so clients branch on them exactly as in a cluster.

import { ETCD_TOO_LARGE_MESSAGE } from './limits.js';

export interface StatusCause { reason?: string; message?: string; field?: string }
export interface StatusDetails { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number }
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  /** absent on errors the server passes through from storage (Go's StatusReasonUnknown) */
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusDetails): ApiError {
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}

/** `pods` in group '' → "pods"; `jobs` in batch → "jobs.batch" as the server names them in messages. */
export function qualified(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const notFound = (group: string, plural: string, name: string): ApiError =>
  failure(404, 'NotFound', `${qualified(group, plural)} "${name}" not found`, { name, group: group || undefined, kind: plural });

export const alreadyExists = (group: string, plural: string, name: string): ApiError =>
  failure(409, 'AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, { name, group: group || undefined, kind: plural });

export const conflict = (group: string, plural: string, name: string, why: string): ApiError =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${why}`, { name, group: group || undefined, kind: plural });

export const staleConflict = (group: string, plural: string, name: string): ApiError =>
  conflict(group, plural, name, 'the object has been modified; please apply your changes to the latest version and try again');

export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
  const list = causes.map((c) => `${c.field ? c.field + ': ' : ''}${c.message ?? ''}`).join(', ');
  return failure(422, 'Invalid', `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${causes.length > 1 ? '[' + list + ']' : list}`, {
    name, group: group || undefined, kind, causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

/** What a real API server answers when etcd refuses an object as too large (a plain 500). */
export const storageTooLarge = (): ApiError =>
  new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: ETCD_TOO_LARGE_MESSAGE, code: 500 });

export const badRequest = (message: string): ApiError => failure(400, 'BadRequest', message);
export const methodNotSupported = (message: string): ApiError => failure(405, 'MethodNotAllowed', message);
const PATCH_TYPES = 'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';
export const BODY_TYPES = 'application/json, application/yaml, application/vnd.kubernetes.protobuf (Namespace, ConfigMap, Secret, ServiceAccount)';
export const unsupportedMediaType = (contentType: string, accepted = PATCH_TYPES): ApiError =>
  failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted}${contentType ? ` (got ${contentType})` : ''}`);
export const gone = (message: string): ApiError => failure(410, 'Expired', message);
export const forbidden = (group: string, plural: string, name: string, message: string): ApiError =>
  failure(403, 'Forbidden', `${qualified(group, plural)} "${name}" is forbidden: ${message}`, { name, group: group || undefined, kind: plural });
export const pathNotFound = (path: string): ApiError => failure(404, 'NotFound', `the server could not find the requested resource (${path})`, { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] });
export const internal = (message: string): ApiError => failure(500, 'InternalError', `Internal error occurred: ${message}`);
