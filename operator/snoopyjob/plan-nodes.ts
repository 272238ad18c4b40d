// Per-node capture plans (pure; SNOOPY_CAPTURE_PODS=per-node, the default): one capture Job (or
// CronJob) per (SnoopyJob, node with targets), running `podtracer node` over the node's
// assignment Secret (lib/contracts/node-capture.ts): assignment.json, a token per target and the
// node's own token. A target appearing on a node that has a capture pod is added to that node's
// Secret (the kubelet refreshes the mounted copy, podtracer notices); a node gaining its first
// target gets a Secret and a Job. The status is bounded (node-status.ts).
import type { V1CronJob, V1Job, V1Secret } from '@kubernetes/client-node';
import type { EventInput } from '../../lib/event-sink.js';
import { EventType, snoopyJobSource, targetSubject } from '../../lib/events.js';
import type { NodeStatus, SnoopyJob, SnoopyJobStatus, TargetStatus } from '../../lib/api/schema.js';
import { Annotations, Labels, assignmentSecretName, nodeCaptureCronJobName, nodeCaptureJobName, oneShotCaptureId, targetTokenKey } from '../../lib/api/names.js';
import { errorText } from '../../lib/kube/client.js';
import { ASSIGNMENT_KEY, NODE_TOKEN_KEY, renderAssignment, type AssignedTarget } from '../../lib/contracts/node-capture.js';
import { nextScheduleTime, type ResolvedSpec } from '../../lib/api/validation.js';
import { captureSettingsFrom, renderNodeCaptureCronJob, renderNodeCaptureJob, type CaptureTarget, type NodeCaptureRequest } from '../render/capture.js';
import { cronTargetToken, jobClaim, nodeToken, oneShotTargetToken, tokenExpiry } from '../tokens.js';
import { isTerminal, setCondition } from './status.js';
import { byText, capturePodsByCronJob, capturePodsByJob, jobLabelOf, lastScheduleOf, owned, runRequest, scheduledTimeOf, selectorText, targetOf } from './observed.js';
import { addCounts, assignmentOf, assignmentSecrets, boundedStatus, isJobFinished, nodeOutcome, targetId, unionTargets, type NodeOutcome } from './node-status.js';
import { EXPECTATION_MS } from './plan-oneshot.js';
import { asError, assignmentWrite, withStatus } from './writes.js';
import type { KubeEvent, RunPlanInput, SecretWrite, Settlement, SnoopyJobObservation, WritePlan, WriteStep } from './plan.js';

/** The target pods by node, each node's in namespace/pod order. */
function targetsByNode(pods: RunPlanInput['pods'], r: ResolvedSpec): Map<string, CaptureTarget[]> {
  const out = new Map<string, CaptureTarget[]>();
  for (const pod of pods) {
    const t = targetOf(pod, r);
    if (!t) continue;
    const list = out.get(t.node) ?? [];
    list.push(t);
    out.set(t.node, list);
  }
  return out;
}

const assigned = (t: CaptureTarget): AssignedTarget => ({ namespace: t.namespace, pod: t.pod, uid: t.uid, container: t.container, tokenKey: targetTokenKey({ namespace: t.namespace, name: t.pod }) });
const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** What every node's workload shares, and the node's own part. */
function nodeRequest(sj: SnoopyJob, r: ResolvedSpec, captureId?: string): (node: string, secret: string, targets: number) => NodeCaptureRequest {
  const shared = runRequest(sj, r, captureId);
  return (node, assignmentSecret, targets) => ({ ...shared, node, assignmentSecret, targets });
}

/** Each node's assignment as the Secrets show it, with what this process wrote since (never fewer targets). */
function knownAssignments(o: SnoopyJobObservation, uid: string): Map<string, { exists: boolean; targets: AssignedTarget[]; secret?: V1Secret }> {
  const out = new Map<string, { exists: boolean; targets: AssignedTarget[]; secret?: V1Secret }>();
  for (const [name, secret] of assignmentSecrets(o.secrets ?? [], uid)) out.set(name, { exists: true, targets: assignmentOf(secret)?.targets ?? [], secret });
  for (const [name, targets] of o.assigned ?? []) {
    const have = out.get(name);
    out.set(name, { exists: true, targets: unionTargets(have?.targets ?? [], targets), ...(have?.secret ? { secret: have.secret } : {}) });
  }
  return out;
}

