// Per-target capture tokens (docs/design.md "Security rules"): base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload))),
// payload {"cid","ns","pod","exp"} plus, from this operator, "job": "<namespace>/<name>" of the
// SnoopyJob, which picks the first elements of the storage key. The operator signs one per target;
// the collector verifies it against the segment header.
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

/** Verifies signature, expiry and that the claims name exactly this capture target. */
export function verifyToken(
  key: string | Buffer,
  token: string,
  expected: { cid: string; ns: string; pod: string; job: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): TokenCheck {
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
  if (!captureIdMatches(claims.cid, expected.cid) || claims.ns !== expected.ns || claims.pod !== expected.pod) {
    return { ok: false, reason: 'token was issued for another capture target' };
  }
  if (claims.job !== undefined && claims.job !== expected.job) return { ok: false, reason: 'token was issued for another SnoopyJob' };
  return { ok: true, claims };
}
