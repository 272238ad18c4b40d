// The plugin's help: one entry per command (usage, what it does, examples), from which both the
// global help and `kubectl snoopy CMD --help` are written. Pure.

export interface CommandHelp {
  name: string;
  aliases?: string[];
  usage: string[];
  summary: string;
  details: string;
  examples: Array<[comment: string, command: string]>;
}

const STORAGE_FLAGS = '[--s3-endpoint URL] [--bucket B] [--prefix P]';
const STORAGE_NOTE = `Storage: flags, else S3_ENDPOINT / S3_BUCKET / S3_PREFIX / AWS_* from the
environment, else the storage block and credentials Secret of the SnoopyJob's SnoopyDataEndpoint.`;

export const COMMANDS: CommandHelp[] = [
  {
    name: 'capture',
    usage: [
      'kubectl snoopy capture -n NS -l KEY=VALUE[,…] [--container C] [--timer 2m] [--schedule CRON]',
      '                       [--filter \'port 53\'] [--max-bytes N] [--evidence | --no-evidence]',
      '                       [--endpoint NAME | --collector HOST:PORT]',
      '                       [--name NAME] [--wait] [--dry-run [-o yaml|json]] [-- TOOL ARGS…]',
    ],
    summary: 'start a capture on the pods a label selector picks',
    details: `Creates a SnoopyJob in the operator's namespace (--job-namespace, default $SNOOPY_NAMESPACE or
snoopy-operator) targeting the pods selected by -l in namespace -n. Without "-- TOOL ARGS" it runs
tcpdump -i any -U -w - (pcap to stdout) plus --filter. --evidence / --no-evidence set spec.evidence
(default: on for tcpdump): each target's network state before and after, shown by evidence.
Without --endpoint or --collector it uses the only SnoopyDataEndpoint in the job namespace, or the
one named snoopydataendpoint-sample when there are several (--dry-run with no cluster: that name).
It refuses when no pod matches, when the namespace or the CRD is missing, or when the spec would be
rejected by the operator. --wait follows the capture to its end; Ctrl-C stops following, not the capture.`,
    examples: [
      ['two minutes of DNS traffic of every web pod', 'kubectl snoopy capture -n shop -l app=web --filter "port 53" --timer 2m --wait'],
      ['ping from inside the pods, through a named endpoint', 'kubectl snoopy capture -n shop -l app=web --endpoint my-store -- ping -c 5 10.0.0.1'],
      ['every night at 02:00, five minutes', 'kubectl snoopy capture -n shop -l app=web --schedule "0 2 * * *" --timer 5m'],
      ['see the SnoopyJob without creating it', 'kubectl snoopy capture -n shop -l app=web --dry-run -o yaml'],
    ],
  },
  {
    name: 'list',
    aliases: ['ls'],
    usage: ['kubectl snoopy list [-n TARGET_NS] [-A] [-o json|yaml|wide]'],
    summary: 'list SnoopyJobs with their phase, targets and bytes',
    details: 'Lists the SnoopyJobs of the job namespace (-A: every namespace); -n keeps those targeting that namespace.',
    examples: [
      ['captures of the shop namespace', 'kubectl snoopy list -n shop'],
      ['everything, as JSON', 'kubectl snoopy list -A -o json'],
    ],
  },
  {
    name: 'status',
    aliases: ['get'],
    usage: [`kubectl snoopy status NAME [-o json|yaml|wide] ${STORAGE_FLAGS}`],
    summary: "one SnoopyJob's phase, conditions, targets and recent events",
    details: `Shows the phase, conditions, each target (state, bytes, stop reason, message) and the Kubernetes Events of
the SnoopyJob. When the status lists only its first targets (one capture pod per node keeps the
status bounded), the run manifest is read from storage: every target, and per-node rollups.
${STORAGE_NOTE}`,
    examples: [['one capture in detail', 'kubectl snoopy status web-dns -o wide']],
  },
  {
    name: 'logs',
    usage: ['kubectl snoopy logs NAME [-o json]'],
    summary: "the capture pods' logs",
    details: 'Prints every capture pod\'s log, one line per record: time, level, pod and message with its fields. -o json prints the records as logged (JSON lines), each prefixed with its pod.',
    examples: [
      ['what the capture pods said', 'kubectl snoopy logs web-dns'],
      ['the raw records, for jq', 'kubectl snoopy logs web-dns -o json'],
    ],
  },
  {
    name: 'delete',
    usage: ['kubectl snoopy delete NAME'],
    summary: 'stop a capture and remove its SnoopyJob (stored objects stay)',
    details: 'Deletes the SnoopyJob; its capture Jobs and pods go with it. What was stored stays in storage.',
    examples: [['stop a capture', 'kubectl snoopy delete web-dns']],
  },
  {
    name: 'download',
    usage: [`kubectl snoopy download NAME [-o DIR] [--merge] ${STORAGE_FLAGS}`],
    summary: "fetch a capture's pcaps (and evidence) from storage, checked",
    details: `Fetches every stored object of the SnoopyJob's run into DIR (default ./NAME), joining each
target's segments and checking each against its sha256; --merge also writes one file of all targets.
${STORAGE_NOTE}`,
    examples: [
      ['into ./web-dns', 'kubectl snoopy download web-dns'],
      ['one merged file too', 'kubectl snoopy download web-dns -o /tmp/cap --merge'],
    ],
  },
  {
    name: 'summary',
    usage: [`kubectl snoopy summary NAME [-o json|yaml] ${STORAGE_FLAGS}`],
    summary: "the analyzer's flow summary of a capture",
    details: `Reads the analyzer's summary of each target from storage and prints flows, talkers, DNS and problems.
${STORAGE_NOTE}`,
    examples: [['flows of a finished capture', 'kubectl snoopy summary web-dns']],
  },
  {
    name: 'evidence',
    usage: [`kubectl snoopy evidence NAME [--pod P] [-o json|yaml] ${STORAGE_FLAGS}`],
    summary: "each target's network state before and after the capture",
    details: `Shows the deltas between the two snapshots first (retransmits, resets, drops), then what is unusual
(no default route, DROP rules matching the pod, conntrack near full). ${STORAGE_NOTE}`,
    examples: [['one pod\'s evidence', 'kubectl snoopy evidence web-dns --pod web-7d9f-abcde']],
  },
  {
    name: 'completion',
    usage: ['kubectl snoopy completion bash|zsh'],
    summary: 'shell completion for commands, flags, SnoopyJob names, namespaces and label keys',
    details: `Prints a completion script. Completes the kubectl-snoopy command (and "kubectl snoopy" where
kubectl's plugin completion calls kubectl_complete-snoopy, kubectl 1.26 and later).`,
    examples: [
      ['bash, for this shell', 'source <(kubectl snoopy completion bash)'],
      ['zsh, for this shell', 'source <(kubectl snoopy completion zsh)'],
    ],
  },
];

