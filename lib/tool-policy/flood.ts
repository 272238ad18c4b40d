// Flood limits that need a number from an option value (SNOOPY_MIN_PING_INTERVAL).

import type { ToolPolicy } from './config.js';
import { refuseArg } from './errors.js';

/** Refuses a ping-style interval (seconds) below SNOOPY_MIN_PING_INTERVAL, when set. */
export function checkMinInterval(tool: string, what: string, value: string, policy: ToolPolicy): void {
  const min = policy.minPingIntervalSeconds;
  if (min === undefined) return;
  const seconds = Number(value.replace(',', '.'));
  if (!Number.isFinite(seconds)) refuseArg(tool, what, 'is not a number of seconds');
  if (seconds < min) refuseArg(tool, what, `is faster than SNOOPY_MIN_PING_INTERVAL (${min} s)`);
}

/** Refuses an option that sends without pacing when SNOOPY_MIN_PING_INTERVAL is set. */
export function refuseWhenPaced(tool: string, what: string, why: string, policy: ToolPolicy): void {
  const min = policy.minPingIntervalSeconds;
  if (min !== undefined) refuseArg(tool, what, `${why}, below SNOOPY_MIN_PING_INTERVAL (${min} s)`);
}
