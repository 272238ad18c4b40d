// Maps a container image to the local command that stands in for it (table: images.yaml).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildRoot, repoPath } from '../../../lib/repo-root.js';

export interface ImageEntry {
  kind: 'repo' | 's3' | 'host';
  /** package.json bin name (kind repo) */
  entrypoint?: string;
  /** default command when the container gives neither command nor args (kind host) */
  cmd?: string[];
}

export type ImageTable = Record<string, ImageEntry>;

export function loadImageTable(path = repoPath('infra', 'devcluster', 'images.yaml')): ImageTable {
  const doc = parse(readFileSync(path, 'utf8')) as { images?: ImageTable };
  if (!doc?.images || typeof doc.images !== 'object') throw new Error(`${path}: no "images" map`);
  return doc.images;
}

/** package.json "bin": name → path of main.js relative to the build output. */
export function loadBinTable(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { bin?: Record<string, string> };
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(pkg.bin ?? {})) out[name] = path.replace(/^dist\//, '');
  return out;
}

/** "registry.example/org/snoopy/podtracer:v1@sha256:…" → "org/snoopy/podtracer"; "library/busybox" → "busybox". */
export function imageRepository(image: string): string {
  let s = image.split('@')[0]!;
  const lastSlash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > lastSlash) s = s.slice(0, colon);
  const parts = s.split('/');
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  if (parts[0] === 'library') parts.shift();
  return parts.join('/');
}

export function findImage(table: ImageTable, image: string): ImageEntry | undefined {
  const repo = imageRepository(image);
  if (table[repo]) return table[repo];
  // "org/snoopy/podtracer" matches the table's "snoopy/podtracer"
  const key = Object.keys(table).find((k) => repo.endsWith(`/${k}`));
  return key ? table[key] : undefined;
}

export interface ResolvedCommand {
  argv: string[];
  /** env added by the image translation (e.g. MinIO → snoopy-s3) */
  env: Record<string, string>;
}

/** What stands in for MinIO: the embedded S3 server, or a one-node Ceph cluster behind RGW. */
export type S3Backend = 'embedded' | 'rgw';

export interface ImageContext {
  table: ImageTable;
  bins: Record<string, string>;
  /** compiled output of this build (dist/ or another outDir) */
  buildRoot?: string;
  /** where an emptyDir-less MinIO keeps its data */
  dataDir?: string;
  /** snoopy-s3's backend for MinIO containers (default embedded) */
  s3Backend?: S3Backend;
}

function repoExec(ctx: ImageContext, bin: string): string[] {
  const rel = ctx.bins[bin];
  if (!rel) throw new Error(`image table names "${bin}", which is not an executable of this repository`);
  return [process.execPath, join(ctx.buildRoot ?? buildRoot(), rel)];
}

/** The argv (and extra env) a container runs: Docker's ENTRYPOINT/CMD rules with the table's images. */
export function resolveCommand(
  ctx: ImageContext,
  container: { image?: string; command?: string[]; args?: string[]; env?: Array<{ name: string; value?: string }> },
  env: Record<string, string>,
): ResolvedCommand {
  const entry = container.image ? findImage(ctx.table, container.image) : undefined;
  const command = container.command ?? [];
  const args = container.args ?? [];
  const withBins = (argv: string[]): string[] => {
    const first = argv[0];
    const base = first?.split('/').pop();
    // `command: [podtracer, run, …]` in a snoopy image runs this repository's podtracer
    if (entry?.kind === 'repo' && base && ctx.bins[base]) return [...repoExec(ctx, base), ...argv.slice(1)];
    return argv;
  };
  if (!entry || entry.kind === 'host') {
    const argv = command.length ? [...command, ...args] : args.length ? args : entry?.cmd ?? [];
    if (argv.length === 0) throw new Error(`image "${container.image}" has no command in the dev cluster's image table; set command`);
    return { argv, env: {} };
  }
  if (entry.kind === 'repo') {
    if (command.length) return { argv: withBins([...command, ...args]), env: {} };
    return { argv: [...repoExec(ctx, entry.entrypoint!), ...args], env: {} };
  }
  return translateMinio(ctx, command, args, env);
}

/** `minio server /data [--address :9000] [--console-address …]` → snoopy-s3 on the same port and dir. */
export function translateMinio(ctx: ImageContext, command: string[], args: string[], env: Record<string, string>): ResolvedCommand {
  const words = [...command, ...args].filter((w) => w !== 'minio' && !w.endsWith('/minio'));
  let dir: string | undefined;
  let port = '9000';
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'server') continue;
    if (w === '--address') port = words[++i]!.split(':').pop()!;
    else if (w.startsWith('--address=')) port = w.split(':').pop()!;
    else if (w.startsWith('--')) {
      if (!w.includes('=')) i++; // --console-address :9001 and friends: no S3 meaning
    } else if (!dir) dir = w;
  }
  const directory = dir ?? ctx.dataDir ?? '/data';
  // MinIO listens on every address of the pod; so does its stand-in
  const argv = [...repoExec(ctx, 'snoopy-s3'), '--port', port, '--address', '0.0.0.0', '--directory', directory];
  if (ctx.s3Backend === 'rgw') argv.push('--backend', 'rgw');
  if (env.MINIO_ROOT_USER && env.MINIO_ROOT_PASSWORD) argv.push('--access-key', env.MINIO_ROOT_USER, '--secret-key', env.MINIO_ROOT_PASSWORD);
  return { argv, env: {} };
}
