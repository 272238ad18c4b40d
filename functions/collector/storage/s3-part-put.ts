// UploadPart as one plain HTTP PUT, signed with the SDK's own SigV4 signer: the SDK's middleware
// stack (endpoint rules, retry strategy, checksum and user-agent middleware, XML error parsing)
// cost about as much JavaScript per part as the CRC-32 of its 5 MiB. The URL is the one the SDK
// itself built for the upload's CreateMultipartUpload (endpoint, path or virtual-host style,
// encoded key), so every part goes where the SDK would have sent it. All other requests (create,
// complete, abort, list, tag, delete, PutObject) stay on the SDK.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';

/** Where an upload's parts go: the CreateMultipartUpload request's address without its query. */
export interface UploadTarget {
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
}

interface BuiltRequest {
  protocol?: string;
  hostname?: string;
  port?: number;
  path?: string;
}

/** Records, on `command`, the address the SDK resolves for it (after serialisation, before signing). */
export function captureTarget(command: CreateMultipartUploadCommand, into: (t: UploadTarget) => void): CreateMultipartUploadCommand {
  command.middlewareStack.add(
    (next) => (args) => {
      const r = args.request as BuiltRequest;
      if (r.hostname && r.path) into({ protocol: r.protocol ?? 'https:', hostname: r.hostname, port: r.port, path: r.path });
      return next(args);
    },
    { step: 'build', name: 'snoopyCaptureUploadTarget' },
  );
  return command;
}

/** The query encoding SigV4 signs (encodeURIComponent leaves !'()* as they are). */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class PartRequestError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
  ) {
    super(message);
    this.name = 'PartRequestError';
  }
}

export interface PartPutOptions {
  /** Idle time on the socket before a part request fails (as the SDK's requestTimeout). */
  requestTimeoutMs: number;
  /** Attempts per part (as the SDK's maxAttempts): retried on network errors and 5xx answers. */
  maxAttempts: number;
}

export interface PartPut {
  target: UploadTarget;
  uploadId: string;
  partNumber: number;
  body: Buffer;
  /** The part's CRC-32, S3's base64 form; sent as the signed header x-amz-checksum-crc32. */
  crc32: string;
  signal: AbortSignal;
}

/** Sends parts for one S3 client (its credentials, region and hash), over keep-alive agents. */
export class PartSender {
  private readonly signer: SignatureV4;
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 50 });

  constructor(
    client: S3Client,
    private readonly opts: PartPutOptions,
  ) {
    this.signer = new SignatureV4({
      credentials: client.config.credentials,
      region: client.config.region,
      service: 's3',
      sha256: client.config.sha256,
      // S3 signs the path as sent (the SDK's S3 signer does the same).
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /** Resolves with the part's ETag. */
  async put(p: PartPut): Promise<string> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      p.signal.throwIfAborted();
      try {
        return await this.once(p);
      } catch (err) {
        last = err;
        const status = err instanceof PartRequestError ? err.statusCode : undefined;
        if (status !== undefined && status < 500) throw err; // refused: retrying cannot help
      }
    }
    throw last;
  }

  private async once(p: PartPut): Promise<string> {
    const { target } = p;
    const signed = await this.signer.sign({
      method: 'PUT',
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      query: { partNumber: String(p.partNumber), uploadId: p.uploadId },
      headers: {
        host: target.port ? `${target.hostname}:${target.port}` : target.hostname,
        'content-length': String(p.body.length),
        'x-amz-checksum-crc32': p.crc32,
        // See s3-store.ts: the payload is covered by the CRC-32 and the segment's SHA-256.
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    const secure = target.protocol === 'https:';
    const query = `partNumber=${p.partNumber}&uploadId=${rfc3986(p.uploadId)}`;
    return new Promise<string>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)({
        method: 'PUT',
        hostname: target.hostname,
        port: target.port,
        path: `${target.path}?${query}`,
        headers: signed.headers,
        agent: secure ? this.https : this.http,
        signal: p.signal,
        timeout: this.opts.requestTimeoutMs,
      });
      req.on('timeout', () => req.destroy(new Error(`no progress for ${this.opts.requestTimeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        const pieces: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          // An error document is small; keep at most 64 KiB of whatever comes.
          if (size < 65536) pieces.push(b);
          size += b.length;
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const etag = res.headers.etag;
          if (status >= 200 && status < 300 && etag) return resolve(etag);
          const text = Buffer.concat(pieces).toString('utf8');
          const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
          const why = status >= 200 && status < 300 ? 'no ETag in the answer' : `HTTP ${status}${code ? ` ${code}` : ''}`;
          reject(new PartRequestError(`UploadPart ${p.partNumber}: ${why}`, status));
        });
      });
      req.end(p.body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
