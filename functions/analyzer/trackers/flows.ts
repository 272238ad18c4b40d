// The flow table: which flow a packet belongs to (a new one when none), later IP fragments
// attributed to their first fragment's flow, and a bounded memory: a full table folds its oldest
// flows (finished first) into the totals, and only the largest retired flows are kept for the
// summary's listing.
import { endpoint } from '../decode/address.js';
import { IpProto, type Decoded } from '../decode/decoded.js';
import { isEchoReply, isEchoRequest } from '../decode/icmp.js';
import { Flow, type FlowProtocol } from '../flow.js';
import type { FlowSummary, Summary } from '../../../lib/api/analysis-summary.js';
import { optional, round3, type IsoOf, type NamesOf } from './stats.js';

export interface FlowTableOptions {
  maxFlows: number;
  listFlows: number;
  maxTableEntries: number;
}

/** Flow end times within this many nanoseconds (26 days) of the table's base time stay exact
 *  when moved up by UNFINISHED (unfinished flows' keys, past every finished one). */
const EXACT_LIMIT = 2 ** 51;
const UNFINISHED = 2 ** 52;
/** flow objects kept for reuse */
const POOL_MAX = 4096;

/** A hash of an IPv4 TCP/UDP 5-tuple, the same in both directions, in V8's small-integer range. */
function flowHash(proto: number, a: number, aPort: number, b: number, bPort: number): number {
  const ea = Math.imul(a ^ Math.imul(aPort + 1, 0x9e3779b1), 0x85ebca6b);
  const eb = Math.imul(b ^ Math.imul(bPort + 1, 0x9e3779b1), 0x85ebca6b);
  let h = (ea ^ eb ^ proto) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

export class FlowTable {
  /** flows in the table (each has a slot: slotFlows, keys, seqs) */
  private size = 0;
  /** IPv4 TCP/UDP flows (most packets) by flowHash: an open-addressing table (linear probing)
   *  of slot + 1 (0: empty), with each slot's hash in slotHash. A lookup builds no strings and
   *  allocates nothing; a flow's entry goes with backward shifting, so no tombstones pile up. */
  private index = new Int32Array(1 << 12);
  private indexed = 0;
  private slotHash = new Int32Array(1024);
  /** the others (IPv6, ICMP, other protocols) by a string key */
  private readonly byKey = new Map<string, Flow>();
  /** first fragment's flow, so later fragments (no ports) are counted with it */
  private readonly fragmentFlows = new Map<string, Flow>();
  /** flows out of the table, kept for the listing (trimmed to the largest) */
  private readonly retired: Flow[] = [];
  /** objects of flows that are gone for good (neither in the table nor listed), to be reused */
  private readonly pool: Flow[] = [];
  /** flows trimmed from that list */
  private readonly unlisted = { flows: 0, packets: 0, bytes: 0 };
  /** after a trim, the last flow kept in the list: a retired flow that sorts after it can never
   *  be listed, and is counted as unlisted at once instead of joining the list */
  private listFloor: Flow | undefined;
  private flowCount = 0;
  private evicted = 0;
  /** Eviction keys, one slot per flow in the table: its last time relative to evictBase as an
   *  exact double, plus UNFINISHED for a flow not finished; +Infinity for a free slot. Worked out
   *  again only for the flows that had packets since (`dirty`), so an eviction reads a typed
   *  array instead of every flow object. `seqs` holds each slot's creation order (ties, and the
   *  order of the table's flows at the end). */
  private keys = new Float64Array(1024).fill(Infinity);
  private seqs = new Float64Array(1024);
  private readonly slotFlows: Array<Flow | undefined> = [];
  private readonly freeSlots: number[] = [];
  private nextSeq = 0;
  private readonly dirtyFlows: Flow[] = [];
  private evictBase: number | undefined;
  /** false once a flow's time lies too far from evictBase to be exact with UNFINISHED added:
   *  eviction then sorts the flows themselves */
  private exactKeys = true;
  /** The last TCP/UDP flow looked up: bulk transfers hit it packet after packet (data one way,
   *  ACKs the other), which spares building the key strings. */
  private recent: Flow | undefined;
  /** the flows still in the table when the analysis ended (finish) */
  private atEnd: Flow[] = [];

  constructor(
    private readonly opts: FlowTableOptions,
    /** called once for every flow leaving the table (and for those still in it at the end) */
    private readonly onFinalize: (f: Flow) => void,
  ) {}

  /** The flow of a later fragment (no L4 header), by its first fragment; undefined when unseen. */
  fragmentFlow(d: Decoded): Flow | undefined {
    const flow = this.fragmentFlows.get(`${d.src}|${d.dst}|${d.ipProto}|${d.ipId}`);
    if (flow) this.touch(flow);
    return flow;
  }

  /** The flow is about to change (a packet): its eviction key must be worked out again. */
  private touch(f: Flow): void {
    if (f.dirty) return;
    f.dirty = true;
    this.dirtyFlows.push(f);
    if (this.dirtyFlows.length > 2 * this.opts.maxFlows) this.refreshKeys();
  }

  /** Remembers a first fragment's flow for the fragments that follow. */
  rememberFragment(d: Decoded, flow: Flow): void {
    if (this.fragmentFlows.size >= this.opts.maxTableEntries) this.fragmentFlows.clear();
    flow.fragmented = true;
    this.fragmentFlows.set(`${d.src}|${d.dst}|${d.ipProto}|${d.ipId}`, flow);
  }

  /** The flow this packet belongs to, created when new. */
  flowOf(d: Decoded, ns: number): Flow {
    const r = this.recent;
    if (r !== undefined && d.hasL4 && r.ipProto === d.ipProto && r.ipVersion === d.ipVersion) {
      const same =
        d.ipVersion === 4
          ? (r.clientPort === d.srcPort && r.serverPort === d.dstPort && r.v4Client === d.srcV4 && r.v4Server === d.dstV4) ||
            (r.clientPort === d.dstPort && r.serverPort === d.srcPort && r.v4Client === d.dstV4 && r.v4Server === d.srcV4)
          : (r.clientPort === d.srcPort && r.serverPort === d.dstPort && r.clientIp === d.src && r.serverIp === d.dst) ||
            (r.clientPort === d.dstPort && r.serverPort === d.srcPort && r.clientIp === d.dst && r.serverIp === d.src);
      if (same) {
        if (!r.dirty) this.touch(r);
        return r;
      }
    }
    const flow = this.lookup(d, ns);
    this.touch(flow);
    this.recent = flow.clientPort !== undefined ? flow : undefined;
    return flow;
  }

  private lookup(d: Decoded, ns: number): Flow {
    if (d.ipVersion === 4 && d.hasL4 && (d.ipProto === IpProto.TCP || d.ipProto === IpProto.UDP)) return this.lookupV4(d, ns);
    let protocol: FlowProtocol;
    let a: string;
    let b: string;
    let clientPort: number | undefined;
    let serverPort: number | undefined;
    let echo = false;
    const ported = d.hasL4 && (d.ipProto === IpProto.TCP || d.ipProto === IpProto.UDP);
    if (ported) {
      protocol = d.ipProto === IpProto.TCP ? 'tcp' : 'udp';
      a = `${d.src}#${d.srcPort}`;
      b = `${d.dst}#${d.dstPort}`;
      clientPort = d.srcPort;
      serverPort = d.dstPort;
    } else if ((d.ipProto === IpProto.ICMP && d.ipVersion === 4) || (d.ipProto === IpProto.ICMPV6 && d.ipVersion === 6)) {
      protocol = d.ipVersion === 4 ? 'icmp' : 'icmpv6';
      echo = d.hasL4 && (isEchoRequest(d) || isEchoReply(d));
      // echo exchanges are told apart by their identifier, as ping sessions are
      a = echo ? `${d.src}#e${d.icmpId}` : d.src;
      b = echo ? `${d.dst}#e${d.icmpId}` : d.dst;
    } else {
      protocol = 'other';
      a = `${d.src}#p${d.ipProto}`;
      b = `${d.dst}#p${d.ipProto}`;
    }
    const key = `${protocol}|${a}|${b}`;
    let flow = this.byKey.get(key);
    if (flow) return flow;
    flow = this.byKey.get(`${protocol}|${b}|${a}`);
    if (flow) return flow;
    flow = this.create(key, protocol, d, clientPort, serverPort, ns, protocol === 'tcp' ? (d.tcpFlags & 0x12) === 0x12 : echo && isEchoReply(d));
    this.byKey.set(key, flow);
    return flow;
  }

  /** The same for an IPv4 TCP/UDP packet, through the hash index. */
  private lookupV4(d: Decoded, ns: number): Flow {
    const proto = d.ipProto;
    const s = d.srcV4;
    const t = d.dstV4;
    const sp = d.srcPort;
    const dp = d.dstPort;
    const h = flowHash(proto, s, sp, t, dp);
    const index = this.index;
    const mask = index.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[i]!;
      if (e === 0) break;
      if (this.slotHash[e - 1] !== h) continue;
      const f = this.slotFlows[e - 1]!;
      if (
        f.ipProto === proto &&
        ((f.v4Client === s && f.clientPort === sp && f.v4Server === t && f.serverPort === dp) ||
          (f.v4Client === t && f.clientPort === dp && f.v4Server === s && f.serverPort === sp))
      ) {
        return f;
      }
    }
    const tcp = proto === IpProto.TCP;
    const reverse = tcp && (d.tcpFlags & 0x12) === 0x12;
    // (creating may evict, which moves index entries: the place is found afterwards)
    const flow = this.create('', tcp ? 'tcp' : 'udp', d, sp, dp, ns, reverse);
    this.indexInsert(flow.slot, h);
    return flow;
  }

  private indexInsert(slot: number, h: number): void {
    if (2 * (this.indexed + 1) > this.index.length) this.growIndex();
    this.slotHash[slot] = h;
    const index = this.index;
    const mask = index.length - 1;
    let i = h & mask;
    while (index[i] !== 0) i = (i + 1) & mask;
    index[i] = slot + 1;
    this.indexed++;
  }

  private growIndex(): void {
    const old = this.index;
    const index = new Int32Array(old.length * 2);
    const mask = index.length - 1;
    for (const e of old) {
      if (e === 0) continue;
      let i = this.slotHash[e - 1]! & mask;
      while (index[i] !== 0) i = (i + 1) & mask;
      index[i] = e;
    }
    this.index = index;
  }

  /** Takes a slot's entry out of the index, moving back the entries after it that would not be
   *  found past the hole (linear probing's deletion without tombstones). */
  private indexRemove(slot: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let i = this.slotHash[slot]! & mask;
    while (index[i] !== slot + 1) {
      if (index[i] === 0) return;
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const e = index[j]!;
      if (e === 0) break;
      const home = this.slotHash[e - 1]! & mask;
      // the entry at j stays when its home lies cyclically in (i, j]
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      index[i] = e;
      i = j;
    }
    index[i] = 0;
    this.indexed--;
  }

  /** A new flow: the client is whoever sent this packet, except a SYN-ACK or an echo reply
   *  (`reverse`: the opening packet was missed or sent before the capture started). */
  private create(
    key: string,
    protocol: FlowProtocol,
    d: Decoded,
    clientPort: number | undefined,
    serverPort: number | undefined,
    ns: number,
    reverse: boolean,
  ): Flow {
    if (this.size >= this.opts.maxFlows) this.evict();
    const flow = this.pool.pop() ?? new Flow();
    if (reverse) flow.init(key, protocol, d.ipVersion, d.ipProto, d.dst, serverPort, d.src, clientPort, ns);
    else flow.init(key, protocol, d.ipVersion, d.ipProto, d.src, clientPort, d.dst, serverPort, ns);
    if (d.ipVersion === 4) {
      flow.v4Client = reverse ? d.dstV4 : d.srcV4;
      flow.v4Server = reverse ? d.srcV4 : d.dstV4;
    }
    if (protocol === 'tcp' && (d.tcpFlags & 0x02) === 0) flow.midstream = true;
    this.size++;
    const slot = this.freeSlots.pop() ?? this.slotFlows.length;
    if (slot >= this.keys.length) {
      const keys = new Float64Array(this.keys.length * 2).fill(Infinity);
      keys.set(this.keys);
      this.keys = keys;
      const seqs = new Float64Array(this.seqs.length * 2);
      seqs.set(this.seqs);
      this.seqs = seqs;
      const hashes = new Int32Array(this.slotHash.length * 2);
      hashes.set(this.slotHash);
      this.slotHash = hashes;
    }
    this.slotFlows[slot] = flow;
    this.seqs[slot] = this.nextSeq++;
    flow.slot = slot;
    return flow;
  }

  /** The flows in the table in the order they came (as their slots' creation order). */
  private tableFlows(): Flow[] {
    const live: number[] = [];
    for (let i = 0; i < this.slotFlows.length; i++) if (this.slotFlows[i] !== undefined) live.push(i);
    live.sort((a, b) => this.seqs[a]! - this.seqs[b]!);
    return live.map((i) => this.slotFlows[i]!);
  }

  /** Folds the oldest tenth of the table into totals, finished flows first (and among equals,
   *  the one that came first): the first tenth of the table stably sorted by (finished first,
   *  last packet's time). */
  private evict(): void {
    this.recent = undefined;
    this.refreshKeys();
    const n = Math.max(1, Math.floor(this.size / 10));
    const oldest = this.exactKeys ? this.oldestBySlot(n) : oldestFirst(this.tableFlows(), n);
    for (const f of oldest) {
      this.evicted++;
      this.retire(f);
    }
  }

  /** Works out the eviction keys of the flows that had packets since the last time. */
  private refreshKeys(): void {
    for (const f of this.dirtyFlows) {
      f.dirty = false;
      if (f.slot < 0) continue;
      this.evictBase ??= f.last;
      const rel = f.last - this.evictBase;
      // a double at or beyond 2^51 may be rounded
      if (!(rel > -EXACT_LIMIT && rel < EXACT_LIMIT)) this.exactKeys = false;
      this.keys[f.slot] = rel + (f.finished ? 0 : UNFINISHED);
    }
    this.dirtyFlows.length = 0;
  }

  /** The n smallest keys' flows, in key order, ties in creation order. */
  private oldestBySlot(n: number): Flow[] {
    return smallestSlots(this.keys, this.seqs, this.slotFlows.length, n).map((i) => this.slotFlows[i]!);
  }

  /** Takes a flow out of the table into the totals; it stays a candidate for the summary's list
   *  (the largest by bytes) in a list trimmed to that size, so memory stays bounded. */
  retire(f: Flow): void {
    this.size--;
    if (f.key !== '') this.byKey.delete(f.key);
    else if (f.slot >= 0) this.indexRemove(f.slot);
    if (f.slot >= 0) {
      this.keys[f.slot] = Infinity;
      this.slotFlows[f.slot] = undefined;
      this.freeSlots.push(f.slot);
      f.slot = -1;
    }
    if (this.recent === f) this.recent = undefined;
    this.finalize(f);
    const floor = this.listFloor;
    if (floor !== undefined && byBytes(f, floor) >= 0) {
      // it would sort after the flows kept at the last trim (or among equals, come later)
      this.unlist(f);
      return;
    }
    this.retired.push(f);
    if (this.retired.length >= 2 * Math.max(this.opts.listFlows, 100)) this.trimRetired();
  }

  /** A retired flow left out of the listing: counted, and its object reused (unless a later
   *  fragment may still find it). */
  private unlist(f: Flow): void {
    this.unlisted.flows++;
    this.unlisted.packets += f.packets;
    this.unlisted.bytes += f.bytes;
    if (!f.fragmented && this.pool.length < POOL_MAX) this.pool.push(f);
  }

  private finalize(f: Flow): void {
    this.flowCount++;
    this.onFinalize(f);
  }

  private trimRetired(): void {
    this.retired.sort(byBytes);
    for (const f of this.retired.splice(this.opts.listFlows)) this.unlist(f);
    this.listFloor = this.retired.length === this.opts.listFlows ? this.retired[this.retired.length - 1] : undefined;
  }

  /** Ends the analysis: every flow still in the table is finalised. */
  finish(): void {
    this.atEnd = this.tableFlows();
    for (const f of this.atEnd) this.finalize(f);
  }

  /** The listing (after `finish`): the largest flows, and what was left out. */
  summarize(namesOf: NamesOf, isoOf: IsoOf): Pick<Summary, 'flows' | 'flowCount' | 'flowsOmitted'> {
    const listed = [...this.retired, ...this.atEnd].sort(byBytes);
    const shown = listed.slice(0, this.opts.listFlows);
    const hidden = listed.slice(this.opts.listFlows);
    return {
      flows: shown.map((f) => flowSummary(f, namesOf, isoOf)),
      flowCount: this.flowCount,
      flowsOmitted: {
        flows: hidden.length + this.unlisted.flows,
        packets: hidden.reduce((n, f) => n + f.packets, 0) + this.unlisted.packets,
        bytes: hidden.reduce((n, f) => n + f.bytes, 0) + this.unlisted.bytes,
        evicted: this.evicted,
      },
    };
  }
}

