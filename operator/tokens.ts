// Capture tokens (docs/design.md "Security rules", lib/token.ts) as the operator issues them. One-shot targets get a
// token for exactly their run's capture id that expires with the Job's deadline. A CronJob's pod
// template is fixed while every run has its own capture id (the run's Job name,
// "<cronjob>-<minutes>"), so scheduled targets get a prefix claim "<cronjob>-*" with a long
// expiry that the operator renews in the token Secret long before it passes.
import { randomBytes } from 'node:crypto';
import { signToken } from '../lib/token.js';

export const TOKEN_KEY_SECRET = 'snoopy-token-key';
export const TOKEN_KEY_FIELD = 'key';

export function newTokenKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The token's `job` claim: the SnoopyJob whose keys (and SNOOPY_JOB/SNOOPY_JOB_NAMESPACE) it covers. */
export function jobClaim(sj: { metadata: { namespace?: string; name?: string } }): string {
  return `${sj.metadata.namespace ?? ''}/${sj.metadata.name ?? ''}`;
}

export interface IssuedToken {
  token: string;
  exp: number;
}

export function oneShotTargetToken(
  key: string,
  target: { captureId: string; namespace: string; pod: string; job: string },
  lifetimeSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): IssuedToken {
  const exp = nowSeconds + lifetimeSeconds;
  return { token: signToken(key, { cid: target.captureId, ns: target.namespace, pod: target.pod, exp, job: target.job }), exp };
}

export function cronTargetToken(
  key: string,
  target: { cronJobName: string; namespace: string; pod: string; job: string },
  lifetimeSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): IssuedToken {
  const exp = nowSeconds + lifetimeSeconds;
  return { token: signToken(key, { cid: `${target.cronJobName}-*`, ns: target.namespace, pod: target.pod, exp, job: target.job }), exp };
}

/** Reads the expiry back from a token (no verification: the operator issued it). */
export function tokenExpiry(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A node's own token (per-node capture): its run's capture id (a scheduled node's "<cronjob>-*"),
 * the SnoopyJob and the node, no pod; stores that node's manifest only (lib/token.ts verifyNodeToken).
 */
export function nodeToken(
  key: string,
  node: { cid: string; node: string; job: string },
  lifetimeSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): IssuedToken {
  const exp = nowSeconds + lifetimeSeconds;
  return { token: signToken(key, { cid: node.cid, node: node.node, exp, job: node.job }), exp };
}
