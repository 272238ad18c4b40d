// The size limits a real API server and its etcd impose, so that the dev cluster refuses what a
// cluster would instead of accepting it and letting tests pass that would fail in production.
//   - request bodies: 3 MiB (kube-apiserver's MaxRequestBodyBytes), refused with 413;
//   - a stored object: etcd's default --max-request-bytes, 1.5 MiB. The real server passes etcd's
//     error through as a 500 with no reason ("etcdserver: request is too large"). Custom resources
//     are stored as JSON, as measured here; built-ins are stored as protobuf, smaller than their
//     JSON, so for them this check is stricter than a cluster (on the safe side);
//   - annotations: 256 KiB in all (keys and values); Secret and ConfigMap data: 1 MiB in all;
//   - label values 63 characters (metadata and pod templates), CronJob names 52 characters (the
//     Job names it derives get an 11-character suffix), Job names 63 (they become a pod label).

/** kube-apiserver's limit on a request body (DefaultMaxRequestSizeBytes). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;
/** etcd's default limit on one request, which bounds one stored object. */
export const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** apimachinery's TotalAnnotationSizeLimitB. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;
/** core validation's MaxSecretSize (also ConfigMaps). */
export const MAX_DATA_BYTES = 1024 * 1024;
export const MAX_LABEL_VALUE_LENGTH = 63;
/** batch validation: a CronJob's name leaves room for the 11-character suffix of its Jobs. */
export const MAX_CRONJOB_NAME_LENGTH = 52;
export const MAX_JOB_NAME_LENGTH = 63;

/** The error text etcd returns for an oversized request, passed through by the API server. */
export const ETCD_TOO_LARGE_MESSAGE = 'etcdserver: request is too large';

/** Bytes of annotations as apimachinery counts them: every key and value. */
export function annotationsBytes(annotations: Record<string, unknown> | undefined): number {
  let n = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) n += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  return n;
}