export function planNodeOneShot({ o, ctx, r, pods, base, valid, gen, nowIso }: RunPlanInput): WritePlan {
  const { sj } = o;
  const { config, now } = ctx;
  const uid = sj.metadata.uid!;
  const ref = { name: sj.metadata.name, uid };
  const captureId = base.captureId ?? oneShotCaptureId({ uid });
  const steps: WriteStep[] = [];
  const cronJobs = [...owned(o.cronJobs, uid).keys()];
  if (cronJobs.length > 0) steps.push({ kind: 'deleteCronJobs', names: cronJobs }); // a schedule that was removed

  const jobs = new Map([...owned(o.jobs, uid)].filter(([, j]) => !scheduledTimeOf(j) && j.metadata?.labels?.[Labels.node] !== undefined));
  const known = knownAssignments(o, uid);
  const finished = base.phase === 'Completed' || base.phase === 'Failed';
  const recordedNodes = new Map((base.nodes ?? []).map((n) => [n.node, n]));
  const wasExpected = (name: string) => {
    const at = o.expected.get(name);
    return at !== undefined && now.getTime() - at <= EXPECTATION_MS;
  };
  const lifetime = r.timerSeconds + config.graceSeconds;
  const nowSec = Math.floor(now.getTime() / 1000);
  const claim = jobClaim(sj);
  const request = nodeRequest(sj, r, captureId);
  const settings = captureSettingsFrom(config);

  /** node → its assignment after this plan's writes, and whether those writes are new */
  const plan = new Map<string, { secret: string; job: string; targets: AssignedTarget[]; joined: number; write?: SecretWrite; create?: V1Job }>();
  for (const [name, k] of known) {
    const node = k.secret?.metadata?.annotations?.[Annotations.node];
    if (node) plan.set(node, { secret: name, job: nodeCaptureJobName(ref, node), targets: k.targets, joined: 0 });
  }
  if (!finished) {
    for (const [node, targets] of targetsByNode(pods, r)) {
      const secret = assignmentSecretName(ref, node);
      const jobName = nodeCaptureJobName(ref, node);
      const have = known.get(secret);
      const ids = new Set((have?.targets ?? []).map(targetId));
      const add = targets.filter((t) => !ids.has(targetId(t)));
      const job = jobs.get(jobName);
      // a node whose capture pod already ended cannot take a target any more
      if (job && isJobFinished(job)) continue;
      const all = [...(have?.targets ?? []), ...add.map(assigned)];
      const entry: { secret: string; job: string; targets: AssignedTarget[]; joined: number; write?: SecretWrite; create?: V1Job } = { secret, job: jobName, targets: all, joined: have ? add.length : 0 };
      if (add.length > 0) {
        const data: Record<string, string> = { [ASSIGNMENT_KEY]: renderAssignment({ node, captureId, targets: all }) };
        for (const t of add) data[targetTokenKey({ namespace: t.namespace, name: t.pod })] = oneShotTargetToken(ctx.tokenKey, { captureId, namespace: t.namespace, pod: t.pod, job: claim }, lifetime, nowSec).token;
        if (!have) data[NODE_TOKEN_KEY] = nodeToken(ctx.tokenKey, { cid: captureId, node, job: claim }, lifetime, nowSec).token;
        entry.write = assignmentWrite(sj, config.namespace, secret, node, have?.exists ?? false, data, []);
      }
      if (!job && !wasExpected(jobName) && !recordedNodes.has(node)) {
        entry.create = renderNodeCaptureJob(jobName, request(node, secret, all.length), settings);
        entry.joined = 0;
      }
      plan.set(node, entry);
    }
  }
  const writes = [...plan.values()].flatMap((p) => (p.write ? [p.write] : []));
  const creates = [...plan.values()].flatMap((p) => (p.create ? [p.create] : []));
  if (writes.length > 0) steps.push({ kind: 'secrets', writes });
  if (creates.length > 0) {
    const needs = Object.fromEntries([...plan.values()].flatMap((p) => (p.create && p.write ? [[p.job, p.secret]] : [])));
    steps.push({ kind: 'createJobs', jobs: creates, needs });
  }

  return {
    kind: 'write',
    steps,
    settle(outcome): Settlement {
      if (outcome.deleteError !== undefined) return { events: [], cloudEvents: [], expect: [], error: asError(outcome.deleteError) };
      const events: KubeEvent[] = [];
      const cloudEvents: EventInput[] = [];
      let firstError: unknown;
      let created = 0;
      let joinedTargets = 0;
      let joinedNodes = 0;
      const made = new Set<string>();
      const written: Array<[string, AssignedTarget[]]> = [];
      const outcomes: NodeOutcome[] = [];
      const capturePods = capturePodsByJob(o.capturePods, uid);
      const recorded = new Map((base.targets ?? []).map((t) => [targetId(t), t]));
      for (const [node, p] of plan) {
        const secretFailed = p.write !== undefined && outcome.failed.has(p.secret);
        if (secretFailed) firstError ??= outcome.failed.get(p.secret);
        if (p.create && outcome.failed.has(p.job)) firstError ??= outcome.failed.get(p.job);
        const jobMade = p.create !== undefined && !outcome.failed.has(p.job);
        if (jobMade) made.add(p.job);
        if (p.create && outcome.created.has(p.job)) created++;
        // the targets the node's Secret holds now
        const targets = secretFailed ? (known.get(p.secret)?.targets ?? []) : p.targets;
        if (p.write && !secretFailed) {
          written.push([p.secret, p.targets]);
          if (p.joined > 0) {
            joinedTargets += p.joined;
            joinedNodes++;
          }
        }
        const job = jobs.get(p.job);
        if (!job && !jobMade && !wasExpected(p.job) && !recordedNodes.has(node) && targets.length === 0) continue;
        if (!job && !jobMade && !wasExpected(p.job) && !recordedNodes.has(node) && secretFailed) continue;
        const pod = capturePods.get(p.job);
        outcomes.push(nodeOutcome({ node, jobName: p.job, captureId, targets, ...(job ? { job } : {}), ...(pod ? { pod } : {}), expected: jobMade || wasExpected(p.job), recorded, ...(recordedNodes.get(node) ? { recordedNode: recordedNodes.get(node)! } : {}) }));
      }
      if (created > 0) events.push({ type: 'Normal', reason: 'JobsCreated', message: `created ${created} capture Job(s) in ${config.namespace}` });
      if (joinedTargets > 0) events.push({ type: 'Normal', reason: 'TargetsJoined', message: `added ${joinedTargets} target(s) to the running capture pod(s) of ${joinedNodes} node(s)` });
      if (firstError !== undefined) events.push({ type: 'Warning', reason: 'CreateFailed', message: `could not create a node's capture Job or assignment: ${errorText(firstError)}` });

      const status = valid();
      status.captureId = captureId;
      const all = outcomes.flatMap((x) => x.targets);
      Object.assign(status, runStatus(all, outcomes.map((x) => x.node), config.statusTargets));
      status.cronJobList = status.nodes!.map((n) => n.job);
      const total = all.length;
      const states = status.targetStates!;
      if (total === 0) {
        status.phase = 'NoTargets';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoTargets', message: `no running pod in namespace "${r.targetNamespace}" matches ${selectorText(r.selector)}`, ...gen }, nowIso);
      } else {
        const one = total === 1 ? all[0]! : undefined;
        const extensions = { snoopyjob: sj.metadata.name, snoopyns: sj.metadata.namespace, targetns: r.targetNamespace, ...(one ? { targetpod: one.pod, node: one.node } : {}) };
        const subject = one ? targetSubject(one.namespace, one.pod) : undefined;
        const source = snoopyJobSource(sj.metadata.namespace, sj.metadata.name);
        const listed = status.targets!;
        if (!status.startTime) {
          status.startTime = nowIso;
          cloudEvents.push({
            type: EventType.JobStarted,
            source,
            ...(subject ? { subject } : {}),
            data: { captureId, command: r.command, args: r.argv, timer: r.timer, targetCount: total, nodeCount: status.nodeCount, targets: listed.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job })) },
            extensions,
          });
          events.push({ type: 'Normal', reason: 'Started', message: `capture ${captureId} started on ${total} target(s) on ${status.nodeCount} node(s)` });
        }
        if (finished) {
          // the run is over: keep its phase, follow the Jobs' final details only
        } else if (all.every((t) => isTerminal(t.state))) {
          const failedCount = total - (states.Succeeded ?? 0);
          const failed = listed.filter((t) => t.state !== 'Succeeded');
          status.phase = failedCount > 0 ? 'Failed' : 'Completed';
          status.completionTime = nowIso;
          const msg = failedCount > 0 ? `${failedCount} of ${total} target(s) failed: ${failed.slice(0, 5).map((t) => `${t.pod} (${t.message ?? t.state})`).join(', ')}` : `all ${total} target(s) succeeded`;
          status.conditions = setCondition(status.conditions, { type: 'Completed', status: 'True', reason: failedCount > 0 ? 'Failed' : 'Succeeded', message: msg, ...gen }, nowIso);
          status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'RunFinished', message: msg, ...gen }, nowIso);
          cloudEvents.push({
            type: failedCount > 0 ? EventType.JobFailed : EventType.JobCompleted,
            source,
            ...(subject ? { subject } : {}),
            data: {
              captureId,
              succeeded: total - failedCount,
              failed: failedCount,
              targetCount: total,
              nodes: status.nodes,
              targets: listed.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, state: t.state, ...(t.stopReason ? { stopReason: t.stopReason } : {}), bytes: t.bytes, segments: t.segments, message: t.message })),
            },
            extensions,
          });
          events.push({ type: failedCount > 0 ? 'Warning' : 'Normal', reason: failedCount > 0 ? 'Failed' : 'Completed', message: msg });
        } else {
          status.phase = 'Running';
          status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'Running', message: `${status.nodeCount} capture Job(s) for ${total} target(s), ${states.Running ?? 0} running`, ...gen }, nowIso);
          status.conditions = setCondition(status.conditions, { type: 'Completed', status: 'False', reason: 'Running', message: 'the run is in progress', ...gen }, nowIso);
        }
      }
      return {
        events,
        cloudEvents,
        expect: [...made],
        ...(created > 0 ? { created: { kind: 'Job' as const, count: created } } : {}),
        ...(written.length > 0 ? { assigned: written } : {}),
        ...withStatus(base, status),
        ...(firstError !== undefined ? { error: asError(firstError) } : {}),
      };
    },
  };
}

