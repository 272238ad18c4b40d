// Gives bytes of a file back to the disk without changing its length or any offset in it
// (`fallocate --punch-hole`: Node has no fallocate call). Reading a punched range yields zeros.
import { execFile } from 'node:child_process';

const BLOCK = 4096;

/** Punches the whole 4 KiB blocks inside [start, end); fire and forget. A filesystem that cannot
 *  punch holes only keeps the space until the file is deleted, so a failure is not an error. */
export function punchHole(path: string, start: number, end: number): void {
  const from = Math.ceil(start / BLOCK) * BLOCK;
  const to = Math.floor(end / BLOCK) * BLOCK;
  if (to <= from) return;
  execFile('fallocate', ['--punch-hole', '--offset', String(from), '--length', String(to - from), path], () => undefined);
}
