// Capture tokens (docs/design.md "Security rules"): base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload))).
// A target's token: payload {"cid","ns","pod","exp"} plus, from this operator, "job":
// "<namespace>/<name>" of the SnoopyJob, which picks the first elements of the storage key; the
// collector verifies it against the segment header. A node's token: {"cid","job","node","exp"} and
// no pod, good only for storing that node's manifest of that run (lib/contracts/node-capture.ts).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /**
   * capture id; a value ending in "*" matches every capture id with that prefix. Scheduled
   * SnoopyJobs need it: each CronJob run gets its own capture id (so runs never overwrite each
   * other's objects) while the pod template, and so the token in it, is fixed.
   */
  cid: string;
  /** target pod's namespace */
  ns: string;
  /** target pod's name */
  pod: string;
  /** expiry, unix seconds */
  exp: number;
  /**
   * "<namespace>/<name>" of the SnoopyJob the capture belongs to; when present the segment header
   * must name that job, so a token cannot write under another SnoopyJob's keys.
   */
  job?: string;
}

/** A node capture pod's own token: no pod claim, so it can store no segment and no evidence. */
export interface NodeTokenClaims {
  /** capture id of the run; "…*" as in TokenClaims.cid */
  cid: string;
  /** "<namespace>/<name>" of the SnoopyJob: required, the manifest's key starts with it */
  job: string;
  /** the node whose manifest the token may store */
  node: string;
  /** expiry, unix seconds */
  exp: number;
}

function mac(key: string | Buffer, encodedPayload: string): Buffer {
  return createHmac('sha256', key).update(encodedPayload).digest();
}

export function signToken(key: string | Buffer, claims: TokenClaims | NodeTokenClaims): string {
  const encoded = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${encoded}.${mac(key, encoded).toString('base64url')}`;
}

export function captureIdMatches(claimed: string, actual: string): boolean {
  if (typeof claimed !== 'string' || claimed === '') return false;
  if (claimed.endsWith('*')) return actual.startsWith(claimed.slice(0, -1)) && actual.length >= claimed.length;
  return claimed === actual;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: string };
export type NodeTokenCheck = { ok: true; claims: NodeTokenClaims } | { ok: false; reason: string };

/** Signature, payload and expiry; the claims are still to be matched by the caller. */
function readToken(key: string | Buffer, token: string, nowSeconds: number): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string } {
  if (!token) return { ok: false, reason: 'no token' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed token' };
  const encoded = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const wanted = mac(key, encoded);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return { ok: false, reason: 'bad token signature' };
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed token payload' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed token payload' };
  const c = claims as Record<string, unknown>;
  if (typeof c.exp !== 'number' || c.exp < nowSeconds) return { ok: false, reason: 'token expired' };
  return { ok: true, claims: c };
}

/** A payload without a pod claim is a node's token (NodeTokenClaims). */
const isNodeToken = (claims: Record<string, unknown>) => claims.pod === undefined && claims.ns === undefined && typeof claims.node === 'string';

/** Verifies signature, expiry and that the claims name exactly this capture target. */
export function verifyToken(
  key: string | Buffer,
  token: string,
  expected: { cid: string; ns: string; pod: string; job: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): TokenCheck {
  const read = readToken(key, token, nowSeconds);
  if (!read.ok) return read;
  if (isNodeToken(read.claims)) return { ok: false, reason: "a node's token may store only its node's manifest" };
  const claims = read.claims as unknown as TokenClaims;
  if (!captureIdMatches(claims.cid, expected.cid) || claims.ns !== expected.ns || claims.pod !== expected.pod) {
    return { ok: false, reason: 'token was issued for another capture target' };
  }
  if (claims.job !== undefined && claims.job !== expected.job) return { ok: false, reason: 'token was issued for another SnoopyJob' };
  return { ok: true, claims };
}

/** Verifies a node's token (signature, expiry, run, SnoopyJob and node) for storing that node's manifest. */
export function verifyNodeToken(
  key: string | Buffer,
  token: string,
  expected: { cid: string; job: string; node: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): NodeTokenCheck {
  const read = readToken(key, token, nowSeconds);
  if (!read.ok) return read;
  if (read.claims.pod !== undefined || read.claims.ns !== undefined) return { ok: false, reason: "a target's token cannot store a node manifest" };
  if (!isNodeToken(read.claims)) return { ok: false, reason: 'token names no node' };
  const claims = read.claims as unknown as NodeTokenClaims;
  if (typeof claims.cid !== 'string' || !captureIdMatches(claims.cid, expected.cid)) return { ok: false, reason: 'token was issued for another capture' };
  if (claims.job !== expected.job) return { ok: false, reason: 'token was issued for another SnoopyJob' };
  if (claims.node !== expected.node) return { ok: false, reason: 'token was issued for another node' };
  return { ok: true, claims };
}
