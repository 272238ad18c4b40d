// The run summary: tcpdump's closing statistics parsed from its stderr, the JSON written to the
// termination log (which Kubernetes caps at 4096 bytes, so long object lists are shortened), and
// the exit code. Pure except writeTerminationLog.
import { writeFile } from 'node:fs/promises';
import type { StopReason } from '../lib/contracts/podtracer-summary.js';

export interface TcpdumpStats {
  packetsCaptured?: number;
  packetsReceivedByFilter?: number;
  packetsDroppedByKernel?: number;
  packetsDroppedByInterface?: number;
}

/** "12 packets captured", "12 packets received by filter", "0 packets dropped by kernel", … */
export function parseTcpdumpStats(stderr: string): TcpdumpStats {
  const stats: TcpdumpStats = {};
  const grab = (re: RegExp): number | undefined => {
    let last: number | undefined;
    for (const m of stderr.matchAll(re)) last = Number(m[1]);
    return last;
  };
  const captured = grab(/^(\d+) packets? captured\s*$/gm);
  const received = grab(/^(\d+) packets? received by filter\s*$/gm);
  const kernel = grab(/^(\d+) packets? dropped by kernel\s*$/gm);
  const iface = grab(/^(\d+) packets? dropped by interface\s*$/gm);
  if (captured !== undefined) stats.packetsCaptured = captured;
  if (received !== undefined) stats.packetsReceivedByFilter = received;
  if (kernel !== undefined) stats.packetsDroppedByKernel = kernel;
  if (iface !== undefined) stats.packetsDroppedByInterface = iface;
  return stats;
}

export type { StopReason };

export interface Summary extends TcpdumpStats {
  captureId: string;
  pod: string;
  namespace: string;
  container?: string;
  pid?: number;
  command: string;
  args: string[];
  /** segments stored (uploaded and confirmed, or written to --output-dir) */
  segments: number;
  /** bytes stored */
  bytes: number;
  /** packets (pcap/pcapng output) or lines (text output) stored */
  records: number;
  /** object keys (or file paths with --output-dir) */
  objects: string[];
  objectsOmitted?: number;
  /** the evidence object's key (or path with --output-dir), also listed in objects */
  evidence?: string;
  /** why the evidence was not stored (never fatal) */
  evidenceError?: string;
  toolExitCode: number | null;
  toolSignal?: string;
  stopReason?: StopReason;
  /** the tool ignored SIGINT and was killed after the grace period */
  killed?: boolean;
  bytesRead: number;
  /** output read past --max-bytes, not kept */
  bytesDiscarded?: number;
  /** a trailing partial pcap record at the end of the stream */
  truncatedBytes?: number;
  spoolDroppedSegments: number;
  spoolDroppedBytes: number;
  /** segments still in the spool when podtracer gave up */
  unsentSegments: number;
  uploadRetries: number;
  error?: string;
  /** podtracer's own CPU time (user + system), for sizing its resource requests */
  cpuSeconds?: number;
  startTime: string;
  endTime: string;
  exitCode: number;
}

export const EXIT = { ok: 0, toolFailed: 1, usage: 2, targetNotFound: 3, dataLost: 4 } as const;

/** 0 when the tool ended by our stop (timer, limit, signal, target gone) or exited 0 and every
 *  segment was stored; 4 when output was lost or not stored; 1 when the tool failed on its own. */
export function exitCodeFor(s: Pick<Summary, 'spoolDroppedSegments' | 'unsentSegments' | 'toolExitCode' | 'stopReason' | 'error'>): number {
  if (s.spoolDroppedSegments > 0 || s.unsentSegments > 0) return EXIT.dataLost;
  if (s.error) return EXIT.dataLost;
  if (s.stopReason !== undefined && s.stopReason !== 'tool-exit') return EXIT.ok;
  return s.toolExitCode === 0 ? EXIT.ok : EXIT.toolFailed;
}

export const TERMINATION_LOG_LIMIT = 4096;

/** JSON of the summary that fits the termination log: the object list is shortened first. */
export function terminationLogText(summary: Summary | Record<string, unknown>, limit = TERMINATION_LOG_LIMIT): string {
  let text = JSON.stringify(summary);
  if (Buffer.byteLength(text) <= limit) return text;
  const s = summary as Summary;
  if (Array.isArray(s.objects)) {
    const objects = s.objects;
    // keep the first and the last objects (the last carries the capture's end), drop the middle
    for (let keep = Math.min(objects.length, 16); keep >= 0; keep--) {
      const head = objects.slice(0, Math.ceil(keep / 2));
      const tail = keep > 1 ? objects.slice(objects.length - Math.floor(keep / 2)) : [];
      const shortened = { ...s, objects: [...head, ...tail], objectsOmitted: objects.length - head.length - tail.length };
      text = JSON.stringify(shortened);
      if (Buffer.byteLength(text) <= limit) return text;
    }
  }
  const minimal: Record<string, unknown> = {};
  for (const k of ['segments', 'bytes', 'packetsDroppedByKernel', 'toolExitCode', 'exitCode', 'stopReason', 'unsentSegments', 'spoolDroppedSegments']) {
    if (k in summary) minimal[k] = (summary as Record<string, unknown>)[k];
  }
  minimal.truncated = true;
  return JSON.stringify(minimal);
}

export async function writeTerminationLog(path: string, summary: Summary | Record<string, unknown>): Promise<void> {
  await writeFile(path, terminationLogText(summary));
}
