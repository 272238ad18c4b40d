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
