// A node capture pod stores its manifest of the run (lib/contracts/node-capture.ts NodeManifest)
// through the collector, once, at the end of the run: one UploadSegment call of format
// FORMAT_NODE_MANIFEST carrying the node's own token (lib/token.ts NodeTokenClaims). The collector
// keeps it at "…/<captureId>/_nodes/<node>.json" (lib/storage-keys.ts nodeManifestKey).
import * as grpc from '@grpc/grpc-js';
import { ManifestError, NODE_MANIFEST_MAX_BYTES, parseNodeManifest, type NodeManifest } from './contracts/node-capture.js';
import { createCollectorClient, isRetryableUploadError, uploadSegment, type UploadResponse } from './collector-client.js';
import type { SegmentHeader } from './proto.js';

export interface StoreNodeManifestOptions {
  /** deadline of each attempt, ms (default 30 s) */
  deadlineMs?: number;
  /** how long to keep retrying a collector that is unavailable, ms (default 60 s) */
  graceMs?: number;
  /** stops retrying and cancels the call in flight */
  signal?: AbortSignal;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** The manifest's bytes as stored: refused here, before any call, when the collector would refuse them. */
export function encodeNodeManifest(manifest: NodeManifest): Buffer {
  const body = Buffer.from(JSON.stringify(manifest));
  parseNodeManifest(body.toString('utf8'));
  if (body.length > NODE_MANIFEST_MAX_BYTES) throw new ManifestError(`manifest of ${body.length} bytes is over the collector's limit of ${NODE_MANIFEST_MAX_BYTES}`);
  return body;
}

/**
 * Stores the node's manifest; resolves with the collector's reply (key, sha256) once it is
 * durable. Retries, with backoff, what a retry can mend (collector unavailable, deadline), for at
 * most graceMs; rejects at once with the grpc ServiceError (code, details) for a refusal (bad
 * token, a manifest that is not this node's), and with ManifestError for a manifest that is not
 * the NodeManifest shape.
 */
export async function storeNodeManifest(
  collectorAddress: string,
  nodeToken: string,
  manifest: NodeManifest,
  opts: StoreNodeManifestOptions = {},
): Promise<UploadResponse> {
  const body = encodeNodeManifest(manifest);
  const header: Partial<SegmentHeader> = {
    captureId: manifest.captureId,
    snoopyJob: manifest.job.name,
    snoopyJobNamespace: manifest.job.namespace,
    node: manifest.node,
    format: 'FORMAT_NODE_MANIFEST',
    sequence: 0,
    last: true,
    token: nodeToken,
  };
  const client = createCollectorClient(collectorAddress, {
    // reconnect quickly to a collector that is starting, instead of grpc's default of up to 2 minutes
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  });
  const giveUpAt = Date.now() + (opts.graceMs ?? 60_000);
  let backoff = opts.initialBackoffMs ?? 250;
  try {
    for (;;) {
      try {
        return await uploadSegment(client, header, body, { deadlineMs: opts.deadlineMs ?? 30_000, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        if (!isRetryableUploadError(err) || opts.signal?.aborted || Date.now() >= giveUpAt) throw err;
      }
      // full jitter: many node pods ending together do not retry in lockstep
      await sleep(Math.min(backoff * (0.5 + Math.random() * 0.5), Math.max(0, giveUpAt - Date.now())), opts.signal);
      backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 5000);
      if (opts.signal?.aborted) throw Object.assign(new Error('storing the node manifest was cancelled'), { code: grpc.status.CANCELLED });
    }
  } finally {
    client.close();
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
