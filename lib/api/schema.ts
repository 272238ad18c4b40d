// The one source of truth for Snoopy's custom resources: these TypeBox schemas give the CRDs'
// structural openAPIV3Schema (lib/api/crd-definitions.ts), the TypeScript types (Static<>) and
// the ajv validation the operator runs before it trusts a spec. Only keywords a Kubernetes
// structural schema accepts are used (no patternProperties, no $ref, no anyOf at the top).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { STOP_REASONS } from '../contracts/podtracer-summary.js';

/** A map of string to string, written the way structural schemas require (additionalProperties). */
function StringMap(options: { minProperties?: number; description?: string } = {}) {
  return Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' }, ...options });
}

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A string enum as structural schemas want it (type + enum, not anyOf of consts). */
function StringEnum<T extends string>(values: readonly T[], options: { default?: T; description?: string } = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** Go duration syntax plus days; lib/duration.ts does the exact parse. */
export const DURATION_PATTERN = '^\\+?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h|d))+)$';

export const Condition = Type.Object({
  type: Type.String({ minLength: 1 }),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String(),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Condition = Static<typeof Condition>;

export const ObjectRef = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN }),
  namespace: Type.Optional(Type.String({ maxLength: 63, pattern: DNS_LABEL })),
});

// ---------------------------------------------------------------- SnoopyJob
export const SnoopyJobSpec = Type.Object({
  command: Type.String({ minLength: 1, description: 'Tool to run in the target pods\' network namespace; must be on the allowlist.' }),
  args: Type.Optional(Type.String({ description: 'Arguments, tokenised like a POSIX shell without evaluation.' })),
  labelSelector: StringMap({ minProperties: 1, description: 'Pods whose labels contain all these pairs are targets.' }),
  targetNamespace: Type.Optional(Type.String({ maxLength: 63, pattern: DNS_LABEL, description: 'Namespace of the target pods; default: the SnoopyJob\'s namespace.' })),
  schedule: Type.Optional(Type.String({ minLength: 1, description: '5-field cron; set: one CronJob per node with targets, unset: one Job per node with targets (operator setting SNOOPY_CAPTURE_PODS=per-target: per target pod).' })),
  timer: Type.Optional(Type.String({ default: '1m', pattern: DURATION_PATTERN, description: 'How long each run captures (Go duration plus "d").' })),
  dataServiceIP: Type.Optional(Type.String({ description: 'Collector host (DNS name or IP).' })),
  dataServicePort: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: 'Collector port.' })),
  dataEndpointRef: Type.Optional(ObjectRef),
  container: Type.Optional(Type.String({ maxLength: 63, pattern: DNS_LABEL, description: 'Target container; default: the pod\'s first container.' })),
  maxBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'Per target and run, the tool is stopped once this much output was produced.' })),
  suspend: Type.Optional(Type.Boolean({ default: false, description: 'While true, a one-shot run does not start and CronJobs make no new runs.' })),
  evidence: Type.Optional(
    Type.Boolean({
      description:
        'Snapshot each target\'s network state (interfaces, routes, sockets, rules, conntrack, kernel counters) in its network namespace just before and just after the tool, stored as evidence.json beside the segments with the counter deltas. Default: true for tcpdump, false otherwise.',
    }),
  ),
});
export type SnoopyJobSpec = Static<typeof SnoopyJobSpec>;

/** Whether a SnoopyJob's captures take the evidence snapshots: spec.evidence, else on for tcpdump. */
export function evidenceEnabled(spec: Pick<SnoopyJobSpec, 'evidence' | 'command'>): boolean {
  return spec.evidence ?? spec.command === 'tcpdump';
}