/** The bounded status fields of a run from every target and node (node-status.ts boundedStatus). */
function runStatus(all: TargetStatus[], nodes: NodeStatus[], limit: number): Partial<SnoopyJobStatus> {
  const b = boundedStatus(all, nodes, limit);
  return { targetCount: all.length, ...b };
}

export function planNodeScheduled({ o, ctx, r, pods, base, valid, gen, nowIso }: RunPlanInput): WritePlan {
  const { sj } = o;
  const { config, now } = ctx;
  const uid = sj.metadata.uid!;
  const ref = { name: sj.metadata.name, uid };
  const nowSec = Math.floor(now.getTime() / 1000);
  const existing = owned(o.cronJobs, uid);
  const known = knownAssignments(o, uid);
  const lifetime = config.cronTokenLifetimeSeconds;
  const claim = jobClaim(sj);
  const request = nodeRequest(sj, r);
  const settings = captureSettingsFrom(config);

  const desired = new Map<string, { node: string; secret: string; targets: AssignedTarget[]; cronJob: V1CronJob }>();
  const writes: SecretWrite[] = [];
  let renewAt = Infinity;
  for (const [node, targets] of targetsByNode(pods, r)) {
    const name = nodeCaptureCronJobName(ref, node);
    const secret = assignmentSecretName(ref, node);
    const list = targets.map(assigned);
    desired.set(name, { node, secret, targets: list, cronJob: renderNodeCaptureCronJob(name, { ...request(node, secret, list.length), schedule: r.schedule!, suspend: r.suspend }, settings) });
    // a scheduled node's assignment is its targets now: each run reads it when it starts
    const have = known.get(secret)?.secret;
    const add: Record<string, string> = {};
    const text = renderAssignment({ node, targets: list });
    if (!have?.data?.[ASSIGNMENT_KEY] || b64(have.data[ASSIGNMENT_KEY]) !== text) add[ASSIGNMENT_KEY] = text;
    const renew = (key: string, issue: () => string) => {
      const current = have?.data?.[key] ? b64(have.data[key]) : undefined;
      const exp = current ? tokenExpiry(current) : undefined;
      if (exp === undefined || exp - nowSec < lifetime / 3) {
        add[key] = issue();
        renewAt = Math.min(renewAt, nowSec + lifetime - lifetime / 3);
      } else renewAt = Math.min(renewAt, exp - lifetime / 3);
    };
    for (const t of targets) renew(targetTokenKey({ namespace: t.namespace, name: t.pod }), () => cronTargetToken(ctx.tokenKey, { cronJobName: name, namespace: t.namespace, pod: t.pod, job: claim }, lifetime, nowSec).token);
    renew(NODE_TOKEN_KEY, () => nodeToken(ctx.tokenKey, { cid: `${name}-*`, node, job: claim }, lifetime, nowSec).token);
    const keep = new Set([ASSIGNMENT_KEY, NODE_TOKEN_KEY, ...list.map((t) => t.tokenKey)]);
    const remove = Object.keys(have?.data ?? {}).filter((k) => !keep.has(k));
    if (Object.keys(add).length > 0 || remove.length > 0) writes.push(assignmentWrite(sj, config.namespace, secret, node, have !== undefined, add, remove));
  }

  const steps: WriteStep[] = [];
  if (writes.length > 0) steps.push({ kind: 'secrets', writes });
  const cronWrites: ({ create: V1CronJob } | { name: string; patch: Record<string, unknown> })[] = [];
  const patched: string[] = [];
  for (const [name, d] of desired) {
    const have = existing.get(name);
    if (!have) cronWrites.push({ create: d.cronJob });
    else if (have.metadata?.annotations?.[Annotations.templateHash] !== d.cronJob.metadata!.annotations![Annotations.templateHash]) {
      cronWrites.push({ name, patch: { metadata: { labels: d.cronJob.metadata!.labels, annotations: d.cronJob.metadata!.annotations }, spec: d.cronJob.spec } });
      patched.push(name);
    }
  }
  if (cronWrites.length > 0) steps.push({ kind: 'cronJobs', writes: cronWrites });
  const gone = [...existing.keys()].filter((n) => !desired.has(n));
  if (gone.length > 0) steps.push({ kind: 'deleteCronJobs', names: gone });
  const wanted = new Set([...desired.values()].map((d) => d.secret));
  const goneSecrets = [...known.keys()].filter((n) => !wanted.has(n) && known.get(n)!.secret !== undefined);
  if (goneSecrets.length > 0) steps.push({ kind: 'deleteSecrets', names: goneSecrets });

  return {
    kind: 'write',
    steps,
    settle(outcome) {
      const events: KubeEvent[] = [];
      for (const name of patched) if (outcome.updated.has(name)) events.push({ type: 'Normal', reason: 'CronJobUpdated', message: `updated CronJob ${name} for node ${desired.get(name)!.node}` });
      if (outcome.deleteError !== undefined) return { events, cloudEvents: [], expect: [], error: asError(outcome.deleteError) };
      let firstError: unknown;
      let created = 0;
      for (const w of writes) if (outcome.failed.has(w.name)) firstError ??= outcome.failed.get(w.name);
      for (const name of desired.keys()) {
        if (outcome.failed.has(name)) firstError ??= outcome.failed.get(name);
        if (outcome.created.has(name)) created++;
      }
      if (created > 0) events.push({ type: 'Normal', reason: 'CronJobsCreated', message: `created ${created} capture CronJob(s) in ${config.namespace}` });
      if (gone.length > 0) events.push({ type: 'Normal', reason: 'CronJobsRemoved', message: `removed ${gone.length} CronJob(s) of nodes left without targets` });

      const status = valid();
      const finishedPods = capturePodsByCronJob(o.capturePods, uid);
      const outcomes: NodeOutcome[] = [];
      let lastSchedule: string | undefined;
      for (const [name, d] of desired) {
        const cj = existing.get(name);
        const lastIso = lastScheduleOf(cj);
        if (lastIso && (!lastSchedule || lastIso > lastSchedule)) lastSchedule = lastIso;
        const active = (cj?.status?.active?.length ?? 0) > 0;
        // each target shows its latest finished run's figures, under that run's capture id
        const runPod = finishedPods.get(name);
        const runJob = runPod ? jobLabelOf(runPod) : undefined;
        const latest = runPod && runJob ? nodeOutcome({ node: d.node, jobName: name, captureId: runJob, targets: d.targets, job: finishedJob(runPod.status?.phase), pod: runPod, expected: false, recorded: new Map() }) : undefined;
        const targets = d.targets.map((t, i) => {
          const { state: _s, job: _j, ...details } = latest?.targets[i] ?? { state: 'Scheduled', job: name };
          void _s;
          void _j;
          return { ...details, pod: t.pod, namespace: t.namespace, podUID: t.uid, node: d.node, job: name, state: active ? 'Running' : 'Scheduled' } as TargetStatus;
        });
        outcomes.push({ node: { node: d.node, job: name, state: active ? 'Running' : 'Scheduled', targets: targets.length, counts: { [active ? 'Running' : 'Scheduled']: targets.length } }, targets });
      }
      const all = outcomes.flatMap((x) => x.targets);
      Object.assign(status, runStatus(all, outcomes.map((x) => x.node), config.statusTargets));
      status.cronJobList = status.nodes!.map((n) => n.job);
      if (lastSchedule) status.lastScheduleTime = lastSchedule;
      const cloudEvents: EventInput[] = [];
      followLatestNodeRun(o, sj, r, status, desired, now, cloudEvents, events);
      const next = r.suspend ? undefined : nextScheduleTime(r.schedule!, now);
      if (next) status.nextScheduleTime = next;
      else delete status.nextScheduleTime;
      delete status.captureId;
      if (all.length === 0) {
        status.phase = 'NoTargets';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoTargets', message: `no running pod in namespace "${r.targetNamespace}" matches ${selectorText(r.selector)}`, ...gen }, nowIso);
      } else {
        status.phase = 'Scheduled';
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: r.suspend ? 'Suspended' : 'Scheduled', message: `${desired.size} CronJob(s) for ${all.length} target(s) on "${r.schedule}"${r.suspend ? ' (suspended)' : ''}`, ...gen }, nowIso);
      }
      const untilNext = next ? Date.parse(next) - now.getTime() + 2_000 : Infinity;
      const untilRenew = Number.isFinite(renewAt) ? renewAt * 1000 - now.getTime() : Infinity;
      const wait = Math.min(untilNext, untilRenew, 3_600_000);
      const written = writes.filter((w) => !outcome.failed.has(w.name)).map((w): [string, AssignedTarget[]] => [w.name, [...desired.values()].find((d) => d.secret === w.name)!.targets]);
      return {
        events,
        cloudEvents,
        expect: [],
        ...(created > 0 ? { created: { kind: 'CronJob' as const, count: created } } : {}),
        ...(written.length > 0 || goneSecrets.length > 0 ? { assigned: [...written, ...goneSecrets.map((n): [string, null] => [n, null])] } : {}),
        ...withStatus(base, status),
        ...(firstError !== undefined ? { error: asError(firstError) } : { requeueAfterMs: Math.max(1_000, wait) }),
      };
    },
  };
}

