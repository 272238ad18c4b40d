// CloudEvents contract (docs/design.md "Events"): event types, the extension attributes Triggers filter on,
// and the `source` paths of the emitting objects.

export const EVENT_PREFIX = 'io.fennecproject.snoopy';

export const EventType = {
  JobStarted: `${EVENT_PREFIX}.job.started`,
  JobCompleted: `${EVENT_PREFIX}.job.completed`,
  JobFailed: `${EVENT_PREFIX}.job.failed`,
  SegmentStored: `${EVENT_PREFIX}.segment.stored`,
  CaptureCompleted: `${EVENT_PREFIX}.capture.completed`,
  CaptureAnalyzed: `${EVENT_PREFIX}.capture.analyzed`,
  EvidenceStored: `${EVENT_PREFIX}.evidence.stored`,
} as const;
export type EventTypeName = (typeof EventType)[keyof typeof EventType];

/** Extension attributes (lower-case alphanumerics, as CloudEvents requires). */
export interface SnoopyEventExtensions {
  snoopyjob?: string;
  snoopyns?: string;
  targetpod?: string;
  targetns?: string;
  node?: string;
}

export function snoopyJobSource(namespace: string, name: string): string {
  return `/apis/job.fennecproject.io/v1alpha1/namespaces/${namespace}/snoopyjobs/${name}`;
}

export function dataEndpointSource(namespace: string, name: string): string {
  return `/apis/data.fennecproject.io/v1alpha1/namespaces/${namespace}/snoopydataendpoints/${name}`;
}

/** The collector is not a CR: its source names the service and, when known, its namespace. */
export function collectorSource(namespace: string | undefined, service = 'snoopy-collector'): string {
  return namespace ? `/apis/serving.knative.dev/v1/namespaces/${namespace}/services/${service}` : `/snoopy/collector/${service}`;
}

export function targetSubject(podNamespace: string, pod: string): string {
  return `${podNamespace}/${pod}`;
}
