// What the tool policy says of one invocation, for the table tests: allowed or not, and the
// refusal's message.
import { DEFAULT_TOOL_POLICY, parseToolInvocation, ToolPolicyError, type ToolPolicy } from '../tool-policy.js';

/** True when the policy allows `tool args`; false when it refuses it (any other error is thrown). */
export function allowed(tool: string, args: string | readonly string[], policy: ToolPolicy = DEFAULT_TOOL_POLICY): boolean {
  try {
    parseToolInvocation(tool, args, policy);
    return true;
  } catch (err) {
    if (err instanceof ToolPolicyError) return false;
    throw err;
  }
}

/** The policy's refusal of `tool args`; throws when it is allowed. */
export function errorOf(tool: string, args: string | readonly string[], policy: ToolPolicy = DEFAULT_TOOL_POLICY): string {
  try {
    parseToolInvocation(tool, args, policy);
  } catch (err) {
    if (err instanceof ToolPolicyError) return err.message;
    throw err;
  }
  throw new Error(`${tool} ${Array.isArray(args) ? args.join(' ') : String(args)} was allowed`);
}