export const TARGET_STATES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Scheduled', 'Lost'] as const;
export type TargetStateName = (typeof TARGET_STATES)[number];
export const TargetStatus = Type.Object({
  pod: Type.String(),
  namespace: Type.String(),
  podUID: Type.Optional(Type.String()),
  node: Type.Optional(Type.String()),
  job: Type.String({ description: 'Job (one-shot) or CronJob (scheduled) capturing this pod.' }),
  state: StringEnum(TARGET_STATES),
  captureId: Type.Optional(Type.String()),
  startTime: Type.Optional(Type.String()),
  completionTime: Type.Optional(Type.String()),
  bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  segments: Type.Optional(Type.Integer({ minimum: 0 })),
  objects: Type.Optional(Type.Array(Type.String())),
  packetsDroppedByKernel: Type.Optional(Type.Integer({ minimum: 0 })),
  toolExitCode: Type.Optional(Type.Integer()),
  stopReason: Type.Optional(StringEnum(STOP_REASONS, { description: 'Why the capture ended, as podtracer reported it; target-gone: the target pod went away during the capture, what was captured is stored.' })),
  message: Type.Optional(Type.String()),
});
export type TargetStatus = Static<typeof TargetStatus>;

/** Targets by state, over every target of the run (the status lists only the first few). */
const count = () => Type.Optional(Type.Integer({ minimum: 0 }));
export const TargetStateCounts = Type.Object({
  Pending: count(),
  Running: count(),
  Succeeded: count(),
  Failed: count(),
  Scheduled: count(),
  Lost: count(),
});
export type TargetStateCounts = Static<typeof TargetStateCounts>;

/** Per-node capture: one node's capture pod and its targets' rollup. */
export const NodeStatus = Type.Object({
  node: Type.String(),
  job: Type.String({ description: 'The node\'s capture Job (one-shot) or CronJob (scheduled).' }),
  state: StringEnum(TARGET_STATES, { description: 'State of the node\'s capture pod (its latest run for a CronJob).' }),
  targets: Type.Integer({ minimum: 0, description: 'Targets assigned to the node\'s capture pod.' }),
  counts: Type.Optional(TargetStateCounts),
  bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  message: Type.Optional(Type.String()),
});
export type NodeStatus = Static<typeof NodeStatus>;

export const SNOOPYJOB_PHASES = ['Pending', 'Running', 'Scheduled', 'Completed', 'Failed', 'Invalid', 'NoTargets'] as const;
export type SnoopyJobPhase = (typeof SNOOPYJOB_PHASES)[number];

export const SnoopyJobStatus = Type.Object({
  phase: Type.Optional(StringEnum(SNOOPYJOB_PHASES)),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(Condition)),
  captureId: Type.Optional(Type.String({ description: 'Capture id of the one-shot run (storage key element).' })),
  startTime: Type.Optional(Type.String()),
  completionTime: Type.Optional(Type.String()),
  targetCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Every target of the run, listed or not.' })),
  targets: Type.Optional(Type.Array(TargetStatus, { description: 'Per-target status; per-node capture lists the first SNOOPY_STATUS_TARGETS (failed ones first), the run manifest in storage has them all.' })),
  targetsOmitted: Type.Optional(Type.Integer({ minimum: 0, description: 'Targets not listed in targets[].' })),
  targetStates: Type.Optional(TargetStateCounts),
  nodeCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Per-node capture: nodes with a capture Job or CronJob.' })),
  nodes: Type.Optional(Type.Array(NodeStatus, { description: 'Per-node capture: each node\'s capture pod and its targets\' rollup (the first 500 nodes).' })),
  nodesOmitted: Type.Optional(Type.Integer({ minimum: 0 })),
  cronJobList: Type.Optional(Type.Array(Type.String())),
  lastScheduleTime: Type.Optional(Type.String()),
  nextScheduleTime: Type.Optional(Type.String()),
  lastRun: Type.Optional(
    Type.Object({
      scheduleTime: Type.String({ description: 'Scheduled time of the latest run of the CronJobs.' }),
      state: StringEnum(['Running', 'Succeeded', 'Failed'] as const),
      jobs: Type.Integer({ minimum: 0 }),
      succeeded: Type.Integer({ minimum: 0 }),
      failed: Type.Integer({ minimum: 0 }),
    }),
  ),
});
export type SnoopyJobStatus = Static<typeof SnoopyJobStatus>;

