// kubectl snoopy completion bash|zsh, and the `__complete` words the scripts call back: the
// plugin itself says what fits at the cursor (commands, flags, -o values, SnoopyJob names,
// namespaces, label keys), asking the cluster where it must and staying quiet when it cannot.
import { COMMAND_OPTIONS, flagWords, takesValue } from '../command-options.js';
import { CliError } from '../cli-error.js';
import { COMMANDS, findCommand } from '../help.js';
import { jobNamespace } from '../options.js';

/** What completion may ask the cluster; each answers [] when it cannot. */
export interface CompletionLookups {
  namespaces(): Promise<string[]>;
  snoopyJobs(jobNamespace: string | undefined): Promise<string[]>;
  labelKeys(namespace: string | undefined): Promise<string[]>;
}

/** The value of a flag already on the line (`-n x`, `--namespace x`, `--namespace=x`). */
function flagValue(words: readonly string[], long: string, short?: string): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith(`--${long}=`)) return w.slice(long.length + 3);
    if ((w === `--${long}` || (short && w === `-${short}`)) && i + 1 < words.length) return words[i + 1];
  }
  return undefined;
}

/**
 * Candidates for the last word of `words` (the words after the plugin's name, the last one being
 * the one under the cursor, possibly ""). Pure but for the lookups.
 */
export async function candidates(words: readonly string[], lookups: CompletionLookups): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const match = (list: string[]) => list.filter((c) => c.startsWith(current));
  if (before.length === 0) return match(COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]));
  const command = findCommand(before[0]!)?.name;
  if (!command) return [];
  if (before.includes('--')) return []; // the tool's own words
  const prev = before.at(-1)!;
  const done = before.slice(1);
  const ns = flagValue(done, 'namespace', 'n');
  if (prev === '-n' || prev === '--namespace' || prev === '--job-namespace') return match(await lookups.namespaces());
  if (prev === '-o' || prev === '--output') return match(COMMAND_OPTIONS[command]?.outputs ?? []);
  if (command === 'capture' && (prev === '-l' || prev === '--selector')) {
    // the keys the target namespace's pods carry, each ready for its value
    const typed = current.slice(0, current.lastIndexOf(',') + 1);
    return match((await lookups.labelKeys(ns)).map((k) => `${typed}${k}=`));
  }
  if (prev.startsWith('-') && takesValue(command, prev)) return [];
  if (current.startsWith('-')) return match(flagWords(command));
  // the one positional, when not given yet
  const given = done.filter((w, i) => !w.startsWith('-') && !(i > 0 && takesValue(command, done[i - 1]!)));
  if ((COMMAND_OPTIONS[command]?.positionals ?? 0) === 0 || given.length > 0) return [];
  if (command === 'completion') return match(['bash', 'zsh']);
  return match(await lookups.snoopyJobs(flagValue(done, 'job-namespace')));
}

async function quiet<T>(f: () => Promise<T[]>): Promise<T[]> {
  try {
    return await f();
  } catch {
    return []; // completion never prints errors into the user's command line
  }
}

/** Lookups through the kubeconfig the completed command line names (--kubeconfig/--context). */
function clusterLookups(words: readonly string[]): CompletionLookups {
  const opts = { kubeconfig: flagValue(words, 'kubeconfig'), context: flagValue(words, 'context') };
  // the API client is loaded only when a word needs the cluster: commands and flags complete fast
  const kube = async () => (await import('../kube.js')).connect(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)));
  return {
    namespaces: () => quiet(async () => (await (await kube()).kube.core.listNamespace()).items.map((n) => n.metadata!.name!)),
    snoopyJobs: (ns) => quiet(async () => (await (await import('../resources.js')).listSnoopyJobs((await kube()).kube, jobNamespace({ 'job-namespace': ns }))).map((sj) => sj.metadata.name)),
    labelKeys: (ns) =>
      quiet(async () => {
        const c = await kube();
        const pods = await c.kube.core.listNamespacedPod({ namespace: ns ?? c.namespace, limit: 500 });
        return [...new Set(pods.items.flatMap((p) => Object.keys(p.metadata?.labels ?? {})))].sort();
      }),
  };
}

/** `kubectl-snoopy __complete WORD…`: candidates, one per line. */
export async function complete(words: string[], out: NodeJS.WritableStream, lookups: CompletionLookups = clusterLookups(words)): Promise<number> {
  for (const c of await candidates(words.length === 0 ? [''] : words, lookups)) out.write(`${c}\n`);
  return 0;
}

const BASH = `# kubectl snoopy completion (bash): source <(kubectl snoopy completion bash)
_kubectl_snoopy() {
  local IFS=$'\\n' cur="\${COMP_WORDS[COMP_CWORD]}"
  # "-l app=" arrives split at "=" (COMP_WORDBREAKS): complete the whole selector word
  COMPREPLY=( $(kubectl-snoopy __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
  [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
  return 0
}
complete -F _kubectl_snoopy kubectl-snoopy
`;

const ZSH = `#compdef kubectl-snoopy
# kubectl snoopy completion (zsh): source <(kubectl snoopy completion zsh)
_kubectl_snoopy() {
  local -a found open
  found=(\${(f)"$(kubectl-snoopy __complete \${words[2,CURRENT]} 2>/dev/null)"})
  open=(\${(M)found:#*=})
  compadd -S '' -- \${open[@]}
  compadd -- \${found:#*=}
}
compdef _kubectl_snoopy kubectl-snoopy
`;

export function completion(shell: string, out: NodeJS.WritableStream): Promise<number> {
  if (shell !== 'bash' && shell !== 'zsh') throw new CliError(`no completion for "${shell}": use bash or zsh`, 2);
  out.write(shell === 'bash' ? BASH : ZSH);
  return Promise.resolve(0);
}
