// Reads back what the collector stored: lists the objects of one SnoopyJob in S3, downloads
// them and counts packets with tcpdump -r (all packets, ICMP, and ICMP sent by each target's IP).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseSegmentKey } from '../../lib/storage-keys.js';

const run = promisify(execFile);

export interface StoredCapture {
  key: string;
  bytes: number;
  pod?: string;
  podNamespace?: string;
  format?: string;
  packets?: number;
  icmp?: number;
  /** ICMP packets whose source is the target pod's IP */
  icmpFromTarget?: number;
  error?: string;
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; bytes: number }[]> {
  const out: { key: string; bytes: number }[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) if (o.Key) out.push({ key: o.Key, bytes: o.Size ?? 0 });
    if (!r.IsTruncated) break;
    token = r.NextContinuationToken;
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** Number of packets tcpdump reads from FILE with an optional filter expression. */
export async function tcpdumpCount(file: string, filter: string[] = []): Promise<number> {
  const { stdout } = await run('tcpdump', ['-nn', '-q', '-r', file, ...filter], { maxBuffer: 256 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

export async function inspectCaptures(
  s3: S3Client,
  bucket: string,
  prefix: string,
  podIPs: Map<string, string>,
  workDir: string,
): Promise<StoredCapture[]> {
  const out: StoredCapture[] = [];
  for (const [i, { key, bytes }] of (await listKeys(s3, bucket, prefix)).entries()) {
    const parsed = parseSegmentKey(key);
    const item: StoredCapture = { key, bytes, ...(parsed ? { pod: parsed.pod, podNamespace: parsed.podNamespace, format: parsed.format } : {}) };
    out.push(item);
    if (parsed?.format !== 'pcap' && parsed?.format !== 'pcapng') continue;
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const file = join(workDir, `${i}.${parsed.format}`);
      await writeFile(file, await r.Body!.transformToByteArray());
      item.packets = await tcpdumpCount(file);
      item.icmp = await tcpdumpCount(file, ['icmp']);
      const ip = podIPs.get(`${parsed.podNamespace}/${parsed.pod}`);
      if (ip) item.icmpFromTarget = await tcpdumpCount(file, ['icmp', 'and', 'src', 'host', ip]);
    } catch (err) {
      item.error = (err as Error).message.split('\n')[0];
    }
  }
  return out;
}
