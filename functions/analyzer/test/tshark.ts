// tshark's view of a capture's conversations (`tshark -q -z conv,tcp -z conv,udp -r FILE`), parsed
// from its table, to check the analyzer's flows against.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Conversation {
  protocol: 'tcp' | 'udp';
  /** "ip:port" as tshark prints them: A is the first column */
  a: string;
  b: string;
  /** frames and bytes B→A ("<-") and A→B ("->") */
  framesToA: number;
  bytesToA: Size;
  framesToB: number;
  bytesToB: Size;
  frames: number;
  bytes: Size;
}

/** tshark prints sizes as "617 bytes" or, rounded, "20 kB" / "1 MB". */
export interface Size {
  value: number;
  unit: string;
}

export async function tsharkConversations(file: string): Promise<Conversation[]> {
  const { stdout } = await run('tshark', ['-q', '-z', 'conv,tcp', '-z', 'conv,udp', '-r', file], { maxBuffer: 64 << 20 });
  return parseConversations(stdout);
}

export function parseConversations(text: string): Conversation[] {
  const out: Conversation[] = [];
  let protocol: 'tcp' | 'udp' | undefined;
  const size = String.raw`(\d+)\s+(bytes|kB|MB|GB)`;
  const row = new RegExp(String.raw`^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+${size}\s+(\d+)\s+${size}\s+(\d+)\s+${size}\s`);
  for (const line of text.split('\n')) {
    if (/^TCP Conversations/.test(line)) protocol = 'tcp';
    else if (/^UDP Conversations/.test(line)) protocol = 'udp';
    const m = row.exec(line);
    if (!m || !protocol) continue;
    out.push({
      protocol,
      a: m[1]!,
      b: m[2]!,
      framesToA: Number(m[3]),
      bytesToA: { value: Number(m[4]), unit: m[5]! },
      framesToB: Number(m[6]),
      bytesToB: { value: Number(m[7]), unit: m[8]! },
      frames: Number(m[9]),
      bytes: { value: Number(m[10]), unit: m[11]! },
    });
  }
  return out;
}

const UNIT: Record<string, number> = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/** Whether an exact byte count agrees with tshark's (possibly rounded) figure. */
export function sizeAgrees(exact: number, s: Size): boolean {
  if (s.unit === 'bytes') return exact === s.value;
  const scaled = exact / UNIT[s.unit]!;
  return Math.abs(scaled - s.value) <= 1;
}

/** Frames in a capture, and those with an IP (v4 or v6) header, as tshark reads them. */
export async function tsharkFrames(file: string, extra: string[] = []): Promise<{ frames: number; ip: number }> {
  const count = async (filter: string[]) => {
    const { stdout } = await run('tshark', ['-r', file, ...extra, ...filter, '-T', 'fields', '-e', 'frame.number'], { maxBuffer: 64 << 20 });
    return stdout.split('\n').filter((l) => l.trim() !== '').length;
  };
  return { frames: await count([]), ip: await count(['-Y', 'ip || ipv6']) };
}

/** A flow of the analyzer's summary, as far as tshark's conversations can check it. */
export interface FlowLike {
  protocol: string;
  client: string;
  server: string;
  packets: number;
  bytes: number;
  clientPackets: number;
  clientBytes: number;
  serverPackets: number;
  serverBytes: number;
}

/** Where the analyzer's TCP/UDP flows and tshark's conversations differ (empty: they agree):
 *  the same conversations, frames each way exactly, bytes to tshark's rounding. */
export function conversationDifferences(flows: FlowLike[], convs: Conversation[], protocols: ReadonlyArray<'tcp' | 'udp'>): string[] {
  const out: string[] = [];
  // tshark writes an IPv6 endpoint without brackets (fd00::1:80), the analyzer as [fd00::1]:80
  const plain = (e: string) => e.replace(/^\[(.*)\]:(\d+)$/, '$1:$2');
  const ours = flows
    .filter((f) => (protocols as readonly string[]).includes(f.protocol))
    .map((f) => ({ ...f, client: plain(f.client), server: plain(f.server) }));
  const theirs = convs.filter((c) => protocols.includes(c.protocol));
  if (ours.length !== theirs.length) out.push(`${ours.length} flows, tshark ${theirs.length} conversations`);
  for (const c of theirs) {
    const f = ours.find((x) => x.protocol === c.protocol && ((x.client === c.a && x.server === c.b) || (x.client === c.b && x.server === c.a)));
    const name = `${c.protocol} ${c.a} <-> ${c.b}`;
    if (!f) {
      out.push(`${name}: no such flow`);
      continue;
    }
    const aIsClient = f.client === c.a;
    if (f.packets !== c.frames) out.push(`${name}: ${f.packets} packets, tshark ${c.frames}`);
    if ((aIsClient ? f.clientPackets : f.serverPackets) !== c.framesToB) out.push(`${name}: packets A→B differ`);
    if ((aIsClient ? f.serverPackets : f.clientPackets) !== c.framesToA) out.push(`${name}: packets B→A differ`);
    if (!sizeAgrees(f.bytes, c.bytes)) out.push(`${name}: ${f.bytes} bytes, tshark ${c.bytes.value} ${c.bytes.unit}`);
    if (!sizeAgrees(aIsClient ? f.clientBytes : f.serverBytes, c.bytesToB)) out.push(`${name}: bytes A→B differ`);
    if (!sizeAgrees(aIsClient ? f.serverBytes : f.clientBytes, c.bytesToA)) out.push(`${name}: bytes B→A differ`);
  }
  return out;
}
