// Deterministic names and label values for what the operator creates. Names must be stable across
// restarts (so a restarted operator finds, never duplicates, its Jobs), unique per (SnoopyJob,
// target pod) and short enough for Kubernetes: 63 for Jobs (DNS label, also the pod's job-name
// label), 52 for CronJobs (the CronJob controller appends an 11-character suffix to its Jobs).
import { createHash } from 'node:crypto';

export const LABEL_PREFIX = 'snoopy.fennecproject.io';
export const Labels = {
  jobUid: `${LABEL_PREFIX}/job-uid`,
  jobName: `${LABEL_PREFIX}/job-name`,
  jobNamespace: `${LABEL_PREFIX}/job-namespace`,
  targetPod: `${LABEL_PREFIX}/target-pod`,
  targetNamespace: `${LABEL_PREFIX}/target-namespace`,
  component: `${LABEL_PREFIX}/component`,
  /** the node a per-node capture Job, CronJob or assignment Secret serves (labelValue of its name) */
  node: `${LABEL_PREFIX}/node`,
} as const;
export const Annotations = {
  jobName: `${LABEL_PREFIX}/job-name`,
  targetPod: `${LABEL_PREFIX}/target-pod`,
  templateHash: `${LABEL_PREFIX}/template-hash`,
  tokenExpiry: `${LABEL_PREFIX}/token-expiry`,
  /** the node's full name (the label holds at most 63 characters of it) */
  node: `${LABEL_PREFIX}/node`,
} as const;
export const FINALIZER = `${LABEL_PREFIX}/cleanup`;

export const MAX_JOB_NAME = 63;
export const MAX_CRONJOB_NAME = 52;
const HASH_LEN = 10;

export function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, HASH_LEN);
}

/** Lower-case DNS-label characters only, no leading/trailing/double dashes. */
function clean(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * "<snoopyjob>-<pod>-<hash>" cut to `max`: the hash (of the SnoopyJob's uid and the pod's
 * namespace/name) keeps names unique whatever the truncation drops; the readable parts share the rest.
 */
export function targetObjectName(sj: { name: string; uid: string }, pod: { namespace: string; name: string }, max: number): string {
  return readableName(sj.name, pod.name, shortHash(sj.uid, pod.namespace, pod.name), max);
}

/** "<a>-<b>-<hash>" cut to `max`, the two readable parts sharing what the hash leaves. */
function readableName(first: string, second: string, hash: string, max: number): string {
  let a = clean(first);
  let b = clean(second);
  const room = max - HASH_LEN - 2; // two dashes
  if (a.length + b.length > room) {
    const half = Math.floor(room / 2);
    if (a.length <= half) b = b.slice(0, room - a.length);
    else if (b.length <= room - half) a = a.slice(0, room - b.length);
    else {
      a = a.slice(0, half);
      b = b.slice(0, room - half);
    }
  }
  return [a.replace(/-+$/, ''), b.replace(/-+$/, ''), hash].filter(Boolean).join('-');
}

export function captureJobName(sj: { name: string; uid: string }, pod: { namespace: string; name: string }): string {
  return targetObjectName(sj, pod, MAX_JOB_NAME);
}

export function captureCronJobName(sj: { name: string; uid: string }, pod: { namespace: string; name: string }): string {
  return targetObjectName(sj, pod, MAX_CRONJOB_NAME);
}

/**
 * Per-node capture: "<snoopyjob>-<node>-<hash>" (hash of the SnoopyJob's uid and the node's name,
 * never equal to a per-target name's) cut to 63 for the Job, 52 for the CronJob.
 */
export function nodeCaptureJobName(sj: { name: string; uid: string }, node: string): string {
  return readableName(sj.name, node, shortHash(sj.uid, 'node', node), MAX_JOB_NAME);
}

export function nodeCaptureCronJobName(sj: { name: string; uid: string }, node: string): string {
  return readableName(sj.name, node, shortHash(sj.uid, 'node', node), MAX_CRONJOB_NAME);
}

const ASSIGNMENT_PREFIX = 'snoopy-node-';
/** The node's assignment Secret (lib/contracts/node-capture.ts): "snoopy-node-<snoopyjob>-<node>-<hash>", ≤ 63. */
export function assignmentSecretName(sj: { name: string; uid: string }, node: string): string {
  return ASSIGNMENT_PREFIX + readableName(sj.name, node, shortHash(sj.uid, 'assignment', node), MAX_JOB_NAME - ASSIGNMENT_PREFIX.length);
}

/** The assignment Secret's key for one target's token: "<pod>-<hash of namespace/pod>" (Secret key characters, ≤ 63). */
export function targetTokenKey(pod: { namespace: string; name: string }): string {
  return `${clean(pod.name).slice(0, 63 - HASH_LEN - 1).replace(/-+$/, '') || 'pod'}-${shortHash(pod.namespace, pod.name)}`;
}

/** One Secret per SnoopyJob holds every target's token (key = the target's Job/CronJob name). */
export function tokenSecretName(sj: { name: string; uid: string }): string {
  const hash = shortHash(sj.uid);
  return `snoopy-token-${clean(sj.name).slice(0, 63 - 14 - HASH_LEN - 1).replace(/-+$/, '')}-${hash}`;
}

/** The capture id of a one-shot run: stable for the SnoopyJob's lifetime, a storage key element. */
export function oneShotCaptureId(sj: { uid: string }): string {
  return `run-${shortHash('capture', sj.uid)}`;
}

/** Label values are ≤ 63 characters; longer names keep a prefix and a hash (the full name is an annotation). */
export function labelValue(text: string): string {
  if (text.length <= 63) return text;
  return `${text.slice(0, 63 - HASH_LEN - 1).replace(/[^A-Za-z0-9]+$/, '')}-${shortHash(text)}`;
}

export function snoopyLabels(sj: { name: string; namespace: string; uid: string }, pod?: { name: string; namespace: string }): Record<string, string> {
  return {
    [Labels.jobUid]: sj.uid,
    [Labels.jobName]: labelValue(sj.name),
    [Labels.jobNamespace]: sj.namespace,
    ...(pod ? { [Labels.targetPod]: labelValue(pod.name), [Labels.targetNamespace]: pod.namespace } : {}),
  };
}
