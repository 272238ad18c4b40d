// pods/log: the kubelet writes each container's output to a file in the state directory
// (infra/devcluster/paths.ts); the API server serves it with container, tailLines, limitBytes
// and follow, as `kubectl logs` uses them.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Response } from 'express';
import { podLogPath } from '../paths.js';
import { badRequest } from './errors.js';
import type { Registry } from './registry.js';
import { isPlainObject, type JsonObject, type KObject } from './types.js';

export interface LogQuery { container?: string; follow?: boolean; tailLines?: number; limitBytes?: number; previous?: boolean; timestamps?: boolean }

function o(v: unknown): JsonObject { return isPlainObject(v) ? v : {}; }

/** Byte offset where the last `n` lines of the file start. */
async function tailOffset(path: string, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  const fh = await open(path, 'r');
  try {
    let pos = size, newlines = 0;
    const buf = Buffer.alloc(64 * 1024);
    // A trailing newline ends the last line; it does not start another.
    let skipFinal = true;
    while (pos > 0) {
      const len = Math.min(buf.length, pos);
      pos -= len;
      await fh.read(buf, 0, len, pos);
      for (let i = len - 1; i >= 0; i--) {
        if (buf[i] !== 10) { skipFinal = false; continue; }
        if (skipFinal && pos + i === size - 1) { skipFinal = false; continue; }
        if (++newlines === n) return pos + i + 1;
      }
    }
    return 0;
  } finally {
    await fh.close();
  }
}

function containerTerminated(pod: KObject, container: string): boolean {
  const st = (Array.isArray(o(pod.status).containerStatuses) ? o(pod.status).containerStatuses : []) as JsonObject[];
  const cs = st.find((c) => c.name === container);
  return !!cs && isPlainObject(o(cs.state).terminated);
}

export async function serveLogs(registry: Registry, stateDir: string | undefined, ns: string, name: string, q: LogQuery, res: Response): Promise<void> {
  const podDef = registry.def('', 'pods');
  const pod = registry.get(podDef, ns, name);
  const spec = o(pod.spec);
  const names = [...(Array.isArray(spec.initContainers) ? (spec.initContainers as unknown[]) : []), ...(Array.isArray(spec.containers) ? (spec.containers as unknown[]) : [])].map((c) => String(o(c).name));
  const mainNames = (Array.isArray(spec.containers) ? spec.containers : []).map((c) => String(o(c).name));
  let container = q.container;
  if (!container) {
    if (mainNames.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${mainNames.join(' ')}]`);
    container = mainNames[0];
  }
  if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  if (q.previous) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  if (q.timestamps) throw badRequest('timestamps=true is not supported by this server');
  if (!stateDir) throw badRequest(`container "${container}" in pod "${name}" has no logs: no kubelet serves this cluster`);
  const path = podLogPath(stateDir, ns, name, container);
  let size: number;
  try { size = (await stat(path)).size; } catch {
    const phase = o(pod.status).phase;
    if (phase === 'Pending' || !phase) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    size = -1;
  }
  res.status(200).setHeader('Content-Type', 'text/plain');
  if (size < 0) { res.end(); return; }
  let start = q.tailLines !== undefined ? await tailOffset(path, size, q.tailLines) : 0;
  let budget = q.limitBytes ?? Infinity;
  const pipeRange = (from: number, to: number): Promise<void> => new Promise((resolve, reject) => {
    if (to <= from || budget <= 0) { resolve(); return; }
    const end = Math.min(to, from + budget) - 1;
    budget -= end + 1 - from;
    const s = createReadStream(path, { start: from, end });
    s.on('data', (c) => res.write(c));
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  await pipeRange(start, size);
  start = size;
  if (!q.follow) { res.end(); return; }
  // Follow: poll the file until the container ends, the pod goes or the client leaves.
  let clientGone = false;
  res.on('close', () => { clientGone = true; });
  for (;;) {
    if (clientGone || budget <= 0) break;
    await new Promise((r) => setTimeout(r, 200));
    let now: number;
    try { now = (await stat(path)).size; } catch { break; }
    if (now < start) start = 0; // truncated
    await pipeRange(start, now);
    start = now;
    let current: KObject | undefined;
    try { current = registry.get(podDef, ns, name); } catch { current = undefined; }
    if (!current || current.metadata.uid !== pod.metadata.uid || containerTerminated(current, container)) {
      try { const last = (await stat(path)).size; await pipeRange(start, last); } catch { /* file removed with the pod */ }
      break;
    }
  }
  res.end();
}
