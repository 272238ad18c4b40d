// Pure rendering of the capture workload for one target pod (docs/design.md "What the operator creates"): a Job for one-shot
// SnoopyJobs, a CronJob for scheduled ones. Everything the reconciler decides is an input, so the
// same input always gives the same object (and the same template hash).
import type { V1CronJob, V1EnvVar, V1Job, V1JobSpec, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import { NODE_ASSIGNMENT_DIR } from '../../lib/contracts/node-capture.js';
import { POD_TERMINATION_LOG, PodtracerEnv, toArgs, toolPolicyEnv } from '../../lib/contracts/podtracer-invocation.js';
import type { ToolPolicy } from '../../lib/tool-policy.js';
import type { OperatorConfig } from '../config.js';
import { Annotations, Labels, labelValue, shortHash, snoopyLabels } from '../../lib/api/names.js';
import { nodeCaptureResources } from './resources.js';

export interface CaptureTarget {
  pod: string;
  namespace: string;
  uid: string;
  node: string;
  container: string;
}

export interface CaptureSettings {
  /** operator namespace */
  namespace: string;
  podtracerImage: string;
  privileged: boolean;
  graceSeconds: number;
  ttlSecondsAfterFinished: number;
  backoffLimit: number;
  serviceAccount: string;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  /** Per-node capture pods: added to `resources` once per target (render/resources.ts). */
  resourcesPerTarget: { requests: Record<string, string>; limits: Record<string, string> };
  /**
   * The operator's tool policy. podtracer checks the invocation again with the policy it reads
   * from its environment, so a configured allowlist must reach it or its runs are refused there.
   */
  toolPolicy?: ToolPolicy;
}

/** The operator configuration's part that shapes every capture workload. */
export function captureSettingsFrom(c: OperatorConfig): CaptureSettings {
  return {
    namespace: c.namespace,
    podtracerImage: c.podtracerImage,
    privileged: c.privileged,
    graceSeconds: c.graceSeconds,
    ttlSecondsAfterFinished: c.ttlSecondsAfterFinished,
    backoffLimit: c.backoffLimit,
    serviceAccount: c.captureServiceAccount,
    resources: c.captureResources,
    resourcesPerTarget: c.captureResourcesPerTarget,
    toolPolicy: c.toolPolicy,
  };
}

export interface CaptureRequest {
  sj: { name: string; namespace: string; uid: string };
  command: string;
  argv: string[];
  timer: string;
  timerSeconds: number;
  maxBytes?: number;
  /** take the evidence snapshots (lib/api evidenceEnabled) */
  evidence?: boolean;
  /** host:port */
  collector: string;
  target: CaptureTarget;
  tokenSecret: string;
  /** Secret key holding this target's token (the Job/CronJob name). */
  tokenKey: string;
  /** One-shot: the run's capture id. Scheduled: undefined, each run's Job name is its capture id. */
  captureId?: string;
}

export const CAPTURE_CAPABILITIES = ['NET_ADMIN', 'NET_RAW', 'SYS_ADMIN', 'SYS_PTRACE'];

/** SIGINT to SIGKILL, for a tool that does not stop when asked. */
export const KILL_GRACE_SECONDS = 10;

/**
 * podtracer's stop and upload budgets must end before the Job's deadline (timer + grace), or the
 * deadline kills it while spooled segments are still being retried.
 */
export function uploadGraceSeconds(graceSeconds: number): number {
  return Math.max(5, graceSeconds - KILL_GRACE_SECONDS - 10);
}

/** `podtracer run …` arguments (the image's entrypoint is podtracer). */
export function podtracerArgs(req: CaptureRequest, graceSeconds: number): string[] {
  return toArgs({
    options: {
      pod: req.target.pod,
      namespace: req.target.namespace,
      container: req.target.container,
      timer: req.timer,
      ...(req.maxBytes !== undefined ? { maxBytes: String(req.maxBytes) } : {}),
      collector: req.collector,
      ...(req.evidence ? { evidence: 'on' } : {}),
      killGrace: `${KILL_GRACE_SECONDS}s`,
      uploadGrace: `${uploadGraceSeconds(graceSeconds)}s`,
      // named: podtracer writes none by default outside a pod, and a pod need not tell it is one
      terminationLog: POD_TERMINATION_LOG,
    },
    tool: [req.command, ...req.argv],
  });
}

function env(req: CaptureRequest, settings: CaptureSettings): V1EnvVar[] {
  return runEnv(req.sj, req.captureId, req.target.node, settings, [
    { name: PodtracerEnv.podUid, value: req.target.uid },
    { name: PodtracerEnv.captureToken, valueFrom: { secretKeyRef: { name: req.tokenSecret, key: req.tokenKey } } },
  ]);
}

/** What every capture container gets, `own` (the per-target design's target and token) after the node. */
function runEnv(sj: { name: string; namespace: string }, captureId: string | undefined, node: string, settings: CaptureSettings, own: V1EnvVar[]): V1EnvVar[] {
  const policy = settings.toolPolicy;
  return [
    { name: PodtracerEnv.job, value: sj.name },
    { name: PodtracerEnv.jobNamespace, value: sj.namespace },
    captureId !== undefined
      ? { name: PodtracerEnv.captureId, value: captureId }
      : // every CronJob run is its own capture: the Job's name, which the Job controller puts in this pod label
        { name: PodtracerEnv.captureId, valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } } },
    { name: PodtracerEnv.nodeName, value: node },
    ...own,
    // the operator's whole tool policy (allowlist, writes, flood knobs), which podtracer applies again
    ...(policy ? toolPolicyEnv(policy) : []),
  ];
}

