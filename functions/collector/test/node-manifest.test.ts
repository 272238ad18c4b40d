// A node capture pod's manifest: stored once under the run's "_nodes/" with the node's own token;
// that token stores nothing else, a target's token stores no manifest, and a body that is not this
// node's NodeManifest is refused and leaves nothing. Real S3 server, real collector over loopback.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import * as grpc from '@grpc/grpc-js';
import { createCollectorClient, uploadSegment, type CollectorClient } from '../../../lib/collector-client.js';
import { ManifestError, NODE_MANIFEST_MAX_BYTES, type NodeManifest } from '../../../lib/contracts/node-capture.js';
import { storeNodeManifest } from '../../../lib/node-manifest-client.js';
import { signToken } from '../../../lib/token.js';
import { startS3Server, type S3ServerChild } from '../../../infra/s3/child.js';
import type { RunningCollector } from '../server.js';
import { expectNothingStored as expectNothingStoredIn, expectStatus, header, listBucket, randomStream, sha256, startInProcessCollector } from './helpers.js';

const BUCKET = 'manifests';
const KEY = 'test-token-key';
const PREFIX = 'captures';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const JOB = { namespace: 'snoopy-operator', name: 'fleet' };
const CID = 'run-7';
const RUN = `${PREFIX}/${JOB.namespace}/${JOB.name}/${CID}`;

const nodeToken = (node: string, over: Record<string, unknown> = {}) => signToken(KEY, { cid: CID, job: `${JOB.namespace}/${JOB.name}`, node, exp: inAnHour(), ...over });

function manifestOf(node: string, pods = 3): NodeManifest {
  return {
    node,
    captureId: CID,
    job: JOB,
    targets: Array.from({ length: pods }, (_, i) => ({
      namespace: 'shop',
      pod: `${node}-web-${i}`,
      uid: `uid-${node}-${i}`,
      container: 'app',
      state: i === 0 ? ('Failed' as const) : ('Succeeded' as const),
      bytes: 1000 * i,
      segments: i,
      objects: Array.from({ length: i }, (_, s) => `${RUN}/shop/${node}-web-${i}/${String(s).padStart(6, '0')}.pcap`),
      ...(i === 0 ? { message: 'tcpdump: The interface disappeared', toolExitCode: 1 } : { stopReason: 'timer' as const }),
    })),
  };
}

/** The header a node capture pod sends for its manifest. */
const manifestHeader = (node: string, over: Parameters<typeof header>[0] = {}) =>
  header({ captureId: CID, snoopyJob: JOB.name, snoopyJobNamespace: JOB.namespace, pod: '', podNamespace: '', podUid: '', node, format: 'FORMAT_NODE_MANIFEST', last: true, token: nodeToken(node), ...over });

