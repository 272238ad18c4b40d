// Errors of the tool policy: which field of a SnoopyJob is wrong, and where in the args text.

export class ToolPolicyError extends Error {
  override name = 'ToolPolicyError';
  constructor(
    readonly field: 'command' | 'args',
    message: string,
    /** 1-based character position in the args string, when the problem is in its text. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** Refuses an argument of `tool`: "<tool>: <what> <why>". */
export function refuseArg(tool: string, what: string, why: string): never {
  throw new ToolPolicyError('args', `${tool}: ${what} ${why}`);
}
