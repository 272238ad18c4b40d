// Writing whole files durably: every byte (short writes continued) and fsync before close, for
// the segment files of --output-dir and the unsent segments saved from the spool.
import { open, type FileHandle } from 'node:fs/promises';

/** Writes every byte of `parts` in order (writev, repeated for what a short write left). */
export async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let rest = parts.filter((p) => p.length > 0);
  // bounded: every round writes at least one byte or throws
  for (let round = 0; rest.length > 0 && round < 1_000_000; round++) {
    let { bytesWritten } = await fh.writev(rest.slice(0, 1024));
    while (bytesWritten > 0 && rest.length > 0) {
      const first = rest[0]!;
      if (first.length <= bytesWritten) {
        bytesWritten -= first.length;
        rest = rest.slice(1);
      } else {
        rest = [first.subarray(bytesWritten), ...rest.slice(1)];
        bytesWritten = 0;
      }
    }
  }
}

/** Creates (or truncates) `path` with `mode`, writes `data` whole (parts at hand with writev, a
 *  stream a chunk at a time), fsyncs and closes it. */
export async function writeFileSynced(path: string, mode: number, data: readonly Buffer[] | AsyncIterable<Buffer>): Promise<void> {
  const fh = await open(path, 'w', mode);
  try {
    if (Array.isArray(data)) await writeAll(fh, data);
    else for await (const chunk of data as AsyncIterable<Buffer>) await writeAll(fh, [chunk]);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