describe('node manifests in the collector', () => {
  let dir: string;
  let s3: S3ServerChild;
  let s3client: S3Client;
  let collector: RunningCollector;
  let client: CollectorClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snoopy-collector-manifest-'));
    s3 = await startS3Server({ dir, buckets: [BUCKET] });
    s3client = s3.client();
    collector = await startInProcessCollector({ ...s3.env(BUCKET), S3_PREFIX: PREFIX, SNOOPY_TOKEN_KEY: KEY });
    client = createCollectorClient(collector.address);
  });

  afterAll(async () => {
    client?.close();
    await collector?.shutdown(1000);
    s3client?.destroy();
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function removeAll(): Promise<void> {
    for (const k of await listBucket(s3client, BUCKET)) await s3client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
  }

  const expectNothingStored = () => expectNothingStoredIn(s3client, dir, BUCKET);

  test("a node's token stores its manifest at <run>/_nodes/<node>.json, whole and tagged with its sha256", async () => {
    const manifest = manifestOf('worker-1', 50);
    const reply = await storeNodeManifest(collector.address, nodeToken('worker-1'), manifest);
    expect(reply.key).toBe(`${RUN}/_nodes/worker-1.json`);
    const got = await s3client.send(new GetObjectCommand({ Bucket: BUCKET, Key: reply.key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    expect(JSON.parse(body.toString())).toEqual(manifest);
    expect(got.ContentType).toBe('application/json');
    expect(sha256(body)).toBe(reply.sha256);
    const tags = await s3client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: reply.key }));
    expect(tags.TagSet).toEqual(expect.arrayContaining([{ Key: 'sha256', Value: reply.sha256 }]));
    // stored again (a retried end of run) it is the same one object
    await storeNodeManifest(collector.address, nodeToken('worker-1'), manifest);
    expect(await listBucket(s3client, BUCKET)).toEqual([`${RUN}/_nodes/worker-1.json`]);
    await removeAll();
  });

  test("a node's token cannot store a segment or evidence, not even of a pod on its node", async () => {
    const token = nodeToken('worker-1');
    const pod = { captureId: CID, snoopyJob: JOB.name, snoopyJobNamespace: JOB.namespace, podNamespace: 'shop', pod: 'worker-1-web-1', node: 'worker-1', token };
    await expectStatus(uploadSegment(client, header(pod), Buffer.from('pcap bytes')), grpc.status.UNAUTHENTICATED, "capture token refused: a node's token may store only its node's manifest");
    await expectStatus(
      uploadSegment(client, header({ ...pod, format: 'FORMAT_EVIDENCE' }), Buffer.from('{}')),
      grpc.status.UNAUTHENTICATED,
      "capture token refused: a node's token may store only its node's manifest",
    );
    await expectNothingStored();
  });

  test("a node's token cannot store another node's manifest, nor one of another run or SnoopyJob", async () => {
    const other = manifestOf('worker-2');
    await expectStatus(
      uploadSegment(client, manifestHeader('worker-2', { token: nodeToken('worker-1') }), Buffer.from(JSON.stringify(other))),
      grpc.status.UNAUTHENTICATED,
      'node token refused: token was issued for another node',
    );
    await expectStatus(storeNodeManifest(collector.address, nodeToken('worker-1'), other), grpc.status.UNAUTHENTICATED, 'node token refused: token was issued for another node');
    await expectStatus(
      uploadSegment(client, manifestHeader('worker-1', { captureId: 'run-8' }), Buffer.from(JSON.stringify({ ...manifestOf('worker-1'), captureId: 'run-8' }))),
      grpc.status.UNAUTHENTICATED,
      'node token refused: token was issued for another capture',
    );
    await expectStatus(
      uploadSegment(client, manifestHeader('worker-1', { snoopyJob: 'other' }), Buffer.from(JSON.stringify({ ...manifestOf('worker-1'), job: { ...JOB, name: 'other' } }))),
      grpc.status.UNAUTHENTICATED,
      'node token refused: token was issued for another SnoopyJob',
    );
    // its own header, another node's body
    await expectStatus(
      uploadSegment(client, manifestHeader('worker-1'), Buffer.from(JSON.stringify(other))),
      grpc.status.INVALID_ARGUMENT,
      "the manifest is node worker-2's, the header names node worker-1",
    );
    await expectNothingStored();
  });

  test("a target's token cannot store a manifest", async () => {
    const podToken = signToken(KEY, { cid: CID, ns: 'shop', pod: 'worker-1-web-1', exp: inAnHour(), job: `${JOB.namespace}/${JOB.name}` });
    await expectStatus(storeNodeManifest(collector.address, podToken, manifestOf('worker-1')), grpc.status.UNAUTHENTICATED, "node token refused: a target's token cannot store a node manifest");
    await expectStatus(
      uploadSegment(client, manifestHeader('worker-1', { token: podToken, pod: 'worker-1-web-1', podNamespace: 'shop' }), Buffer.from(JSON.stringify(manifestOf('worker-1')))),
      grpc.status.INVALID_ARGUMENT,
      'a node manifest names no pod: pod and pod_namespace must be empty',
    );
    await expectStatus(storeNodeManifest(collector.address, '', manifestOf('worker-1')), grpc.status.UNAUTHENTICATED, 'node token refused: no token');
    await expectNothingStored();
  });

  test('a body that is not a NodeManifest is refused with the reason and leaves no object', async () => {
    const good = manifestOf('worker-1');
    const t0 = good.targets[1]!;
    const cases: [unknown, string | RegExp][] = [
      ['{"node": "worker-1", ', /^not a node manifest: manifest is not JSON/],
      [[], 'not a node manifest: manifest is not an object'],
      [{ ...good, targets: undefined }, 'not a node manifest: manifest.targets must be a list'],
      [{ ...good, job: 'fleet' }, 'not a node manifest: manifest.job must be {namespace, name} of the SnoopyJob'],
      [{ ...good, targets: [{ ...t0, state: 'Done' }] }, 'not a node manifest: manifest.targets[0].state must be one of Running, Succeeded, Failed'],
      [{ ...good, targets: [{ ...t0, uid: undefined }] }, 'not a node manifest: manifest.targets[0].uid must be a non-empty string'],
      [{ ...good, targets: [{ ...t0, bytes: -1 }] }, 'not a node manifest: manifest.targets[0].bytes must be a whole number ≥ 0'],
      [{ ...good, targets: [t0, t0] }, 'not a node manifest: manifest.targets lists shop/worker-1-web-1/uid-worker-1-1 twice'],
      [{ ...good, captureId: 'run-8' }, 'the manifest is of capture run-8, the header names run-7'],
      [
        { ...good, targets: [{ ...t0, objects: [`${PREFIX}/tenant/secret/${CID}/shop/worker-1-web-1/000000.pcap`] }] },
        `target shop/worker-1-web-1 lists ${PREFIX}/tenant/secret/${CID}/shop/worker-1-web-1/000000.pcap, which is not one of its objects (${RUN}/shop/worker-1-web-1/…)`,
      ],
      [{ ...good, targets: [{ ...t0, objects: [`${RUN}/shop/worker-1-web-2/000000.pcap`] }] }, /^target shop\/worker-1-web-1 lists .*worker-1-web-2\/000000.pcap, which is not one of its objects/],
    ];
    for (const [body, why] of cases) {
      const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      await expectStatus(uploadSegment(client, manifestHeader('worker-1'), bytes), grpc.status.INVALID_ARGUMENT, why);
    }
    await expectNothingStored();
    // the client library refuses the same before it calls
    await expect(storeNodeManifest(collector.address, nodeToken('worker-1'), { ...good, targets: [{ ...t0, state: 'Done' as never }] })).rejects.toBeInstanceOf(ManifestError);
  });

  test(`a manifest over ${NODE_MANIFEST_MAX_BYTES} bytes is refused while it streams, and leaves no object`, async () => {
    await expectStatus(
      uploadSegment(client, manifestHeader('worker-1'), randomStream(NODE_MANIFEST_MAX_BYTES + 1024 * 1024)),
      grpc.status.INVALID_ARGUMENT,
      `node manifest larger than the limit of ${NODE_MANIFEST_MAX_BYTES} bytes`,
    );
    await expectNothingStored();
  });

  test('a collector that cannot be reached: storeNodeManifest retries for graceMs, then fails UNAVAILABLE', async () => {
    const err = (await storeNodeManifest('127.0.0.1:1', nodeToken('worker-1'), manifestOf('worker-1'), { graceMs: 600, initialBackoffMs: 50 }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(grpc.status[err.code]).toBe('UNAVAILABLE');
  });
});
