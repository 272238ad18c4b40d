// What `list` and `status` print, from a SnoopyJob as the API returns it (pure).
import { TARGET_STATES, type SnoopyJob } from '../lib/api/schema.js';
import { age, humanBytes, table } from './output.js';
import { selectorString } from './capture-spec.js';
import type { RunView } from './run-view.js';

export function listTable(items: SnoopyJob[], wide: boolean, now = Date.now()): string {
  const header = ['NAME', 'COMMAND', 'TARGET-NS', 'SELECTOR', 'PHASE', 'TARGETS', 'BYTES', 'AGE'];
  if (wide) header.push('NAMESPACE', 'SCHEDULE', 'TIMER', 'ARGS');
  const rows = items.map((sj) => {
    const bytes = (sj.status?.targets ?? []).reduce((n, t) => n + (t.bytes ?? 0), 0);
    const row = [
      sj.metadata.name,
      sj.spec.command,
      sj.spec.targetNamespace || sj.metadata.namespace,
      selectorString(sj.spec.labelSelector ?? {}),
      sj.status?.phase ?? '-',
      String(sj.status?.targets?.length ?? sj.status?.targetCount ?? 0),
      humanBytes(bytes),
      // custom objects arrive as plain JSON: the timestamp is a string, not the typed client's Date
      age(sj.metadata.creationTimestamp as unknown as string | undefined, now),
    ];
    if (wide) row.push(sj.metadata.namespace, sj.spec.schedule ?? '-', sj.spec.timer ?? '1m', sj.spec.args ?? '');
    return row;
  });
  return table(header, rows);
}

export interface EventLine {
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  count?: number;
}

/** What status read from the run manifest: the merged view, or why it could not be read. */
export type RunManifestRead = { view: RunView } | { error: string };

const statesText = (states: Record<string, number>) =>
  TARGET_STATES.filter((k) => (states[k] ?? 0) > 0)
    .map((k) => `${states[k]} ${k}`)
    .join(', ') || '-';

/** The run's size and per-node rollups, when the status lists only some of its targets. */
function runLines(sj: SnoopyJob, run: RunManifestRead): string[] {
  const s = sj.status ?? {};
  const listed = s.targets?.length ?? 0;
  if ('error' in run) return [`Target count: ${s.targetCount} (the status lists ${listed}; run manifest not read: ${run.error})`];
  const { view } = run;
  const lines = [`Target count: ${s.targetCount} (the status lists ${listed}; run manifest: ${view.manifests} node${view.manifests === 1 ? '' : 's'})`, ''];
  const rows = view.nodes.map((n) => [n.node, String(n.targets), statesText(n.states), humanBytes(n.bytes), n.source === 'manifest' ? 'manifest' : 'status (partial)']);
  lines.push(table(['NODE', 'TARGETS', 'STATES', 'BYTES', 'FROM'], rows).trimEnd());
  return lines;
}

export function statusText(sj: SnoopyJob, wide: boolean, events: EventLine[] = [], run?: RunManifestRead): string {
  const s = sj.status ?? {};
  const lines = [
    `Name:        ${sj.metadata.namespace}/${sj.metadata.name}`,
    `Command:     ${sj.spec.command} ${sj.spec.args ?? ''}`.trimEnd(),
    `Targets:     ${selectorString(sj.spec.labelSelector ?? {})} in ${sj.spec.targetNamespace || sj.metadata.namespace}`,
    `Phase:       ${s.phase ?? '-'}`,
  ];
  if (s.captureId) lines.push(`Capture id:  ${s.captureId}`);
  if (sj.spec.schedule) lines.push(`Schedule:    ${sj.spec.schedule} (last ${s.lastScheduleTime ?? '-'}, next ${s.nextScheduleTime ?? '-'})`);
  if (run) lines.push(...runLines(sj, run));
  lines.push('');
  const targets = run && 'view' in run ? run.view.targets : (s.targets ?? []);
  const header = ['POD', 'NODE', 'STATE', 'BYTES', 'SEGMENTS', 'OBJECTS'];
  if (wide) header.push('JOB', 'START', 'END', 'DROPPED', 'EXIT', 'MESSAGE');
  const rows = targets.map((t) => {
    const row = [`${t.namespace}/${t.pod}`, t.node ?? '-', t.state, humanBytes(t.bytes), String(t.segments ?? 0), String(t.objects?.length ?? 0)];
    if (wide) row.push(t.job, t.startTime ?? '-', t.completionTime ?? '-', String(t.packetsDroppedByKernel ?? '-'), String(t.toolExitCode ?? '-'), t.message ?? '');
    return row;
  });
  lines.push(rows.length > 0 ? table(header, rows).trimEnd() : 'No targets yet.');
  if (wide) for (const t of targets) for (const o of t.objects ?? []) lines.push(`  ${o}`);
  if (s.conditions?.length) {
    lines.push('', table(['CONDITION', 'STATUS', 'REASON', 'MESSAGE'], s.conditions.map((c) => [c.type, c.status, c.reason, c.message])).trimEnd());
  }
  if (events.length > 0) {
    lines.push('', table(['TYPE', 'REASON', 'COUNT', 'MESSAGE'], events.map((e) => [e.type ?? '', e.reason ?? '', String(e.count ?? 1), e.message ?? ''])).trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

export const FINAL_PHASES = ['Completed', 'Failed', 'Invalid', 'NoTargets'] as const;

/** One progress line for --wait. */
export function progressLine(sj: SnoopyJob): string {
  const targets = sj.status?.targets ?? [];
  const states = new Map<string, number>();
  for (const t of targets) states.set(t.state, (states.get(t.state) ?? 0) + 1);
  const bytes = targets.reduce((n, t) => n + (t.bytes ?? 0), 0);
  const detail = [...states].map(([k, v]) => `${v} ${k}`).join(', ');
  return `${sj.metadata.name}: ${sj.status?.phase ?? 'Pending'}${targets.length ? ` — ${targets.length} targets (${detail}), ${humanBytes(bytes)}` : ''}`;
}

/** "1m5s" for a duration in ms, whole seconds. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s % 60}s`;
}

/**
 * "(elapsed 35s, 1m25s left of the 2m0s timer)": elapsed since the command started, what is left
 * counted from the capture's own start (status.startTime) — "starting" before it has one.
 */
export function timeLine(elapsedMs: number, timerMs: number, capturingMs: number | undefined): string {
  if (capturingMs === undefined) return `(elapsed ${shortDuration(elapsedMs)}, starting)`;
  const left = timerMs - capturingMs;
  return `(elapsed ${shortDuration(elapsedMs)}, ${left > 0 ? `${shortDuration(left)} left of the ${shortDuration(timerMs)} timer` : `timer of ${shortDuration(timerMs)} over: finishing uploads`})`;
}