function flowSummary(f: Flow, namesOf: NamesOf, isoOf: IsoOf): FlowSummary {
  const out: FlowSummary = {
    protocol: f.protocol,
    client: endpoint(f.clientIp, f.clientPort),
    server: endpoint(f.serverIp, f.serverPort),
    packets: f.packets,
    bytes: f.bytes,
    state: f.state,
    clientPackets: f.clientPackets,
    clientBytes: f.clientBytes,
    serverPackets: f.serverPackets,
    serverBytes: f.serverBytes,
    start: isoOf(f.first),
    end: isoOf(f.last),
    durationMs: round3((f.last - f.first) / 1e6),
  };
  const names = namesOf(f.serverIp);
  if (names) out.serverNames = [...names];
  if (f.protocol === 'other') out.ipProtocol = f.ipProto;
  if (f.protocol === 'tcp') {
    const rtt = f.handshakeRttNs;
    out.tcp = {
      synSent: f.synCount,
      ...optional('handshakeRttMs', rtt === undefined ? undefined : round3(rtt / 1e6)),
      handshakeCompleted: f.handshakeAcked,
      midstream: f.midstream,
      retransmissions: f.retransmissions,
      dataPackets: f.dataPackets,
      resets: f.resets,
      ...optional('rstFrom', f.firstRstFrom === '' ? undefined : f.firstRstFrom),
      finFromClient: f.cFin,
      finFromServer: f.sFin,
    };
  }
  if (f.protocol === 'icmp' || f.protocol === 'icmpv6') out.icmp = { echoRequests: f.echoRequests, echoReplies: f.echoReplies };
  return out;
}

