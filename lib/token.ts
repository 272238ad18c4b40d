// Capture tokens (docs/design.md "Security rules"): base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload))).
// A target's token: payload {"cid","ns","pod","exp"} plus, from this operator, "job": "<namespace>/<name>"
// of the SnoopyJob, which picks the first elements of the storage key; the collector verifies it
// against the segment header. A node's token (per-node capture, lib/contracts/node-capture.ts):
// {"cid","job","node","exp"} and no pod, good only for that node's manifest: verifyToken refuses
// it for every pod, verifyNodeToken accepts it for its node only.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /**
   * capture id; a value ending in "*" matches every capture id with that prefix. Scheduled
   * SnoopyJobs need it: each CronJob run gets its own capture id (so runs never overwrite each
   * other's objects) while the pod template, and so the token in it, is fixed.
   */
  cid: string;
  /** target pod's namespace (a node token has none) */
  ns?: string;
  /** target pod's name (a node token has none) */
  pod?: string;
  /** a node token's node: the token may store that node's manifest and nothing else */
  node?: string;
  /** expiry, unix seconds */
  exp: number;
  /**
   * "<namespace>/<name>" of the SnoopyJob the capture belongs to; when present the segment header
   * must name that job, so a token cannot write under another SnoopyJob's keys.
   */
  job?: string;
}

function mac(key: string | Buffer, encodedPayload: string): Buffer {
  return createHmac('sha256', key).update(encodedPayload).digest();
}

export function signToken(key: string | Buffer, claims: TokenClaims): string {
  const encoded = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${encoded}.${mac(key, encoded).toString('base64url')}`;
}

export function captureIdMatches(claimed: string, actual: string): boolean {
  if (typeof claimed !== 'string' || claimed === '') return false;
  if (claimed.endsWith('*')) return actual.startsWith(claimed.slice(0, -1)) && actual.length >= claimed.length;
  return claimed === actual;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

/** Signature, payload and expiry; the claims are the caller's to match. */
function readToken(key: string | Buffer, token: string, nowSeconds: number): TokenCheck {
  if (!token) return { ok: false, reason: 'no token' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed token' };
  const encoded = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const wanted = mac(key, encoded);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return { ok: false, reason: 'bad token signature' };
  }
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { ok: false, reason: 'malformed token payload' };
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed token payload' };
  if (typeof claims.exp !== 'number' || claims.exp < nowSeconds) return { ok: false, reason: 'token expired' };
  return { ok: true, claims };
}

/** Verifies signature, expiry and that the claims name exactly this capture target. */
export function verifyToken(
  key: string | Buffer,
  token: string,
  expected: { cid: string; ns: string; pod: string; job: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): TokenCheck {
  const read = readToken(key, token, nowSeconds);
  if (!read.ok) return read;
  const { claims } = read;
  if (claims.node !== undefined && claims.pod === undefined) return { ok: false, reason: 'a node token cannot store a target\'s segments' };
  if (!captureIdMatches(claims.cid, expected.cid) || claims.ns !== expected.ns || claims.pod !== expected.pod) {
    return { ok: false, reason: 'token was issued for another capture target' };
  }
  if (claims.job !== undefined && claims.job !== expected.job) return { ok: false, reason: 'token was issued for another SnoopyJob' };
  return { ok: true, claims };
}

/**
 * Verifies a node token (per-node capture) for storing `expected.node`'s manifest of run
 * `expected.cid` of SnoopyJob `expected.job`: a target's token, or another node's, is refused.
 */
export function verifyNodeToken(
  key: string | Buffer,
  token: string,
  expected: { cid: string; job: string; node: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): TokenCheck {
  const read = readToken(key, token, nowSeconds);
  if (!read.ok) return read;
  const { claims } = read;
  if (claims.pod !== undefined || claims.ns !== undefined || typeof claims.node !== 'string') return { ok: false, reason: 'not a node token' };
  if (claims.node !== expected.node) return { ok: false, reason: 'token was issued for another node' };
  if (!captureIdMatches(claims.cid, expected.cid)) return { ok: false, reason: 'token was issued for another capture' };
  if (claims.job !== expected.job) return { ok: false, reason: 'token was issued for another SnoopyJob' };
  return { ok: true, claims };
}
