// The evidence of one run: the API facts and the first snapshot before the tool starts, the
// second just after it stopped, then one JSON object stored through the run's sink. Never fatal:
// whatever fails is said in the evidence (summary.missing) or in the run summary's evidenceError.
import { buildEvidence } from '../lib/evidence/assemble.js';
import { peerAddresses } from '../lib/evidence/names.js';
import type { PeerName, Snapshot } from '../lib/evidence/schema.js';
import type { Logger } from '../lib/log.js';
import type { ToolPolicy } from '../lib/tool-policy.js';
import { peerNames, podFacts, type PodFacts } from './evidence-api.js';
import { takeSnapshot, type SnapshotTarget } from './evidence.js';
import type { SegmentSink } from './sinks.js';

/** The API facts are waited for this long at most: the tool's start waits for them. */
export const API_FACTS_TIMEOUT_MS = 10_000;

/** An API read, or `none` with why; never longer than API_FACTS_TIMEOUT_MS. */
async function bounded<T>(what: string, read: () => Promise<T & { problems: string[] }>, none: T): Promise<T & { problems: string[] }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T & { problems: string[] }>((resolve) => {
    timer = setTimeout(() => resolve({ ...none, problems: [`${what}: no answer in ${API_FACTS_TIMEOUT_MS / 1000} s`] }), API_FACTS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([read().catch((err: unknown) => ({ ...none, problems: [`${what}: ${String(err)}`] })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** nf_conntrack_max is global to the node; podtracer's own view of it will do. */
const CONNTRACK_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';

export interface EvidenceRun {
  captureId: string;
  pod: string;
  namespace: string;
  node: string;
  /** read the pod and its Services from the API (not with --pid) */
  useApi: boolean;
  procRoot: string;
  pid: number;
  policy: ToolPolicy;
}

export class EvidenceRecorder {
  private before: Snapshot | undefined;
  private facts: { facts: PodFacts; problems: string[] } = { facts: { podIPs: [] }, problems: ['api: not read (the target was given by --pid)'] };
  private readonly target: SnapshotTarget;

  constructor(
    private readonly run: EvidenceRun,
    private readonly log: Logger,
  ) {
    this.target = { procRoot: run.procRoot, pid: run.pid, policy: run.policy, conntrackMaxPath: CONNTRACK_MAX };
  }

  /** Just before the tool starts. */
  async takeBefore(): Promise<void> {
    const [snap, facts] = await Promise.all([
      takeSnapshot(this.target),
      this.run.useApi ? bounded<{ facts: PodFacts }>('api', () => podFacts(this.run.namespace, this.run.pod), { facts: { podIPs: [] } }) : undefined,
    ]);
    this.before = snap;
    if (facts) this.facts = facts;
    this.log.info({ ms: snap.ms }, 'evidence: first snapshot taken');
  }

  /** Just after the tool stopped: the second snapshot, and the evidence stored through the sink. */
  async takeAfterAndStore(sink: SegmentSink): Promise<{ object?: string; error?: string }> {
    if (!this.before) return { error: 'evidence: no first snapshot' };
    const after = await takeSnapshot(this.target);
    this.log.info({ ms: after.ms }, 'evidence: second snapshot taken');
    const { facts, problems } = this.facts;
    const evidence = buildEvidence(
      { captureId: this.run.captureId, pod: this.run.pod, namespace: this.run.namespace, ...(this.run.node ? { node: this.run.node } : {}), ...facts },
      this.before,
      after,
      problems,
    );
    if (this.run.useApi) {
      // the peers of both snapshots, named after the tool stopped (bounded: MAX_PEERS addresses)
      const addresses = peerAddresses(evidence.podIPs, [evidence.before, evidence.after]);
      const named = await bounded<{ peers: PeerName[] }>('api peers', () => peerNames(addresses), { peers: [] });
      evidence.peers = named.peers;
      evidence.summary.missing.push(...named.problems);
    }
    const stored = await sink.storeEvidence(Buffer.from(JSON.stringify(evidence)));
    if ('error' in stored) {
      this.log.warn({ err: stored.error }, 'evidence not stored');
      return { error: stored.error };
    }
    return { object: stored.object };
  }
}
