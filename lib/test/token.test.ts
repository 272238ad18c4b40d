import { describe, expect, test } from '@jest/globals';
import { signToken, verifyNodeToken, verifyToken } from '../token.js';

const key = 'secret-key';
const target = { cid: 'c1', ns: 'cnf-telco', pod: 'p1', job: 'snoopy-operator/sj' };

describe('capture tokens', () => {
  test('format is base64url(payload).base64url(hmac)', () => {
    const token = signToken(key, { ...target, exp: 2_000_000_000 });
    const [payload, mac] = token.split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toEqual({ ...target, exp: 2_000_000_000 });
    expect(mac).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('accepts a valid token and refuses every kind of bad one', () => {
    const token = signToken(key, { ...target, exp: 2000 });
    expect(verifyToken(key, token, target, 1000).ok).toBe(true);
    expect(verifyToken(key, token, target, 2001)).toEqual({ ok: false, reason: 'token expired' });
    expect(verifyToken('other', token, target, 1000)).toEqual({ ok: false, reason: 'bad token signature' });
    expect(verifyToken(key, token, { ...target, pod: 'p2' }, 1000)).toEqual({
      ok: false,
      reason: 'token was issued for another capture target',
    });
    expect(verifyToken(key, '', target, 1000).ok).toBe(false);
    expect(verifyToken(key, 'abc', target, 1000).ok).toBe(false);
    const [p] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...target, exp: 9999 })).toString('base64url');
    expect(verifyToken(key, `${forged}.${token.split('.')[1]}`, target, 1000).ok).toBe(false);
    expect(p).toBeDefined();
  });

  test('a capture id prefix claim covers every run of a scheduled job, and nothing else', () => {
    const token = signToken(key, { cid: 'cron-abc-*', ns: 'cnf-telco', pod: 'p1', exp: 2000 });
    expect(verifyToken(key, token, { ...target, cid: 'cron-abc-29384756' }, 1000).ok).toBe(true);
    expect(verifyToken(key, token, { ...target, cid: 'cron-abc-' }, 1000).ok).toBe(false);
    expect(verifyToken(key, token, { ...target, cid: 'cron-abd-1' }, 1000).ok).toBe(false);
    expect(verifyToken(key, token, { ...target, cid: 'other' }, 1000).ok).toBe(false);
  });

  test('a job claim binds the token to one SnoopyJob; tokens without one still verify', () => {
    const token = signToken(key, { cid: 'c1', ns: 'cnf-telco', pod: 'p1', exp: 2000, job: 'snoopy-operator/sj' });
    expect(verifyToken(key, token, target, 1000).ok).toBe(true);
    expect(verifyToken(key, token, { ...target, job: 'snoopy-operator/other' }, 1000)).toEqual({ ok: false, reason: 'token was issued for another SnoopyJob' });
    expect(verifyToken(key, token, { ...target, job: 'tenant/sj' }, 1000).ok).toBe(false);
    const older = signToken(key, { cid: 'c1', ns: 'cnf-telco', pod: 'p1', exp: 2000 });
    expect(verifyToken(key, older, { ...target, job: 'any/job' }, 1000).ok).toBe(true);
  });

  test('a signed payload that is not an object is refused, not thrown', () => {
    const encoded = Buffer.from('null').toString('base64url');
    const forgedWithKey = `${encoded}.${signToken(key, { cid: 'x', ns: 'x', pod: 'x', exp: 1 }).split('.')[1]}`;
    expect(verifyToken(key, forgedWithKey, target, 1000).ok).toBe(false);
  });

  describe("a node's token", () => {
    const node = { cid: 'c1', job: 'snoopy-operator/sj', node: 'worker-1' };
    const token = signToken(key, { ...node, exp: 2000 });

    test('stores only that node\'s manifest of that run and SnoopyJob', () => {
      expect(verifyNodeToken(key, token, node, 1000)).toEqual({ ok: true, claims: { ...node, exp: 2000 } });
      expect(verifyNodeToken(key, token, { ...node, node: 'worker-2' }, 1000)).toEqual({ ok: false, reason: 'token was issued for another node' });
      expect(verifyNodeToken(key, token, { ...node, job: 'snoopy-operator/other' }, 1000)).toEqual({ ok: false, reason: 'token was issued for another SnoopyJob' });
      expect(verifyNodeToken(key, token, { ...node, cid: 'c2' }, 1000)).toEqual({ ok: false, reason: 'token was issued for another capture' });
      expect(verifyNodeToken(key, token, node, 2001)).toEqual({ ok: false, reason: 'token expired' });
      expect(verifyNodeToken('other', token, node, 1000)).toEqual({ ok: false, reason: 'bad token signature' });
    });

    test('a scheduled run\'s "prefix*" capture id matches each run', () => {
      const cron = signToken(key, { ...node, cid: 'cj-*', exp: 2000 });
      expect(verifyNodeToken(key, cron, { ...node, cid: 'cj-29000000' }, 1000).ok).toBe(true);
      expect(verifyNodeToken(key, cron, { ...node, cid: 'other-29000000' }, 1000).ok).toBe(false);
    });

    test('cannot store a segment or evidence, and a target\'s token cannot store a manifest', () => {
      expect(verifyToken(key, token, { ...target, pod: '' }, 1000)).toEqual({ ok: false, reason: "a node's token may store only its node's manifest" });
      expect(verifyToken(key, token, target, 1000).ok).toBe(false);
      const pod = signToken(key, { ...target, exp: 2000 });
      expect(verifyNodeToken(key, pod, node, 1000)).toEqual({ ok: false, reason: "a target's token cannot store a node manifest" });
      const withNode = signToken(key, { ...target, exp: 2000, node: 'worker-1' } as never);
      expect(verifyNodeToken(key, withNode, node, 1000).ok).toBe(false);
    });

    test('the job claim is required', () => {
      const noJob = signToken(key, { cid: 'c1', node: 'worker-1', exp: 2000 } as never);
      expect(verifyNodeToken(key, noJob, node, 1000)).toEqual({ ok: false, reason: 'token was issued for another SnoopyJob' });
      const noNode = signToken(key, { cid: 'c1', job: 'snoopy-operator/sj', exp: 2000 } as never);
      expect(verifyNodeToken(key, noNode, node, 1000)).toEqual({ ok: false, reason: 'token names no node' });
    });
  });
});
