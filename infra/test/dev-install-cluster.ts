// Test fixture: a full dev cluster in a fresh state directory with the dev install's manifests
// rendered (infra/dev, the images as `make deploy REGISTRY=kind.local TAG=dev` names them), for
// the tests that install the way `make demo` does. Not applied: each test applies what it needs.
import { mkdtempSync, rmSync } from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { createS3Client } from '../../lib/s3.js';
import { waitFor } from '../../lib/testing/wait-for.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/log.js';
import { startDevCluster, type DevCluster } from '../devcluster/cluster.js';
import { cleanupStateDir } from '../devcluster/kubelet/index.js';
import { KIND_LOCAL_DEV_IMAGES, renderDevInstall } from '../demo/dev-install.js';
import { Kubectl } from '../demo/kubectl.js';
import { secretStrings, type K8sObject } from '../install/bundle.js';

export interface DevInstallCluster {
  stateDir: string;
  cluster: DevCluster;
  kubectl: Kubectl;
  objects: K8sObject[];
  /** stops the cluster and removes everything it left */
  stop(): Promise<void>;
}

export async function startDevInstallCluster(name: string, nodes: string[], operatorNamespace: string): Promise<DevInstallCluster> {
  const stateDir = mkdtempSync(join(tmpdir(), `snoopy-${name}-`));
  const clusterDir = join(stateDir, 'cluster');
  let cluster: DevCluster | undefined;
  const stop = async () => {
    await cluster?.stop();
    await cleanupStateDir(clusterDir).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    cluster = await startDevCluster({ nodes, stateDir: clusterDir, logger: createLogger(name, process.env.TEST_LOG_LEVEL ?? 'silent') });
    const kubectl = new Kubectl(cluster.kubeconfigPath);
    const objects = await renderDevInstall(kubectl, stateDir, operatorNamespace, KIND_LOCAL_DEV_IMAGES);
    return { stateDir, cluster, kubectl, objects, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Obj {
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
const condTrue = (o: Obj | undefined, type: string) => o?.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/**
 * Applies the dev install as `make demo` does, but its sample SnoopyJob (a test brings its own),
 * and waits for the bucket and the sample data endpoint.
 */
export async function installDevInstall({ kubectl, objects }: DevInstallCluster, operatorNamespace: string): Promise<void> {
  const first = (o: K8sObject) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition';
  await kubectl.apply(objects.filter(first).map((o) => stringify(o)).join('---\n'));
  for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
    await waitFor(`CRD ${crd.metadata.name}`, async () => condTrue(await kubectl.getJson<Obj>(['crd', crd.metadata.name]), 'Established'), 60_000, 500);
  }
  await kubectl.apply(objects.filter((o) => !first(o) && o.kind !== 'SnoopyJob').map((o) => stringify(o)).join('---\n'));
  await waitFor('the bucket Job', async () => condTrue(await kubectl.getJson<Obj>(['job', '-n', operatorNamespace, 'minio-create-bucket']), 'Complete'), 180_000, 1000);
  await waitFor('the sample data endpoint', async () => condTrue(await kubectl.getJson<Obj>(['snoopydataendpoints', '-n', operatorNamespace, 'snoopydataendpoint-sample']), 'Ready'), 180_000, 1000);
}

/** Objects under a prefix in the embedded S3 server (MinIO's stand-in), read through its pod IP. */
export async function storedObjects({ kubectl, objects }: DevInstallCluster, operatorNamespace: string, prefix: string): Promise<Map<string, Buffer>> {
  const minio = (await kubectl.getJson<{ items: Obj[] }>(['pods', '-n', operatorNamespace, '-l', 'app.kubernetes.io/name=minio'])).items.find((p) => p.status?.phase === 'Running')!;
  const creds = secretStrings(objects, 'snoopy-s3-credentials');
  const s3 = createS3Client({ endpoint: `http://${minio.status!.podIP}:9000`, forcePathStyle: true, accessKeyId: creds.AWS_ACCESS_KEY_ID, secretAccessKey: creds.AWS_SECRET_ACCESS_KEY });
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'snoopy', Prefix: prefix }));
    const out = new Map<string, Buffer>();
    for (const { Key } of listed.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'snoopy', Key: Key! }));
      out.set(Key!, Buffer.from(await got.Body!.transformToByteArray()));
    }
    return out;
  } finally {
    s3.destroy();
  }
}
