// The operator as other parts' tests start it in-process (their only way in; the part boundary
// check in .dependency-cruiser.cjs enforces that): the Operator and a test configuration.
import { loadConfig, type OperatorConfig } from './config.js';

export { Operator } from './operator.js';
export type { OperatorConfig };

/** The operator's configuration for tests: no leader election, a short resync. */
export function testConfig(over: Record<string, string> = {}): OperatorConfig {
  return loadConfig({ SNOOPY_LEADER_ELECTION: 'false', SNOOPY_RESYNC_SECONDS: '5', ...over });
}