const GLOBAL_HELP = `Global options:
  --kubeconfig FILE      kubeconfig (default $KUBECONFIG or ~/.kube/config)
  --context NAME         kubeconfig context
  -n, --namespace NS     target namespace (capture), filter by target namespace (list)
  --job-namespace NS     where SnoopyJobs live (default $SNOOPY_NAMESPACE or snoopy-operator)
  -h, --help             help (kubectl snoopy COMMAND --help: that command's, with examples)
`;

export function findCommand(name: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name || (c.aliases ?? []).includes(name));
}

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `kubectl snoopy: run network tools inside pods' network namespaces and fetch what they captured.

Usage:
${COMMANDS.map((c) => c.usage.map((u) => `  ${u}`).join('\n')).join('\n')}

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

${GLOBAL_HELP}
${STORAGE_NOTE.replace(/^Storage:/, 'Storage (status, download, summary, evidence):')}
Run "kubectl snoopy COMMAND --help" for a command's own help and examples.
`;
}

export function commandHelp(c: CommandHelp): string {
  return `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.

Usage:
${c.usage.map((u) => `  ${u}`).join('\n')}
${c.aliases?.length ? `\nAliases: ${c.aliases.join(', ')}\n` : ''}
${c.details}

Examples:
${c.examples.map(([what, cmd]) => `  # ${what}\n  ${cmd}`).join('\n\n')}

${GLOBAL_HELP}`;
}