// ---------------------------------------------------------------- SnoopyDataEndpoint
export const StorageSpec = Type.Object({
  bucket: Type.Optional(Type.String({ default: 'snoopy', minLength: 3, maxLength: 63 })),
  prefix: Type.Optional(Type.String()),
  endpoint: Type.Optional(Type.String({ description: 'S3 endpoint URL (MinIO); default: AWS.' })),
  region: Type.Optional(Type.String({ default: 'us-east-1' })),
  forcePathStyle: Type.Optional(Type.Boolean({ default: true })),
  credentialsSecret: Type.Optional(
    Type.Object({
      name: Type.String({ minLength: 1, pattern: DNS_SUBDOMAIN }),
      accessKeyIdKey: Type.Optional(Type.String({ default: 'AWS_ACCESS_KEY_ID' })),
      secretAccessKeyKey: Type.Optional(Type.String({ default: 'AWS_SECRET_ACCESS_KEY' })),
    }),
  ),
});
export type StorageSpec = Static<typeof StorageSpec>;

export const DATA_ENDPOINT_MODES = ['auto', 'knative', 'deployment'] as const;
export const SnoopyDataEndpointSpec = Type.Object({
  serviceName: Type.Optional(Type.String({ maxLength: 63, pattern: DNS_LABEL, description: 'Name of the Service fronting the collector; default "<endpoint name>-collector". The operator never takes over an object of this name that it did not create.' })),
  servicePort: Type.Optional(Type.Integer({ default: 8080, minimum: 1, maximum: 65535 })),
  storage: Type.Optional(StorageSpec),
  mode: Type.Optional(StringEnum(DATA_ENDPOINT_MODES, { default: 'auto' })),
  scale: Type.Optional(
    Type.Object({
      min: Type.Optional(Type.Integer({ default: 1, minimum: 0 })),
      max: Type.Optional(Type.Integer({ default: 10, minimum: 1 })),
    }),
  ),
});
export type SnoopyDataEndpointSpec = Static<typeof SnoopyDataEndpointSpec>;

export const SnoopyDataEndpointStatus = Type.Object({
  address: Type.Optional(Type.String({ description: 'host:port the podtracers send segments to.' })),
  url: Type.Optional(Type.String()),
  mode: Type.Optional(StringEnum(['knative', 'deployment'] as const)),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(Condition)),
});
export type SnoopyDataEndpointStatus = Static<typeof SnoopyDataEndpointStatus>;

// ---------------------------------------------------------------- objects
/** Object metadata as the API returns it, with the name and namespace a namespaced CR always has. */
export type ObjectMeta = V1ObjectMeta & { name: string; namespace: string };

export interface SnoopyJob {
  apiVersion: 'job.fennecproject.io/v1alpha1';
  kind: 'SnoopyJob';
  metadata: ObjectMeta;
  spec: SnoopyJobSpec;
  status?: SnoopyJobStatus;
}

export interface SnoopyDataEndpoint {
  apiVersion: 'data.fennecproject.io/v1alpha1';
  kind: 'SnoopyDataEndpoint';
  metadata: ObjectMeta;
  spec: SnoopyDataEndpointSpec;
  status?: SnoopyDataEndpointStatus;
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: TSchema;
  status: TSchema;
  printerColumns: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
}

export const SNOOPYJOB: ResourceDef = {
  group: 'job.fennecproject.io',
  version: 'v1alpha1',
  kind: 'SnoopyJob',
  plural: 'snoopyjobs',
  singular: 'snoopyjob',
  shortNames: ['sj'],
  spec: SnoopyJobSpec,
  status: SnoopyJobStatus,
  printerColumns: [
    { name: 'Command', type: 'string', jsonPath: '.spec.command' },
    { name: 'Target Namespace', type: 'string', jsonPath: '.spec.targetNamespace' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Targets', type: 'integer', jsonPath: '.status.targetCount' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};

export const SNOOPYDATAENDPOINT: ResourceDef = {
  group: 'data.fennecproject.io',
  version: 'v1alpha1',
  kind: 'SnoopyDataEndpoint',
  plural: 'snoopydataendpoints',
  singular: 'snoopydataendpoint',
  shortNames: ['sde'],
  spec: SnoopyDataEndpointSpec,
  status: SnoopyDataEndpointStatus,
  printerColumns: [
    { name: 'Mode', type: 'string', jsonPath: '.status.mode' },
    { name: 'Address', type: 'string', jsonPath: '.status.address' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
