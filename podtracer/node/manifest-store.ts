// Where `podtracer node` stores its node manifest at the end of the run: through the collector,
// with the node's own token (the NODE_TOKEN_KEY file of the assignment Secret), at the run's
// "_nodes/<node>.json" key (lib/node-manifest-client.ts); or, with --output-dir, as a file beside
// the targets' directories.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NODE_TOKEN_KEY, type NodeManifest } from '../../lib/contracts/node-capture.js';
import type { Logger } from '../../lib/log.js';
import { storeNodeManifest } from '../../lib/node-manifest-client.js';
import type { NodeOptions } from '../cli.js';

/** The node's token; empty when the Secret has none (a collector without tokens takes that). */
async function nodeToken(assignmentDir: string): Promise<string> {
  try {
    return (await readFile(join(assignmentDir, NODE_TOKEN_KEY), 'utf8')).trim();
  } catch {
    return '';
  }
}

export function manifestStore(o: Pick<NodeOptions, 'collector' | 'outputDir' | 'assignmentDir' | 'uploadGraceMs' | 'uploadDeadlineMs'>, log: Logger): (m: NodeManifest) => Promise<void> {
  return async (manifest) => {
    if (o.outputDir !== undefined) {
      const file = join(o.outputDir, `${manifest.node}.manifest.json`);
      await mkdir(o.outputDir, { recursive: true });
      await writeFile(file, JSON.stringify(manifest));
      log.info({ file }, 'node manifest written');
      return;
    }
    const reply = await storeNodeManifest(o.collector!, await nodeToken(o.assignmentDir), manifest, { graceMs: o.uploadGraceMs, deadlineMs: Math.min(o.uploadDeadlineMs, 60_000) });
    log.info({ key: reply.key }, 'node manifest stored');
  };
}
