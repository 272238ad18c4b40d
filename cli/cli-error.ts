// The error every command throws for the user to read: no import of the API or S3 clients, so
// help and completion stay fast.

/** An error whose message is already fit to print; `code` is the process exit status. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly code = 1) {
    super(message);
  }
}