export function capturePodTemplate(req: CaptureRequest, settings: CaptureSettings): V1PodTemplateSpec {
  const labels = snoopyLabels(req.sj, { name: req.target.pod, namespace: req.target.namespace });
  return {
    metadata: {
      labels: { ...labels, [Labels.component]: 'capture' },
      annotations: {
        [Annotations.jobName]: req.sj.name,
        [Annotations.targetPod]: `${req.target.namespace}/${req.target.pod}`,
        // the field below, for clusters older than 1.30
        'container.apparmor.security.beta.kubernetes.io/podtracer': 'unconfined',
      },
    },
    spec: capturePodSpec(req.target.node, podtracerArgs(req, settings.graceSeconds), env(req, settings), settings.resources, settings),
  };
}

/** The capture pod on `node`: pinned there, privileged enough to enter the targets' namespaces. */
function capturePodSpec(node: string, args: string[], envVars: V1EnvVar[], resources: CaptureSettings['resources'], settings: CaptureSettings, assignmentSecret?: string): V1PodSpec {
  return {
    restartPolicy: 'Never',
    serviceAccountName: settings.serviceAccount,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }],
        },
      },
    },
    // a capture must run wherever its target runs, whatever taints that node has
    tolerations: [{ operator: 'Exists' }],
    volumes: [
      { name: 'host-proc', hostPath: { path: '/proc', type: 'Directory' } },
      // the node's assignment, refreshed in place by the kubelet when targets join
      ...(assignmentSecret !== undefined ? [{ name: 'assignment', secret: { secretName: assignmentSecret, defaultMode: 0o400 } }] : []),
    ],
    containers: [
      {
        name: 'podtracer',
        image: settings.podtracerImage,
        args,
        env: envVars,
        volumeMounts: [
          { name: 'host-proc', mountPath: '/host/proc', readOnly: true },
          ...(assignmentSecret !== undefined ? [{ name: 'assignment', mountPath: NODE_ASSIGNMENT_DIR, readOnly: true }] : []),
        ],
        securityContext: {
          runAsUser: 0,
          privileged: settings.privileged,
          allowPrivilegeEscalation: settings.privileged,
          capabilities: { add: [...CAPTURE_CAPABILITIES], drop: ['ALL'] },
          // podtracer builds the tool's sandbox with mount(2) (podtracer/sandbox.ts), which the
          // runtimes' default AppArmor profile denies; the tool itself runs far more confined
          appArmorProfile: { type: 'Unconfined' },
        },
        resources: { requests: { ...resources.requests }, limits: { ...resources.limits } },
        terminationMessagePath: POD_TERMINATION_LOG,
        terminationMessagePolicy: 'File',
      },
    ],
  };
}

function jobSpec(req: CaptureRequest, settings: CaptureSettings): V1JobSpec {
  return {
    backoffLimit: settings.backoffLimit,
    activeDeadlineSeconds: req.timerSeconds + settings.graceSeconds,
    ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
    template: capturePodTemplate(req, settings),
  };
}

/** Hash of everything that shapes the workload, to tell when a CronJob must be updated. */
export function templateHash(value: unknown): string {
  return shortHash(JSON.stringify(value));
}

export function renderCaptureJob(name: string, req: CaptureRequest, settings: CaptureSettings): V1Job {
  const spec = jobSpec(req, settings);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: settings.namespace,
      labels: snoopyLabels(req.sj, { name: req.target.pod, namespace: req.target.namespace }),
      // No template hash, unlike the CronJob: a one-shot Job is never updated, only created.
      annotations: {
        [Annotations.jobName]: req.sj.name,
        [Annotations.targetPod]: `${req.target.namespace}/${req.target.pod}`,
      },
    },
    spec,
  };
}

