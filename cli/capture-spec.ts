// Flags → SnoopyJob, as a pure function, checked by the operator's own validation (schema and
// semantics: tool policy, timer, schedule, selector, namespaces), so what --dry-run prints is
// what the operator would accept.
import { randomBytes } from 'node:crypto';
import { quote } from 'shell-quote';
import { DEFAULT_TOOL_POLICY, tokenizeArgs, type ToolPolicy } from '../lib/tool-policy.js';
import { SNOOPYJOB, type SnoopyJob, type SnoopyJobSpec } from '../lib/api/schema.js';
import { validateSnoopyJob } from '../lib/api/validation.js';
import { CliError } from './errors.js';

export interface CaptureOptions {
  /** where the SnoopyJob is created */
  jobNamespace: string;
  operatorNamespace: string;
  targetNamespace: string;
  selector: string;
  name?: string;
  container?: string;
  timer?: string;
  schedule?: string;
  filter?: string;
  maxBytes?: string;
  /** spec.evidence; unset: the operator's default (on for tcpdump) */
  evidence?: boolean;
  endpoint?: string;
  collector?: string;
  /** TOOL ARGS… after `--`; empty: tcpdump writing pcap to stdout */
  tool: string[];
  policy?: ToolPolicy;
}

/** "a=b,c=d" (equality only: SnoopyJob selectors are label maps). */
export function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([^=!\s]+)\s*==?\s*([^=!\s]*)$/.exec(part);
    if (!m) throw new CliError(`-l "${text}": only key=value pairs are supported (a SnoopyJob selects by label equality)`);
    out[m[1]!] = m[2]!;
  }
  if (Object.keys(out).length === 0) throw new CliError('-l is required: a label selector for the target pods, e.g. -l app=web');
  return out;
}

export function selectorString(selector: Record<string, string>): string {
  return Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
}

/** command + args string for the spec; the default is tcpdump on every interface, pcap to stdout. */
export function toolInvocation(tool: string[], filter: string | undefined): { command: string; args: string } {
  const [command = 'tcpdump', ...rest] = tool;
  let argv = tool.length === 0 ? ['-i', 'any', '-U', '-w', '-'] : rest;
  if (filter !== undefined && filter.trim() !== '') {
    if (command !== 'tcpdump') throw new CliError(`--filter is a tcpdump capture filter; with ${command}, put its arguments after --`);
    argv = [...argv, ...tokenizeArgs(filter)];
  }
  const args = quote(argv);
  // the operator tokenises args again: the round trip must give back the same words
  if (JSON.stringify(tokenizeArgs(args)) !== JSON.stringify(argv)) throw new CliError(`arguments ${JSON.stringify(argv)} cannot be written as a SnoopyJob args string`);
  return { command, args };
}

export function generatedName(command: string): string {
  return `${command.replace(/[^a-z0-9-]/g, '').slice(0, 40) || 'capture'}-${randomBytes(3).toString('hex')}`;
}

export function parseCollector(text: string): { dataServiceIP: string; dataServicePort: string } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (!m) throw new CliError(`--collector "${text}" is not HOST:PORT`);
  return { dataServiceIP: m[1]!.replace(/^\[|\]$/g, ''), dataServicePort: m[2]! };
}

export function buildSnoopyJob(o: CaptureOptions): SnoopyJob {
  if (o.endpoint && o.collector) throw new CliError('set one of --endpoint and --collector, not both');
  if (!o.endpoint && !o.collector) throw new CliError('no collector: set --endpoint NAME (a SnoopyDataEndpoint) or --collector HOST:PORT');
  const { command, args } = toolInvocation(o.tool, o.filter);
  let maxBytes: number | undefined;
  if (o.maxBytes !== undefined) {
    maxBytes = Number(o.maxBytes);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new CliError(`--max-bytes "${o.maxBytes}" is not a positive whole number of bytes`);
  }
  const spec: SnoopyJobSpec = {
    command,
    ...(args !== '' ? { args } : {}),
    labelSelector: parseSelector(o.selector),
    targetNamespace: o.targetNamespace,
    ...(o.timer !== undefined ? { timer: o.timer } : {}),
    ...(o.schedule !== undefined ? { schedule: o.schedule } : {}),
    ...(o.container !== undefined ? { container: o.container } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    ...(o.evidence !== undefined ? { evidence: o.evidence } : {}),
    ...(o.endpoint ? { dataEndpointRef: { name: o.endpoint } } : parseCollector(o.collector!)),
  };
  const sj: SnoopyJob = {
    apiVersion: 'job.fennecproject.io/v1alpha1',
    kind: SNOOPYJOB.kind as 'SnoopyJob',
    metadata: { name: o.name ?? generatedName(command), namespace: o.jobNamespace, labels: { 'app.kubernetes.io/created-by': 'kubectl-snoopy' } },
    spec,
  };
  // The endpoint's existence is checked against the cluster by the caller; here only its form.
  const v = validateSnoopyJob(sj, {
    operatorNamespace: o.operatorNamespace,
    allowCrossNamespace: false,
    policy: o.policy ?? DEFAULT_TOOL_POLICY,
    ...(o.endpoint ? { endpoint: { found: true } } : {}),
  });
  if (!v.ok) throw new CliError(`invalid capture: ${v.problems.map((p) => p.message).join('; ')}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(sj.metadata.name) || sj.metadata.name.length > 63) {
    throw new CliError(`--name "${sj.metadata.name}" is not a valid name (lowercase letters, digits and '-', at most 63)`);
  }
  return sj;
}
