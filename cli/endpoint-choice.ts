// Which SnoopyDataEndpoint a capture uses when the user names none. Pure.
import { CliError } from './cli-error.js';

/** The endpoint the documented install creates (the seed's sample name); --dry-run offline uses it. */
export const DEFAULT_ENDPOINT = 'snoopydataendpoint-sample';

/**
 * The only endpoint in the job namespace, else the one with the default name; otherwise an error
 * that names what is there and the flag to pass.
 */
export function chooseEndpoint(names: readonly string[], jobNamespace: string): string {
  if (names.length === 1) return names[0]!;
  if (names.includes(DEFAULT_ENDPOINT)) return DEFAULT_ENDPOINT;
  if (names.length === 0) {
    throw new CliError(`no SnoopyDataEndpoint in namespace ${jobNamespace}: create one (kubectl apply -f a SnoopyDataEndpoint, see the README's "Custom resources"), pass --endpoint NAME with --job-namespace, or --collector HOST:PORT`);
  }
  const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, … (${names.length})` : '');
  throw new CliError(`several SnoopyDataEndpoints in namespace ${jobNamespace} (${shown}): pass --endpoint NAME`);
}
