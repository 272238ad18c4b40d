// A switch for tests only: run the tool without the tool policy, so that a test can show what
// the sandbox alone stops (sandbox.test.ts). It is honoured only when NODE_ENV is "test", and
// podtracer refuses to run at all when it is set otherwise. Neither variable can come from a
// SnoopyJob: the operator renders the capture container's environment from a fixed list
// (operator/render/capture.ts, which its tests check), the image sets NODE_ENV=production, and a
// SnoopyJob's tool and arguments reach podtracer only after "--", as the tool's argv. Pure.

export const TEST_POLICY_BYPASS_ENV = 'PODTRACER_TEST_BYPASS_TOOL_POLICY';

/** True when the policy is to be bypassed; throws when asked for outside a test run. */
export function testPolicyBypass(env: NodeJS.ProcessEnv): boolean {
  const value = env[TEST_POLICY_BYPASS_ENV];
  if (value === undefined || value === '') return false;
  if (env.NODE_ENV !== 'test') {
    throw new Error(`${TEST_POLICY_BYPASS_ENV} is honoured in tests only (NODE_ENV=test); refusing to run`);
  }
  if (value !== '1') throw new Error(`${TEST_POLICY_BYPASS_ENV} must be "1"`);
  return true;
}
