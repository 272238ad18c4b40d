// Two file formats no schema package covers: kind's cluster configuration and the Knative
// Functions func.yaml. These schemas are written here from the formats' documented fields
// (kind v1alpha4 Cluster) or, for func.yaml, after the schema Knative Functions publishes, and
// close every object, so a misspelled key fails.

const str = { type: 'string' };
const strMap = { type: 'object', additionalProperties: { type: 'string' } };

export const kindClusterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'apiVersion'],
  properties: {
    kind: { const: 'Cluster' },
    apiVersion: { const: 'kind.x-k8s.io/v1alpha4' },
    name: str,
    featureGates: { type: 'object', additionalProperties: { type: 'boolean' } },
    runtimeConfig: strMap,
    containerdConfigPatches: { type: 'array', items: str },
    kubeadmConfigPatches: { type: 'array', items: str },
    networking: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ipFamily: { enum: ['ipv4', 'ipv6', 'dual'] },
        apiServerAddress: str,
        apiServerPort: { type: 'integer' },
        podSubnet: str,
        serviceSubnet: str,
        disableDefaultCNI: { type: 'boolean' },
        kubeProxyMode: { enum: ['iptables', 'ipvs', 'nftables', 'none'] },
        dnsSearch: { type: 'array', items: str },
      },
    },
    nodes: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['role'],
        properties: {
          role: { enum: ['control-plane', 'worker'] },
          image: str,
          labels: strMap,
          kubeadmConfigPatches: { type: 'array', items: str },
          extraMounts: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['hostPath', 'containerPath'],
              properties: {
                hostPath: str,
                containerPath: str,
                readOnly: { type: 'boolean' },
                selinuxRelabel: { type: 'boolean' },
                propagation: { enum: ['None', 'HostToContainer', 'Bidirectional'] },
              },
            },
          },
          extraPortMappings: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['containerPort'],
              properties: {
                containerPort: { type: 'integer' },
                hostPort: { type: 'integer' },
                listenAddress: str,
                protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
              },
            },
          },
        },
      },
    },
  },
};

// func.yaml as Knative Functions' own schema (schema/func_yaml-schema.json of knative/func) defines
// it: every object closed, `specVersion` and `created` required, fields it does not know (such as
// imageDigest, deploy.remote, build.baseImage, builder "host") refused.
const quantity = { type: 'string', pattern: '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' };
const funcEnvList = {
  type: 'array',
  items: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$' }, value: str } },
};
const closed = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', additionalProperties: false, properties, ...extra });

export const funcYamlSchema = closed(
  {
    specVersion: str,
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    domain: str,
    runtime: str,
    registry: str,
    registryInsecure: { type: 'boolean' },
    image: str,
    namespace: str,
    // RFC 3339 date-time, as func writes it
    created: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' },
    invoke: { enum: ['http', 'cloudevent'] },
    build: closed({
      git: closed({ url: str, revision: str, contextDir: str }),
      builderImages: strMap,
      buildpacks: { type: 'array', items: str },
      builder: { enum: ['pack', 's2i'] },
      buildEnvs: funcEnvList,
      pvcSize: str,
      remoteStorageClass: str,
    }),
    run: closed({
      volumes: {
        type: 'array',
        items: closed(
          {
            secret: str,
            configMap: str,
            persistentVolumeClaim: closed({ claimName: str, readOnly: { type: 'boolean' } }),
            emptyDir: closed({ medium: str, sizeLimit: str }),
            path: str,
          },
          { oneOf: ['secret', 'configMap', 'persistentVolumeClaim', 'emptyDir'].map((k) => ({ required: [k], properties: { [k]: true } })) },
        ),
      },
      envs: funcEnvList,
      podSecurityContext: closed({ RunAsUser: { type: 'integer' }, RunAsGroup: { type: 'integer' }, RunAsNonRoot: { type: 'boolean' }, FSGroup: { type: 'integer' } }),
      startTimeout: { type: 'integer' },
    }),
    deploy: closed({
      namespace: str,
      image: str,
      annotations: strMap,
      options: closed({
        scale: closed({
          min: { type: 'integer', minimum: 0 },
          max: { type: 'integer', minimum: 0 },
          metric: { enum: ['concurrency', 'rps'] },
          target: { type: 'number', minimum: 0 },
          utilization: { type: 'number', minimum: 1, maximum: 100 },
        }),
        resources: closed({
          requests: closed({ cpu: quantity, memory: quantity }),
          limits: closed({ cpu: quantity, memory: quantity, concurrency: { type: 'integer', minimum: 0 } }),
        }),
      }),
      labels: {
        type: 'array',
        items: closed(
          {
            key: { type: 'string', pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$' },
            value: { type: 'string', pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
          },
          { required: ['key'] },
        ),
      },
      healthEndpoints: closed({ liveness: str, readiness: str }),
      serviceAccountName: str,
      subscriptions: { type: 'array', items: closed({ source: str, filters: strMap }, { required: ['source'] }) },
    }),
  },
  { required: ['specVersion', 'created'] },
);
