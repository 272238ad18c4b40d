// Operator configuration: environment variables (operator/README.md), optionally overlaid by a ConfigMap's
// data with the same keys (read once at start). Pure: the caller passes the env / data map.
import { parseQuantity } from './render/resources.js';
import { ToolPolicyConfigError, toolPolicyFromEnv, type ToolPolicy } from '../lib/tool-policy.js';

export interface OperatorConfig {
  /** Where capture Jobs, token Secrets, the Lease and (by default) the collector live. */
  namespace: string;
  podtracerImage: string;
  collectorImage: string;
  /** SNOOPY_ALLOWED_TOOLS / SNOOPY_ALLOW_MUTATING_TOOLS, read by the shared policy module. */
  toolPolicy: ToolPolicy;
  allowCrossNamespace: boolean;
  privileged: boolean;
  sink?: string;
  ceOverrides?: string;
  /** Extra seconds a capture may run past its timer (tool shutdown, final upload). */
  graceSeconds: number;
  ttlSecondsAfterFinished: number;
  backoffLimit: number;
  /** Lifetime of scheduled jobs' prefix tokens; rotated when a third of it is left. */
  cronTokenLifetimeSeconds: number;
  captureServiceAccount: string;
  workers: number;
  /** Concurrent API writes within one reconcile (creating many Jobs). */
  writeConcurrency: number;
  resyncSeconds: number;
  leaderElection: boolean;
  leaseName: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  /**
   * On stop, how long reconciles in flight may run on (their writes still land) before the
   * remaining writes are refused and the lease is released; below a pod's termination grace.
   */
  drainSeconds: number;
  identity: string;
  metricsPort: number;
  captureResources: { requests: Record<string, string>; limits: Record<string, string> };
  /**
   * `per-node` (default): one capture Job (or CronJob) per (SnoopyJob, node with targets) running
   * `podtracer node` over an assignment Secret; `per-target`: one per target pod, as before.
   */
  capturePods: CapturePods;
  /** Per-node capture pods: added to captureResources once per target the pod has at creation. */
  captureResourcesPerTarget: { requests: Record<string, string>; limits: Record<string, string> };
  /** Targets listed in a SnoopyJob's status (the rollups count them all). */
  statusTargets: number;
}

export const CAPTURE_PODS = ['per-node', 'per-target'] as const;
export type CapturePods = (typeof CAPTURE_PODS)[number];
/** Most targets the status may list: with the node rollups the status stays under 256 KiB. */
export const MAX_STATUS_TARGETS = 300;

function statusTargets(value: string | undefined): number {
  const n = int(value, 'SNOOPY_STATUS_TARGETS', 100);
  if (n > MAX_STATUS_TARGETS) throw new ConfigError(`SNOOPY_STATUS_TARGETS="${value}" is above ${MAX_STATUS_TARGETS} (the status must stay small)`);
  return n;
}

function capturePods(value: string | undefined): CapturePods {
  if (value === undefined || value === '') return 'per-node';
  if ((CAPTURE_PODS as readonly string[]).includes(value)) return value as CapturePods;
  throw new ConfigError(`SNOOPY_CAPTURE_PODS="${value}" is not one of ${CAPTURE_PODS.join(', ')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function bool(value: string | undefined, name: string, dflt: boolean): boolean {
  if (value === undefined || value === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name}="${value}" is not a boolean (true/false)`);
}

function int(value: string | undefined, name: string, dflt: number, min = 0): number {
  if (value === undefined || value === '') return dflt;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw new ConfigError(`${name}="${value}" is not an integer ≥ ${min}`);
  return Number(value);
}

