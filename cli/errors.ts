// One-line, actionable errors for the command line. API and storage failures arrive as library
// exceptions with headers and bodies attached; the user needs the reason, not the dump.
import { ApiException } from '@kubernetes/client-node';
import { CliError } from './cli-error.js';

export { CliError };

/** The `message` of a Kubernetes Status body, if the error carries one. */
function apiMessage(err: ApiException<unknown>): string {
  const body = err.body as unknown;
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: a proxy's or a bare server's text
    }
    return body.trim().split('\n')[0]!.slice(0, 200);
  }
  return '';
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN']);

/** The network error code somewhere in an error's cause chain (fetch wraps it), if any. */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const errors = (e as { errors?: unknown }).errors; // AggregateError from happy-eyeballs connects
    if (Array.isArray(errors)) for (const inner of errors) {
      const c = networkCode(inner);
      if (c) return c;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps a Kubernetes API failure to one line; `what` says what the call was doing. */
export function apiError(err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ApiException) {
    const msg = apiMessage(err);
    if (err.code === 403) return new CliError(`permission denied ${what}: ${msg || 'the API server answered 403 Forbidden'}`);
    if (err.code === 401) return new CliError(`not authenticated ${what}: check the kubeconfig's credentials${msg ? ` (${msg})` : ''}`);
    return new CliError(`${what} failed: HTTP ${err.code}${msg ? `: ${msg}` : ''}`);
  }
  const net = networkCode(err);
  if (net) return new CliError(`cannot reach the Kubernetes API server ${what} (${net}); check --kubeconfig/--context`);
  return new CliError(`${what} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}
