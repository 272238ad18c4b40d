// Options every command shares, and where SnoopyJobs live.
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  output?: string;
  'job-namespace'?: string;
}

export const GLOBAL_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'job-namespace': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** SnoopyJobs are created and looked up in the operator's namespace unless told otherwise:
 *  there (docs/design.md "Security rules") a SnoopyJob may target any namespace, which -n then names. */
export function jobNamespace(o: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return o['job-namespace'] || env.SNOOPY_NAMESPACE || 'snoopy-operator';
}

export function operatorNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.SNOOPY_NAMESPACE || 'snoopy-operator';
}
