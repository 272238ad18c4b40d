// Pure rendering of a SnoopyDataEndpoint's collector workload: a Knative Service (gRPC over h2c,
// timeouts sized for segment uploads, autoscaling bounds) or a Deployment + Service.
import type { V1Deployment, V1EnvVar, V1OwnerReference, V1Service } from '@kubernetes/client-node';
import type { SnoopyDataEndpoint } from '../../lib/api/schema.js';
import { COLLECTOR_TIMEOUTS, KNATIVE_SERVICE_PORT } from '../../lib/knative-serving.js';
import { LABEL_PREFIX, shortHash } from '../../lib/api/names.js';
import { templateHash } from './capture.js';

export interface CollectorSettings {
  image: string;
  sink?: string;
  /** Secret (in the endpoint's namespace) holding the token key under `key`. */
  tokenKeySecret: string;
  tokenKeyField: string;
}

/** The collector listens on this port inside its container (Knative's default). */
export const COLLECTOR_CONTAINER_PORT = 8080;
export const CONTAINER_CONCURRENCY = 50;
const MAX_NAME = 63;

/**
 * The collector's Service (or Knative Service) name: spec.serviceName, else "<endpoint>-collector"
 * (cut to a DNS label with a hash), so that two endpoints, or an endpoint and the kubectl-managed
 * knative/collector Service ("snoopy-collector"), do not share a default.
 */
export function collectorServiceName(de: SnoopyDataEndpoint): string {
  if (de.spec.serviceName) return de.spec.serviceName;
  const base = de.metadata.name.replace(/\./g, '-'); // a Service name is a DNS label: no dots
  const name = `${base}-collector`;
  if (name.length <= MAX_NAME) return name;
  const hash = shortHash(de.metadata.namespace, de.metadata.name);
  return `${base.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

export interface KnativeService {
  apiVersion: 'serving.knative.dev/v1';
  kind: 'Service';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: V1OwnerReference[] };
  spec: Record<string, unknown>;
  status?: { url?: string; conditions?: { type: string; status: string; message?: string }[] };
}

export function ownerReference(de: SnoopyDataEndpoint): V1OwnerReference {
  return { apiVersion: de.apiVersion, kind: de.kind, name: de.metadata.name, uid: de.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export function collectorLabels(de: SnoopyDataEndpoint): Record<string, string> {
  return { 'app.kubernetes.io/name': 'snoopy-collector', 'app.kubernetes.io/part-of': 'snoopy', [`${LABEL_PREFIX}/endpoint`]: de.metadata.name };
}

export function collectorEnv(de: SnoopyDataEndpoint, settings: CollectorSettings, port: number): V1EnvVar[] {
  const s = de.spec.storage;
  const env: V1EnvVar[] = [{ name: 'PORT', value: String(port) }];
  if (s) {
    env.push({ name: 'STORAGE', value: 's3' }, { name: 'S3_BUCKET', value: s.bucket ?? 'snoopy' }, { name: 'S3_REGION', value: s.region ?? 'us-east-1' }, { name: 'S3_FORCE_PATH_STYLE', value: String(s.forcePathStyle ?? true) });
    if (s.prefix) env.push({ name: 'S3_PREFIX', value: s.prefix });
    if (s.endpoint) env.push({ name: 'S3_ENDPOINT', value: s.endpoint });
    if (s.credentialsSecret) {
      const name = s.credentialsSecret.name;
      env.push(
        { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name, key: s.credentialsSecret.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID' } } },
        { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name, key: s.credentialsSecret.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY' } } },
      );
    }
  } else {
    // no storage configured: keep segments on the collector's own volume
    env.push({ name: 'STORAGE', value: 'fs' }, { name: 'STORAGE_DIR', value: '/data' });
  }
  env.push({ name: 'SNOOPY_TOKEN_KEY', valueFrom: { secretKeyRef: { name: settings.tokenKeySecret, key: settings.tokenKeyField } } });
  if (settings.sink) env.push({ name: 'K_SINK', value: settings.sink });
  return env;
}

export function renderKnativeService(de: SnoopyDataEndpoint, settings: CollectorSettings): KnativeService {
  const name = collectorServiceName(de);
  const min = de.spec.scale?.min ?? 1;
  const max = de.spec.scale?.max ?? 10;
  const spec = {
    template: {
      metadata: {
        labels: collectorLabels(de),
        annotations: { 'autoscaling.knative.dev/min-scale': String(min), 'autoscaling.knative.dev/max-scale': String(max) },
      },
      spec: {
        containerConcurrency: CONTAINER_CONCURRENCY,
        // the upload timeout chain (lib/knative-serving): early response headers, no idle cut
        // before the request timeout, podtracer's deadline below it
        ...COLLECTOR_TIMEOUTS,
        containers: [
          {
            image: settings.image,
            ports: [{ name: 'h2c', containerPort: COLLECTOR_CONTAINER_PORT }],
            env: collectorEnv(de, settings, COLLECTOR_CONTAINER_PORT).filter((e) => e.name !== 'PORT'),
            ...(de.spec.storage ? {} : { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
          },
        ],
        ...(de.spec.storage ? {} : { volumes: [{ name: 'data', emptyDir: {} }] }),
      },
    },
  };
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: de.metadata.namespace, labels: collectorLabels(de), annotations: { [`${LABEL_PREFIX}/template-hash`]: templateHash(spec) }, ownerReferences: [ownerReference(de)] },
    spec,
  };
}

export function renderCollectorDeployment(de: SnoopyDataEndpoint, settings: CollectorSettings): { deployment: V1Deployment; service: V1Service } {
  const name = collectorServiceName(de);
  const port = de.spec.servicePort ?? 8080;
  const labels = collectorLabels(de);
  const spec = {
    replicas: Math.max(1, de.spec.scale?.min ?? 1),
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        containers: [
          {
            name: 'collector',
            image: settings.image,
            ports: [{ name: 'h2c', containerPort: port }],
            env: collectorEnv(de, settings, port),
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } },
            ...(de.spec.storage ? {} : { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
          },
        ],
        ...(de.spec.storage ? {} : { volumes: [{ name: 'data', emptyDir: {} }] }),
      },
    },
  };
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: de.metadata.namespace, labels, annotations: { [`${LABEL_PREFIX}/template-hash`]: templateHash(spec) }, ownerReferences: [ownerReference(de)] },
    spec,
  };
  const svcSpec = { selector: labels, ports: [{ name: 'h2c', port, targetPort: port, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }] };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: de.metadata.namespace, labels, annotations: { [`${LABEL_PREFIX}/template-hash`]: templateHash(svcSpec) }, ownerReferences: [ownerReference(de)] },
    spec: svcSpec,
  };
  return { deployment, service };
}

/** host:port podtracers send to. Knative serves every Service on port 80 of its cluster-local name. */
export function collectorAddress(de: SnoopyDataEndpoint, mode: 'knative' | 'deployment'): string {
  const name = collectorServiceName(de);
  const host = `${name}.${de.metadata.namespace}.svc.cluster.local`;
  return mode === 'knative' ? `${host}:${KNATIVE_SERVICE_PORT}` : `${host}:${de.spec.servicePort ?? 8080}`;
}
