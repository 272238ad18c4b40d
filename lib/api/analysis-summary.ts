// The analyzer's summary JSON (docs/design.md "Summary JSON"), documented field by field in
// functions/analyzer/README.md. Shared: the analyzer writes it, `kubectl snoopy summary` reads it.

/** A flow's protocol, as the summary names it. */
export type FlowProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'other';
/** How a flow's connection went (TCP); "n/a" for protocols without connections. */
export type FlowState = 'established' | 'refused' | 'unanswered' | 'closed' | 'reset' | 'n/a';

export const SUMMARY_VERSION = 1;

export interface FlowSummary {
  protocol: FlowProtocol;
  /** "IP:PORT" ("[v6]:PORT"); "IP" for protocols without ports */
  client: string;
  server: string;
  packets: number;
  bytes: number;
  state: FlowState;
  clientPackets: number;
  clientBytes: number;
  serverPackets: number;
  serverBytes: number;
  start: string;
  end: string;
  durationMs: number;
  /** names the capture's DNS answers gave the server's address */
  serverNames?: string[];
  /** from the target's evidence (lib/evidence/names.ts): "pod NS/NAME" or "service NS/NAME" */
  clientName?: string;
  serverName?: string;
  /** IP protocol number (set for protocol "other") */
  ipProtocol?: number;
  tcp?: {
    synSent: number;
    handshakeRttMs?: number;
    handshakeCompleted: boolean;
    midstream: boolean;
    retransmissions: number;
    dataPackets: number;
    resets: number;
    rstFrom?: 'client' | 'server';
    finFromClient: boolean;
    finFromServer: boolean;
  };
  icmp?: { echoRequests: number; echoReplies: number };
}

export interface DestinationSummary {
  /** "IP:PORT" of the server side */
  destination: string;
  names?: string[];
  attempted: number;
  established: number;
  refused: number;
  unanswered: number;
  /** established / attempted */
  successRate: number;
}

export interface TalkerSummary {
  ip: string;
  names?: string[];
  packets: number;
  bytes: number;
  sentBytes: number;
  receivedBytes: number;
}

export interface RateStats {
  count: number;
  minMs?: number;
  avgMs?: number;
  maxMs?: number;
}

export interface Summary {
  version: number;
  packets: number;
  /** frame bytes as on the wire (each packet's original length) */
  bytes: number;
  capturedBytes: number;
  start?: string;
  end?: string;
  durationSeconds: number;
  format?: 'pcap' | 'pcapng';
  truncated: boolean;
  linkTypes: Record<string, number>;
  flows: FlowSummary[];
  flowCount: number;
  /** flows not listed in `flows` (beyond the listing limit, or folded out of a full flow table) */
  flowsOmitted: { flows: number; packets: number; bytes: number; evicted: number };
  tcp: {
    flows: number;
    attempted: number;
    established: number;
    refused: number;
    unanswered: number;
    closed: number;
    reset: number;
    midstream: number;
    /** established / attempted (undefined when nothing was attempted) */
    successRate?: number;
    retransmissions: number;
    /** segments carrying payload (the sum of the flows' `dataPackets`; SYNs not included) */
    dataPackets: number;
    /** retransmitted segments / (segments carrying payload + SYNs) */
    retransmissionRate?: number;
    resets: number;
    handshakeRtt: RateStats;
  };
  udp: { flows: number; packets: number; bytes: number };
  dns: {
    queries: number;
    responses: number;
    answered: number;
    failed: number;
    unanswered: number;
    unmatchedResponses: number;
    /** (failed + unanswered) / (answered + failed + unanswered) */
    failureRate?: number;
    rcodes: Record<string, number>;
    latency: RateStats;
    names: Array<{ name: string; queries: number; answered: number; failed: number; rcodes: Record<string, number>; addresses: string[] }>;
  };
  icmp: {
    echoRequests: number;
    echoReplies: number;
    /** requests with a matching reply */
    echoAnswered: number;
    echoLost: number;
    successRate?: number;
    rtt: RateStats;
    unreachable: number;
    types: Record<string, number>;
  };
  ip: { v4Packets: number; v6Packets: number; fragments: number; laterFragments: number; unattributedFragments: number };
  nonIpPackets: number;
  /** what the non-IP frames that were read carried, by EtherType ("EtherType 0x0806 ARP", "EtherType 0x88b5": every
   *  one not decoded, with its count); frames that could not be read are under decodeProblems */
  nonIpTypes: Record<string, number>;
  /** frames whose headers could not be fully decoded (short snapshot length, garbage), by reason */
  decodeProblems: Record<string, number>;
  headline: Headline;
  /** problems with the capture itself (truncated file, corrupt record, unreadable object) */
  errors: string[];
}

export interface Headline {
  connectionSuccessRate?: number;
  destinations: DestinationSummary[];
  topTalkers: TalkerSummary[];
  dnsFailureRate?: number;
  retransmissionRate?: number;
  echoSuccessRate?: number;
}