export function renderCaptureCronJob(
  name: string,
  req: CaptureRequest & { schedule: string; suspend: boolean },
  settings: CaptureSettings,
): V1CronJob {
  const labels = snoopyLabels(req.sj, { name: req.target.pod, namespace: req.target.namespace });
  const spec = {
    schedule: req.schedule,
    suspend: req.suspend,
    // a run still capturing when the next is due: skip the next rather than capture twice
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 300,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    jobTemplate: {
      metadata: { labels, annotations: { [Annotations.jobName]: req.sj.name, [Annotations.targetPod]: `${req.target.namespace}/${req.target.pod}` } },
      spec: jobSpec(req, settings),
    },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name,
      namespace: settings.namespace,
      labels,
      annotations: {
        [Annotations.jobName]: req.sj.name,
        [Annotations.targetPod]: `${req.target.namespace}/${req.target.pod}`,
        [Annotations.templateHash]: templateHash(spec),
      },
    },
    spec,
  };
}

// ---------------------------------------------------------------- per-node capture

/** One node's capture workload: `podtracer node` over the node's assignment Secret. */
export interface NodeCaptureRequest {
  sj: { name: string; namespace: string; uid: string };
  command: string;
  argv: string[];
  timer: string;
  timerSeconds: number;
  maxBytes?: number;
  evidence?: boolean;
  collector: string;
  node: string;
  /** the node's assignment Secret (lib/api/names.ts assignmentSecretName) */
  assignmentSecret: string;
  /** targets assigned when the workload is rendered: its resources scale with them */
  targets: number;
  /** One-shot: the run's capture id. Scheduled: undefined, each run's Job name is its capture id. */
  captureId?: string;
}

/**
 * `podtracer node …`: the run options of `podtracer run` minus the target's (--pod, --namespace,
 * --container, --pid), and the directory where the node's assignment Secret is mounted.
 */
export function podtracerNodeArgs(req: NodeCaptureRequest, graceSeconds: number): string[] {
  return toArgs({
    command: 'node',
    options: {
      assignmentDir: NODE_ASSIGNMENT_DIR,
      timer: req.timer,
      ...(req.maxBytes !== undefined ? { maxBytes: String(req.maxBytes) } : {}),
      collector: req.collector,
      ...(req.evidence ? { evidence: 'on' } : {}),
      killGrace: `${KILL_GRACE_SECONDS}s`,
      uploadGrace: `${uploadGraceSeconds(graceSeconds)}s`,
      terminationLog: POD_TERMINATION_LOG,
    },
    tool: [req.command, ...req.argv],
  });
}

function nodeEnv(req: NodeCaptureRequest, settings: CaptureSettings): V1EnvVar[] {
  return runEnv(req.sj, req.captureId, req.node, settings, []);
}

function nodeLabels(req: NodeCaptureRequest): Record<string, string> {
  return { ...snoopyLabels(req.sj), [Labels.node]: labelValue(req.node) };
}

export function nodeCapturePodTemplate(req: NodeCaptureRequest, settings: CaptureSettings): V1PodTemplateSpec {
  const resources = nodeCaptureResources(settings.resources, settings.resourcesPerTarget, Math.max(1, req.targets));
  return {
    metadata: {
      labels: { ...nodeLabels(req), [Labels.component]: 'capture' },
      annotations: {
        [Annotations.jobName]: req.sj.name,
        [Annotations.node]: req.node,
        'container.apparmor.security.beta.kubernetes.io/podtracer': 'unconfined',
      },
    },
    spec: capturePodSpec(req.node, podtracerNodeArgs(req, settings.graceSeconds), nodeEnv(req, settings), resources, settings, req.assignmentSecret),
  };
}

function nodeJobSpec(req: NodeCaptureRequest, settings: CaptureSettings): V1JobSpec {
  return {
    // podtracer node exits non-zero only when it could not run at all; a retry would capture every
    // target of the node again under the same keys, so it is not retried
    backoffLimit: 0,
    activeDeadlineSeconds: req.timerSeconds + settings.graceSeconds,
    ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
    template: nodeCapturePodTemplate(req, settings),
  };
}

export function renderNodeCaptureJob(name: string, req: NodeCaptureRequest, settings: CaptureSettings): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: settings.namespace, labels: nodeLabels(req), annotations: { [Annotations.jobName]: req.sj.name, [Annotations.node]: req.node } },
    spec: nodeJobSpec(req, settings),
  };
}

export function renderNodeCaptureCronJob(name: string, req: NodeCaptureRequest & { schedule: string; suspend: boolean }, settings: CaptureSettings): V1CronJob {
  const labels = nodeLabels(req);
  const annotations = { [Annotations.jobName]: req.sj.name, [Annotations.node]: req.node };
  const spec = {
    schedule: req.schedule,
    suspend: req.suspend,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 300,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    jobTemplate: { metadata: { labels, annotations }, spec: nodeJobSpec(req, settings) },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: settings.namespace, labels, annotations: { ...annotations, [Annotations.templateHash]: templateHash(spec) } },
    spec,
  };
}