/** The shared tool policy; a malformed setting is a configuration error like any other. */
function toolPolicy(env: Record<string, string | undefined>): ToolPolicy {
  try {
    return toolPolicyFromEnv(env);
  } catch (err) {
    if (err instanceof ToolPolicyConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

export function loadConfig(env: Record<string, string | undefined>, hostname = 'snoopy-operator'): OperatorConfig {
  const leaseDurationSeconds = int(env.SNOOPY_LEASE_DURATION_SECONDS, 'SNOOPY_LEASE_DURATION_SECONDS', 15, 2);
  const renewDeadlineSeconds = int(env.SNOOPY_RENEW_DEADLINE_SECONDS, 'SNOOPY_RENEW_DEADLINE_SECONDS', Math.max(1, Math.floor((leaseDurationSeconds * 2) / 3)), 1);
  const retryPeriodSeconds = int(env.SNOOPY_RETRY_PERIOD_SECONDS, 'SNOOPY_RETRY_PERIOD_SECONDS', Math.max(1, Math.floor(leaseDurationSeconds / 7)), 1);
  if (renewDeadlineSeconds >= leaseDurationSeconds) throw new ConfigError('SNOOPY_RENEW_DEADLINE_SECONDS must be shorter than SNOOPY_LEASE_DURATION_SECONDS');
  const config: OperatorConfig = {
    namespace: env.SNOOPY_NAMESPACE || 'snoopy-operator',
    podtracerImage: env.SNOOPY_PODTRACER_IMAGE || 'snoopy/podtracer:latest',
    collectorImage: env.SNOOPY_COLLECTOR_IMAGE || 'snoopy/collector:latest',
    toolPolicy: toolPolicy(env),
    allowCrossNamespace: bool(env.SNOOPY_ALLOW_CROSS_NAMESPACE, 'SNOOPY_ALLOW_CROSS_NAMESPACE', false),
    privileged: bool(env.SNOOPY_PRIVILEGED, 'SNOOPY_PRIVILEGED', false),
    ...(env.K_SINK ? { sink: env.K_SINK } : {}),
    ...(env.K_CE_OVERRIDES ? { ceOverrides: env.K_CE_OVERRIDES } : {}),
    graceSeconds: int(env.SNOOPY_GRACE_SECONDS, 'SNOOPY_GRACE_SECONDS', 60),
    ttlSecondsAfterFinished: int(env.SNOOPY_JOB_TTL_SECONDS, 'SNOOPY_JOB_TTL_SECONDS', 3600),
    backoffLimit: int(env.SNOOPY_BACKOFF_LIMIT, 'SNOOPY_BACKOFF_LIMIT', 1),
    cronTokenLifetimeSeconds: int(env.SNOOPY_CRON_TOKEN_LIFETIME_SECONDS, 'SNOOPY_CRON_TOKEN_LIFETIME_SECONDS', 7 * 86_400, 60),
    captureServiceAccount: env.SNOOPY_CAPTURE_SERVICE_ACCOUNT || 'snoopy-capture',
    workers: int(env.SNOOPY_WORKERS, 'SNOOPY_WORKERS', 4, 1),
    writeConcurrency: int(env.SNOOPY_WRITE_CONCURRENCY, 'SNOOPY_WRITE_CONCURRENCY', 16, 1),
    resyncSeconds: int(env.SNOOPY_RESYNC_SECONDS, 'SNOOPY_RESYNC_SECONDS', 300, 1),
    leaderElection: bool(env.SNOOPY_LEADER_ELECTION, 'SNOOPY_LEADER_ELECTION', true),
    leaseName: env.SNOOPY_LEASE_NAME || 'snoopy-operator-leader',
    leaseDurationSeconds,
    renewDeadlineSeconds,
    retryPeriodSeconds,
    drainSeconds: int(env.SNOOPY_DRAIN_SECONDS, 'SNOOPY_DRAIN_SECONDS', 10),
    identity: env.POD_NAME || `${hostname}-${process.pid}`,
    metricsPort: int(env.METRICS_PORT, 'METRICS_PORT', 8081),
    captureResources: {
      requests: { cpu: env.SNOOPY_CAPTURE_CPU_REQUEST || '50m', memory: env.SNOOPY_CAPTURE_MEMORY_REQUEST || '64Mi' },
      limits: { cpu: env.SNOOPY_CAPTURE_CPU_LIMIT || '1', memory: env.SNOOPY_CAPTURE_MEMORY_LIMIT || '512Mi' },
    },
    capturePods: capturePods(env.SNOOPY_CAPTURE_PODS),
    captureResourcesPerTarget: {
      requests: { cpu: env.SNOOPY_CAPTURE_CPU_REQUEST_PER_TARGET || '10m', memory: env.SNOOPY_CAPTURE_MEMORY_REQUEST_PER_TARGET || '48Mi' },
      limits: { cpu: env.SNOOPY_CAPTURE_CPU_LIMIT_PER_TARGET || '100m', memory: env.SNOOPY_CAPTURE_MEMORY_LIMIT_PER_TARGET || '128Mi' },
    },
    statusTargets: statusTargets(env.SNOOPY_STATUS_TARGETS),
  };
  // the per-node rule adds quantities: one it cannot read is refused at start, not at the first Job
  const { captureResources: base, captureResourcesPerTarget: per } = config;
  for (const [what, map] of [['request', base.requests], ['limit', base.limits], ['request per target', per.requests], ['limit per target', per.limits]] as const) {
    for (const [name, q] of Object.entries(map)) {
      try {
        parseQuantity(q);
      } catch (err) {
        throw new ConfigError(`capture ${name} ${what}: ${(err as Error).message}`);
      }
    }
  }
  return config;
}

/** Keys a ConfigMap may set; same names as the environment variables, env wins. */
export function mergeConfigMap(env: Record<string, string | undefined>, data: Record<string, string> | undefined): Record<string, string | undefined> {
  return { ...(data ?? {}), ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
}
