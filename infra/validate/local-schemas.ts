// Two file formats no schema package covers: kind's cluster configuration and the Knative
// Functions func.yaml. These schemas are written here from the formats' documented fields
// (kind v1alpha4 Cluster; func.yaml spec 0.3x) and close every object, so a misspelled key fails.
// They cover the fields those formats define as far as this project can use them.

const str = { type: 'string' };
const strMap = { type: 'object', additionalProperties: { type: 'string' } };
const envList = {
  type: 'array',
  items: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: str, value: str } },
};
const quantityLimits = {
  type: 'object',
  additionalProperties: false,
  properties: { cpu: str, memory: str, concurrency: { type: 'integer', minimum: 0 } },
};

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

export const funcYamlSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['specVersion', 'name', 'runtime'],
  properties: {
    specVersion: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
    name: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
    runtime: { enum: ['go', 'node', 'typescript', 'python', 'quarkus', 'rust', 'springboot'] },
    registry: str,
    image: str,
    imageDigest: str,
    namespace: str,
    created: str,
    invoke: { enum: ['http', 'cloudevent'] },
    build: {
      type: 'object',
      additionalProperties: false,
      properties: {
        builder: { enum: ['pack', 's2i', 'host'] },
        buildEnvs: envList,
        buildpacks: { type: 'array', items: str },
        pvcSize: str,
        baseImage: str,
        git: {
          type: 'object',
          additionalProperties: false,
          properties: { url: str, revision: str, contextDir: str },
        },
      },
    },
    run: {
      type: 'object',
      additionalProperties: false,
      properties: {
        envs: envList,
        volumes: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: { secret: str, configMap: str, path: str },
          },
        },
      },
    },
    deploy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespace: str,
        remote: { type: 'boolean' },
        image: str,
        serviceAccountName: str,
        annotations: strMap,
        labels: {
          type: 'array',
          items: { type: 'object', additionalProperties: false, required: ['key'], properties: { key: str, value: str } },
        },
        healthEndpoints: { type: 'object', additionalProperties: false, properties: { liveness: str, readiness: str } },
        options: {
          type: 'object',
          additionalProperties: false,
          properties: {
            scale: {
              type: 'object',
              additionalProperties: false,
              properties: {
                min: { type: 'integer', minimum: 0 },
                max: { type: 'integer', minimum: 0 },
                metric: { enum: ['concurrency', 'rps'] },
                target: { type: 'number', minimum: 0.01 },
                utilization: { type: 'number', minimum: 1, maximum: 100 },
              },
            },
            resources: {
              type: 'object',
              additionalProperties: false,
              properties: { requests: quantityLimits, limits: quantityLimits },
            },
          },
        },
      },
    },
  },
};