/** The first `n` of `all` stably sorted by (finished first, then last). */
function oldestFirst(all: Flow[], n: number): Flow[] {
  const keyed = all.map((f) => ({ f, finished: f.finished }));
  keyed.sort((x, y) => (x.finished === y.finished ? (x.f.last < y.f.last ? -1 : x.f.last > y.f.last ? 1 : 0) : x.finished ? -1 : 1));
  return keyed.slice(0, n).map((k) => k.f);
}

/** The slots (below `used`) of the `n` smallest keys, ordered by key and, among equal keys, by
 *  `seqs`: the n-th key by quickselect, then only the slots at or below it are sorted. */
export function smallestSlots(keys: Float64Array, seqs: Float64Array, used: number, n: number): number[] {
  const threshold = nthSmallest(keys.slice(0, used), n - 1);
  const picked: number[] = [];
  const ties: number[] = [];
  for (let i = 0; i < used; i++) {
    const k = keys[i]!;
    if (k < threshold) picked.push(i);
    else if (k === threshold) ties.push(i);
  }
  ties.sort((a, b) => seqs[a]! - seqs[b]!);
  for (let i = 0; picked.length < n && i < ties.length; i++) picked.push(ties[i]!);
  picked.sort((a, b) => keys[a]! - keys[b]! || seqs[a]! - seqs[b]!);
  return picked;
}

/** The k-th smallest (from 0) of `a`, which it reorders: quickselect, median-of-three pivots
 *  (the keys come nearly sorted), linear on average where a sort is n log n. */
export function nthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Largest first; among equals, the earlier first. */
function byBytes(x: Flow, y: Flow): number {
  return y.bytes - x.bytes || (x.first < y.first ? -1 : x.first > y.first ? 1 : 0);
}
