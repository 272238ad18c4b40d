// The evidence object (one per target and run, stored beside the capture's segments under
// evidenceKey): two snapshots of the target's network namespace, taken just before the tool
// started and just after it stopped, and the deltas between them. One TypeBox definition gives
// the TypeScript types and the JSON schema kept in the repository (docs/evidence.schema.json,
// written by `npm run generate:crds` and compared by the evidence test).
import { Type, type Static } from '@sinclair/typebox';

export const EVIDENCE_SCHEMA_VERSION = 1;

/** How one command or file of a snapshot went. */
export const SourceStatus = Type.Union([
  Type.Literal('ok'),
  /** ran, and exited non-zero (stderr says why) */
  Type.Literal('failed'),
  /** not installed in the capture image */
  Type.Literal('missing'),
  /** refused by the tool policy */
  Type.Literal('refused'),
  /** the network namespace was gone (the target ended) */
  Type.Literal('netns-gone'),
]);

export const SourceResult = Type.Object({
  /** the command's argv, or the file's path relative to the target's /proc entry */
  source: Type.String(),
  status: SourceStatus,
  exitCode: Type.Optional(Type.Integer()),
  stderr: Type.Optional(Type.String()),
  /** parsed JSON output (ip -j, nft -j, tc -j) */
  json: Type.Optional(Type.Unknown()),
  /** text output (ss, iptables-save, conntrack, /proc files), cut at the snapshot's bound */
  text: Type.Optional(Type.String()),
  truncated: Type.Optional(Type.Boolean()),
  /** lines left out of `text`: conntrack entries naming none of the pod's IPs */
  filteredOut: Type.Optional(Type.Integer()),
  ms: Type.Number(),
});
export type SourceResult = Static<typeof SourceResult>;

const Counts = Type.Record(Type.String(), Type.Number());

export const InterfaceCounters = Type.Object({
  rxBytes: Type.Number(), rxPackets: Type.Number(), rxErrors: Type.Number(), rxDropped: Type.Number(),
  txBytes: Type.Number(), txPackets: Type.Number(), txErrors: Type.Number(), txDropped: Type.Number(),
});

export const DropRuleSchema = Type.Object({
  id: Type.String(),
  matches: Type.Array(Type.String()),
  packets: Type.Optional(Type.Number()),
  bytes: Type.Optional(Type.Number()),
});

/** What was parsed out of the sources, for the deltas and the unusual things. */
export const SnapshotCounters = Type.Object({
  /** /proc/net/snmp and /proc/net/netstat: group → counter → value */
  snmp: Type.Record(Type.String(), Counts),
  interfaces: Type.Record(Type.String(), InterfaceCounters),
  /** `conntrack -S` summed over CPUs */
  conntrack: Counts,
  conntrackEntries: Type.Optional(Type.Number()),
  conntrackMax: Type.Optional(Type.Number()),
  /** qdisc drops per "dev handle kind" */
  qdiscDrops: Counts,
  dropRules: Type.Array(DropRuleSchema),
  /** the namespace's net.* sysctls read (`sysctl`, key → value as printed) */
  sysctls: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type SnapshotCounters = Static<typeof SnapshotCounters>;

export const Snapshot = Type.Object({
  takenAt: Type.String(),
  /** how long taking it took */
  ms: Type.Number(),
  /** name → result: addresses, links, routes, rules, neighbours, sockets, nft, iptables, conntrack, … */
  sources: Type.Record(Type.String(), SourceResult),
  counters: SnapshotCounters,
});
export type Snapshot = Static<typeof Snapshot>;

export const EvidenceDeltas = Type.Object({
  tcpRetransmits: Type.Number(),
  tcpOutResets: Type.Number(),
  tcpEstabResets: Type.Number(),
  tcpListenDrops: Type.Number(),
  tcpListenOverflows: Type.Number(),
  udpInErrors: Type.Number(),
  udpRcvbufErrors: Type.Number(),
  /** interface → rx/tx drops during the capture (only interfaces with a change) */
  interfaceDrops: Type.Record(Type.String(), Type.Object({ rx: Type.Number(), tx: Type.Number() })),
  /** qdisc drops during the capture (tc netem loss shows here), only those with a change */
  qdiscDrops: Counts,
  conntrackInserts: Type.Number(),
  /** drop + early_drop + insert_failed */
  conntrackDrops: Type.Number(),
  /** DROP/REJECT rules whose counter moved: rule id → packets */
  dropRulePackets: Counts,
});
export type EvidenceDeltas = Static<typeof EvidenceDeltas>;

/** A remote address named from the API: a Service's cluster IP or a pod's IP. */
export const PeerName = Type.Object({
  ip: Type.String(),
  kind: Type.Union([Type.Literal('service'), Type.Literal('pod')]),
  namespace: Type.String(),
  name: Type.String(),
});
export type PeerName = Static<typeof PeerName>;

export const Evidence = Type.Object({
  schemaVersion: Type.Literal(EVIDENCE_SCHEMA_VERSION),
  captureId: Type.String(),
  pod: Type.String(),
  namespace: Type.String(),
  node: Type.Optional(Type.String()),
  /** from the API, when the pod was read from it */
  podIPs: Type.Array(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Services whose EndpointSlices list one of the pod's IPs */
  services: Type.Optional(Type.Array(Type.Object({ name: Type.String(), namespace: Type.String(), clusterIPs: Type.Array(Type.String()) }))),
  /** the pod's peers (remote addresses of its sockets and conntrack entries) the API could name */
  peers: Type.Optional(Type.Array(PeerName)),
  summary: Type.Object({
    /** between the two snapshots (absent when there is no second one) */
    secondsBetween: Type.Optional(Type.Number()),
    deltas: Type.Optional(EvidenceDeltas),
    unusual: Type.Array(Type.String()),
    /** sources that could not be read, with why ("ss: missing", "after: netns-gone") */
    missing: Type.Array(Type.String()),
  }),
  before: Snapshot,
  after: Type.Optional(Snapshot),
});
export type Evidence = Static<typeof Evidence>;

/** docs/evidence.schema.json: the JSON schema of the evidence object, as the generator writes it. */
export function evidenceSchemaJson(): string {
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://fennecproject.io/snoopy/evidence.schema.json',
    title: 'Snoopy evidence object (evidence.json)',
    ...(JSON.parse(JSON.stringify(Evidence)) as Record<string, unknown>),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
