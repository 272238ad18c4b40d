// What Snoopy's code depends on in Knative Serving, in one place: the ports queue-proxy holds in
// every Knative pod, the timeouts of a long client-streaming upload and how they chain with
// podtracer's deadline, and which image references Knative does not resolve to digests. The
// operator's rendered Knative Service, the shipped manifests, the collector's defaults, podtracer's
// defaults and the dev cluster's Knative stand-in all read these, so they cannot drift apart.

/**
 * Ports queue-proxy listens on inside every Knative Service pod (same network namespace as the
 * user container): 8012 HTTP (the port the pod is served on), 8013 HTTP/2, 8022 admin, 9090 and
 * 9091 metrics. A user container binding one of them makes the revision fail.
 */
export const QUEUE_PROXY_PORTS = { http: 8012, h2c: 8013, admin: 8022, metrics: 9090, userMetrics: 9091 } as const;
export const RESERVED_PORTS: readonly number[] = Object.values(QUEUE_PROXY_PORTS);

export function isReservedPort(port: number): boolean {
  return RESERVED_PORTS.includes(port);
}

/** Knative serves every Service on port 80 of its cluster-local name, whatever the container port. */
export const KNATIVE_SERVICE_PORT = 80;

/** Knative's default max-revision-timeout-seconds: no revision timeout may exceed it unless raised. */
export const KNATIVE_MAX_REVISION_TIMEOUT_SECONDS = 600;

/**
 * The upload timeouts, as a chain (each link shorter than the next, so the nearest party fails
 * first and says why):
 *
 * - the collector sends response headers as soon as an UploadSegment call arrives, so queue-proxy
 *   sees a response start at once: responseStartTimeoutSeconds can be short and still catch a
 *   collector that hangs before it reads anything;
 * - after the headers the collector writes nothing until the reply (one reply per segment), so
 *   queue-proxy's idle timer (reset only by bytes from the app) runs for the whole upload:
 *   idleTimeoutSeconds must be as long as the request timeout;
 * - podtracer's per-call deadline is shorter than the request timeout, so an upload too slow to
 *   finish ends with DEADLINE_EXCEEDED at podtracer (its segment stays spooled and is retried),
 *   not with a proxy reset.
 */
export const COLLECTOR_TIMEOUTS = {
  timeoutSeconds: KNATIVE_MAX_REVISION_TIMEOUT_SECONDS,
  responseStartTimeoutSeconds: 30,
  idleTimeoutSeconds: KNATIVE_MAX_REVISION_TIMEOUT_SECONDS,
} as const;

/** podtracer's default --upload-deadline: below the collector's request timeout (see above). */
export const UPLOAD_DEADLINE_MS = 540_000;

/** The collector's metrics port: clear of every port queue-proxy holds in the pod. */
export const COLLECTOR_METRICS_PORT = 9095;

export interface RevisionTimeouts {
  timeoutSeconds?: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
}

/** Knative's defaults for a revision that sets none (config-defaults): 300 s, 300 s, 0 = none. */
export const KNATIVE_DEFAULT_TIMEOUTS = { timeoutSeconds: 300, responseStartTimeoutSeconds: 300, idleTimeoutSeconds: 0 } as const;

/**
 * Problems with a collector revision's timeouts for uploads that may last `uploadDeadlineMs`
 * (podtracer's per-call deadline); empty when the chain holds. Pure.
 */
export function uploadTimeoutProblems(t: RevisionTimeouts, uploadDeadlineMs = UPLOAD_DEADLINE_MS, maxRevisionTimeoutSeconds = KNATIVE_MAX_REVISION_TIMEOUT_SECONDS): string[] {
  const out: string[] = [];
  const timeout = t.timeoutSeconds ?? KNATIVE_DEFAULT_TIMEOUTS.timeoutSeconds;
  const start = t.responseStartTimeoutSeconds ?? KNATIVE_DEFAULT_TIMEOUTS.responseStartTimeoutSeconds;
  const idle = t.idleTimeoutSeconds ?? KNATIVE_DEFAULT_TIMEOUTS.idleTimeoutSeconds;
  const deadline = uploadDeadlineMs / 1000;
  for (const [name, v] of [['timeoutSeconds', timeout], ['responseStartTimeoutSeconds', start], ['idleTimeoutSeconds', idle]] as const) {
    if (v > maxRevisionTimeoutSeconds) out.push(`${name} ${v} exceeds Knative's max-revision-timeout-seconds (${maxRevisionTimeoutSeconds})`);
  }
  if (timeout <= deadline) out.push(`timeoutSeconds ${timeout} must exceed podtracer's upload deadline (${deadline} s), so podtracer gives up first`);
  // 0 means no idle limit
  if (idle !== 0 && idle < timeout) {
    out.push(`idleTimeoutSeconds ${idle} is below timeoutSeconds ${timeout}: the collector writes nothing between its early response headers and its reply, so the idle timer cuts every upload longer than ${idle} s`);
  }
  if (start > timeout) out.push(`responseStartTimeoutSeconds ${start} exceeds timeoutSeconds ${timeout}`);
  return out;
}

/** Knative's default registries-skipping-tag-resolving (config-deployment). */
export const DEFAULT_SKIP_TAG_RESOLVING = ['kind.local', 'ko.local', 'dev.local'] as const;

/** The registry host of an image reference ("docker.io" when it names none), lower-case. */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (/[.:]/.test(first) || first === 'localhost') ? first.toLowerCase() : 'docker.io';
}

/**
 * Whether Knative would resolve this image's tag to a digest (and so need to reach its registry):
 * not for references by digest, nor for registries on the skip list.
 */
export function needsTagResolution(image: string, skip: readonly string[] = DEFAULT_SKIP_TAG_RESOLVING): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return false;
  return !skip.map((s) => s.toLowerCase()).includes(imageRegistry(image));
}
