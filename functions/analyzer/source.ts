// Where capture bytes come from: local files or S3 objects, read as streams one after the other
// in the given order, through lib/pcap's reader into one Analyzer.
// The S3 SDK is loaded only when an S3 source is read: it triples the start-up time of a CLI run
// on a local file.
import type { S3Client } from '@aws-sdk/client-s3';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
// the reader's own module, not the package index: a CLI run loads only what it uses
import { PacketParser, readRecords } from '../../lib/pcap/reader.js';
import type { ReadResult } from '../../lib/pcap/types.js';
import { Analyzer, type AnalyzerOptions } from './analysis.js';
import type { Summary } from '../../lib/api/analysis-summary.js';

export type CaptureSource = { kind: 'file'; path: string } | { kind: 's3'; bucket: string; key: string };

/** "s3://bucket/key" or a file path. */
export async function parseSource(arg: string): Promise<CaptureSource> {
  if (arg.startsWith('s3://')) {
    const { parseS3Uri } = await import('../../lib/s3.js');
    const s3 = parseS3Uri(arg);
    if (!s3) throw new Error(`"${arg}" is not an s3://BUCKET/KEY address`);
    return { kind: 's3', ...s3 };
  }
  return { kind: 'file', path: arg };
}

export function sourceName(s: CaptureSource): string {
  return s.kind === 'file' ? s.path : `s3://${s.bucket}/${s.key}`;
}

/** File reads in large chunks: fewer, bigger pushes into the parser. */
const FILE_CHUNK = 2 << 20;

async function open(s: CaptureSource, s3: S3Client | undefined, signal?: AbortSignal): Promise<Readable> {
  if (s.kind === 'file') {
    const stream = createReadStream(s.path, { highWaterMark: FILE_CHUNK });
    // surface ENOENT/EACCES here rather than as a read error in the middle
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return stream;
  }
  if (!s3) throw new Error('no S3 client configured');
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const res = await s3.send(new GetObjectCommand({ Bucket: s.bucket, Key: s.key }), { abortSignal: signal });
  if (!res.Body) throw new Error('empty response body');
  return res.Body as Readable;
}

export interface AnalyzeOptions extends AnalyzerOptions {
  s3?: S3Client;
  signal?: AbortSignal;
  /** Read local files with blocking reads straight into the parser: about a third less CPU than
   *  a stream, for a command-line run that has nothing else to do meanwhile. */
  blockingFileReads?: boolean;
}

/** Blocking read of a whole file through the parser, into the same memory again and again (the
 *  Analyzer keeps nothing of a packet's bytes): fresh memory would cost a page fault per page. */
function readFileBlocking(path: string, onRecord: Analyzer['record']): ReadResult {
  const parser = PacketParser.forRecords(onRecord);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    let chunk = Buffer.allocUnsafe(FILE_CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, FILE_CHUNK, null);
      if (n === 0) break;
      if (parser.pushReusable(n < FILE_CHUNK ? chunk.subarray(0, n) : chunk)) chunk = Buffer.allocUnsafe(FILE_CHUNK);
    }
  } catch (err) {
    return parser.fail(`read error: ${errorText(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parser.end();
}

/** Analyses the sources as one capture, in order. Never rejects for bad or missing input: every
 *  problem is noted in the summary's `errors`. */
export async function analyzeSources(sources: CaptureSource[], opts: AnalyzeOptions = {}): Promise<Summary> {
  const analyzer = new Analyzer(opts);
  for (const s of sources) {
    const name = sourceName(s);
    if (s.kind === 'file' && opts.blockingFileReads) {
      analyzer.readResult(readFileBlocking(s.path, analyzer.record), sources.length > 1 ? name : undefined);
      continue;
    }
    let stream: Readable;
    try {
      stream = await open(s, opts.s3, opts.signal);
    } catch (err) {
      analyzer.error(`${name}: cannot read: ${errorText(err)}`);
      continue;
    }
    const result = await readRecords(stream, analyzer.record);
    analyzer.readResult(result, sources.length > 1 ? name : undefined);
  }
  return analyzer.finish();
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: string; message?: string; code?: string };
    if (e.code === 'ENOENT') return 'no such file';
    if (e.name === 'NoSuchKey') return 'no such object';
    return e.message || e.name || JSON.stringify(err);
  }
  return String(err);
}
