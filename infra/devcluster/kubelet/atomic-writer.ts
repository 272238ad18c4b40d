// How a kubelet writes a Secret, ConfigMap, projected or downward API volume so that a reader
// never sees half of an update (Kubernetes' AtomicWriter): the files go into a fresh hidden
// directory named after the time, the `..data` symlink is pointed at it by one rename, and each
// top-level name in the volume is a symlink through `..data`:
//   <volume>/..2026_12_08_01_02_03.123456789/assignment.json
//   <volume>/..data -> ..2026_12_08_01_02_03.123456789
//   <volume>/assignment.json -> ..data/assignment.json
// A reader that opens `assignment.json` and then `token-x` sees both from one version, unless the
// swap falls between the two opens (as with a real kubelet).
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

export const DATA_DIR_LINK = '..data';
const DATA_DIR_TMP_LINK = '..data_tmp';

/** One file of a volume: its path inside the volume, its bytes and mode. */
export interface VolumeFile {
  path: string;
  data: Buffer;
  mode: number;
}

function timestampedDirName(): string {
  const now = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  // the kubelet's names end in random digits, which keep two writes in one second apart
  return `..${stamp}.${randomBytes(4).readUInt32BE(0)}`;
}

/** Whether the directory holds exactly these files, with these contents and modes. */
function sameContent(dir: string, files: readonly VolumeFile[]): boolean {
  const listed: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else listed.push(r);
    }
  };
  walk('');
  if (listed.length !== files.length) return false;
  for (const f of files) {
    const p = join(dir, f.path);
    if (!existsSync(p)) return false;
    if ((statSync(p).mode & 0o777) !== f.mode || !readFileSync(p).equals(f.data)) return false;
  }
  return true;
}

const topLevel = (path: string): string => path.split('/')[0]!;

/**
 * Makes the volume directory hold exactly `files`, in one step for any reader. Returns false when
 * it already did (nothing is written then, as the kubelet skips unchanged payloads).
 */
export function writeVolumeAtomically(volumeDir: string, given: readonly VolumeFile[]): boolean {
  // a path given twice (two projected sources) holds the later one's bytes
  const files = [...new Map(given.map((f) => [f.path, f])).values()];
  mkdirSync(volumeDir, { recursive: true });
  const link = join(volumeDir, DATA_DIR_LINK);
  const old = existsSync(link) ? readlinkSync(link) : undefined;
  if (old !== undefined && sameContent(join(volumeDir, old), files)) return false;

  const fresh = timestampedDirName();
  const freshDir = join(volumeDir, fresh);
  mkdirSync(freshDir, { mode: 0o755 });
  for (const f of files) {
    const file = join(freshDir, f.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.data);
    chmodSync(file, f.mode);
  }
  const tmpLink = join(volumeDir, DATA_DIR_TMP_LINK);
  rmSync(tmpLink, { force: true });
  symlinkSync(fresh, tmpLink);
  renameSync(tmpLink, link);

  const names = new Set(files.map((f) => topLevel(f.path)));
  for (const name of names) {
    const user = join(volumeDir, name);
    if (!existsSync(user)) symlinkSync(join(DATA_DIR_LINK, name), user);
  }
  // names of the previous version that are gone now
  for (const e of readdirSync(volumeDir)) {
    if (e.startsWith('..') || names.has(e)) continue;
    const p = join(volumeDir, e);
    if (lstatSync(p).isSymbolicLink() && readlinkSync(p) === join(DATA_DIR_LINK, e)) unlinkSync(p);
  }
  if (old !== undefined && old !== fresh) rmSync(join(volumeDir, old), { recursive: true, force: true });
  return true;
}
