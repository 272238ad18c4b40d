// Filesystem backend (STORAGE_DIR): each object is written to a staging file, flushed to disk,
// then renamed into place, so a reader sees either the whole object or none. User metadata goes
// to a "<key>.meta.json" sidecar, renamed into place before the object itself.
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StorageError, type ObjectDigest, type ObjectWriter, type SegmentStore } from './store.js';

/** Staging files live here (same filesystem, so rename is atomic); never listed. */
export const STAGING_DIR = '.staging';
export const META_SUFFIX = '.meta.json';

class FsObjectWriter extends EventEmitter implements ObjectWriter {
  readonly failed: Promise<never>;
  private readonly stream: WriteStream;
  private readonly staged: string;
  private aborting: Promise<void> | undefined;
  private readonly opened: Promise<void>;

  constructor(
    private readonly root: string,
    private readonly key: string,
    private readonly metadata: Record<string, string>,
  ) {
    super();
    this.staged = join(root, STAGING_DIR, `${randomBytes(8).toString('hex')}.part`);
    this.stream = createWriteStream(this.staged, { flags: 'wx' });
    this.stream.on('drain', () => this.emit('drain'));
    this.opened = new Promise((res, rej) => {
      this.stream.once('open', () => res());
      this.stream.once('error', rej);
    });
    this.failed = new Promise<never>((_, rej) => {
      this.stream.once('error', (err) => rej(new StorageError(`writing ${key} failed: ${err.message}`)));
    });
    this.failed.catch(() => undefined);
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  // A directory has no place for tags: the digest travels only in the reply and the event.
  async complete(_digest: ObjectDigest): Promise<void> {
    try {
      await this.opened;
      await new Promise<void>((res, rej) => {
        this.stream.once('error', rej);
        this.stream.end(() => res());
      });
      const fh = await open(this.staged, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const target = join(this.root, this.key);
      await mkdir(dirname(target), { recursive: true });
      const metaStaged = `${this.staged}.meta`;
      await writeFile(metaStaged, JSON.stringify(this.metadata));
      await rename(metaStaged, target + META_SUFFIX);
      await rename(this.staged, target);
    } catch (err) {
      await rm(this.staged, { force: true }).catch(() => undefined);
      throw new StorageError(`storing ${this.key} failed: ${(err as Error).message}`);
    }
  }

  abort(): Promise<void> {
    this.aborting ??= (async () => {
      await new Promise<void>((res) => {
        if (this.stream.closed) return res();
        this.stream.once('close', () => res());
        this.stream.destroy();
      });
      await rm(this.staged, { force: true });
    })();
    return this.aborting;
  }
}

export class FsSegmentStore implements SegmentStore {
  readonly kind = 'fs' as const;
  private readonly root: string;

  constructor(
    root: string,
    readonly bucket: string,
  ) {
    this.root = resolve(root);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, STAGING_DIR), { recursive: true });
  }

  uri(key: string): string {
    return pathToFileURL(join(this.root, key)).href;
  }

  open(key: string, metadata: Record<string, string>): ObjectWriter {
    const target = resolve(this.root, key);
    // Keys are built from clean elements; this is a second fence around the storage directory.
    if (!target.startsWith(this.root + sep) || key.split('/')[0] === STAGING_DIR) {
      throw new StorageError(`key ${key} is outside the storage directory`);
    }
    return new FsObjectWriter(this.root, key, metadata);
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new StorageError(`listing ${dir} failed: ${(err as Error).message}`);
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        const key = relative(this.root, full).split(sep).join('/');
        if (e.isDirectory()) {
          if (key === STAGING_DIR) continue;
          // Only descend where the prefix can still match.
          if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix)) await walk(full);
        } else if (e.isFile() && !e.name.endsWith(META_SUFFIX) && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    await walk(this.root);
    return out.sort();
  }

  /** Local writes need no deadline. */
  hurry(_ms: number): void {}

  async close(): Promise<void> {}
}