/** A finished run pod's Job as far as the status needs it (the pod's phase says how it ended). */
function finishedJob(phase: string | undefined): V1Job {
  return { status: { conditions: [{ type: phase === 'Failed' ? 'Failed' : 'Complete', status: 'True' }] } };
}

/**
 * The latest scheduled run: the node Jobs the CronJobs made for one scheduled time. Announces its
 * start once its Jobs appear and its end once all of them finished (status.lastRun remembers what
 * was announced); succeeded/failed count targets, from the node pods' reports.
 */
function followLatestNodeRun(o: SnoopyJobObservation, sj: SnoopyJob, r: ResolvedSpec, status: SnoopyJobStatus, desired: ReadonlyMap<string, { node: string; targets: AssignedTarget[] }>, now: Date, cloudEvents: EventInput[], events: KubeEvent[]): void {
  const runs = new Map<string, V1Job[]>();
  for (const job of owned(o.jobs, sj.metadata.uid!).values()) {
    const at = scheduledTimeOf(job);
    if (!at) continue;
    runs.set(at, [...(runs.get(at) ?? []), job]);
  }
  const latest = [...runs.keys()].sort().pop();
  if (!latest) return;
  const jobs = runs.get(latest)!;
  const capturePods = capturePodsByJob(o.capturePods, sj.metadata.uid!);
  const outcomes = jobs.map((j) => {
    const cron = j.metadata?.ownerReferences?.find((x) => x.kind === 'CronJob')?.name ?? j.metadata!.name!.replace(/-\d+$/, '');
    const d = desired.get(cron);
    const node = d?.node ?? j.metadata?.annotations?.[Annotations.node] ?? '';
    const pod = capturePods.get(j.metadata!.name!);
    return nodeOutcome({ node, jobName: j.metadata!.name!, captureId: j.metadata!.name!, targets: d?.targets ?? [], job: j, ...(pod ? { pod } : {}), expected: true, recorded: new Map() });
  });
  const counts: Record<string, number> = {};
  for (const x of outcomes) addCounts(counts, x.node.counts ?? {});
  const succeeded = counts.Succeeded ?? 0;
  const failed = (counts.Failed ?? 0) + (counts.Lost ?? 0);
  const nodeFailed = outcomes.some((x) => x.node.state === 'Failed');
  const source = snoopyJobSource(sj.metadata.namespace, sj.metadata.name);
  const all = outcomes.flatMap((x) => x.targets).sort((a, b) => byText(a.namespace, b.namespace) || byText(a.pod, b.pod));
  const one = all.length === 1 ? all[0]! : undefined;
  const extensions = { snoopyjob: sj.metadata.name, snoopyns: sj.metadata.namespace, targetns: r.targetNamespace, ...(one ? { targetpod: one.pod, node: one.node } : {}) };
  const listed = all.slice(0, 100);
  let run = status.lastRun;
  if (!run || run.scheduleTime < latest) {
    run = { scheduleTime: latest, state: 'Running', jobs: jobs.length, succeeded, failed };
    cloudEvents.push({ type: EventType.JobStarted, source, data: { scheduleTime: latest, targetCount: all.length, targets: listed.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, captureId: t.job })) }, extensions });
    events.push({ type: 'Normal', reason: 'RunStarted', message: `scheduled run of ${latest} started on ${jobs.length} node(s)` });
  }
  if (run.scheduleTime !== latest) return;
  run = { ...run, jobs: jobs.length, succeeded, failed };
  const complete = jobs.length >= desired.size || now.getTime() - Date.parse(latest) > 300_000;
  if (run.state === 'Running' && complete && outcomes.every((x) => isTerminal(x.node.state))) {
    const bad = failed > 0 || nodeFailed;
    run.state = bad ? 'Failed' : 'Succeeded';
    cloudEvents.push({
      type: bad ? EventType.JobFailed : EventType.JobCompleted,
      source,
      data: { scheduleTime: latest, succeeded, failed, targetCount: all.length, nodes: outcomes.map((x) => x.node), targets: listed.map((t) => ({ pod: t.pod, namespace: t.namespace, node: t.node, job: t.job, captureId: t.job, state: t.state, bytes: t.bytes, segments: t.segments, message: t.message })) },
      extensions,
    });
    events.push({ type: bad ? 'Warning' : 'Normal', reason: bad ? 'RunFailed' : 'RunCompleted', message: `scheduled run of ${latest}: ${succeeded} target(s) succeeded, ${failed} failed on ${jobs.length} node(s)` });
  }
  status.lastRun = run;
}
