// The install bundle: every object of a kustomization rendered into one YAML file that
// `kubectl apply -f` takes on a cluster without kustomize. kustomize does the rendering
// (`kubectl kustomize`, which embeds it); this module normalises and annotates the result.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';

const run = promisify(execFile);

export const BUNDLE_SOURCE = 'infra/default';
export const BUNDLE_PATH = 'infra/install/snoopy.yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export class BundleError extends Error {
  override name = 'BundleError';
}

/** Parses a multi-document YAML stream into objects, refusing anything that is not a Kubernetes object. */
export function parseObjects(text: string, origin: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new BundleError(`${origin}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = value as Partial<K8sObject>;
    if (typeof obj !== 'object' || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new BundleError(`${origin}: a document without apiVersion, kind and metadata.name`);
    }
    out.push(obj as K8sObject);
  }
  return out;
}

/** Renders objects as the bundle file: a header, then one document per object in the given order. */
export function renderBundle(objects: K8sObject[], source = BUNDLE_SOURCE): string {
  const header = [
    '# Snoopy install bundle: CRDs, namespace, RBAC, operator and MinIO.',
    `# Generated from ${source} by \`npm run gen:bundle\`; do not edit by hand.`,
    '# kubectl apply -f infra/install/snoopy.yaml',
  ].join('\n');
  const docs = objects.map((o) => stringify(o, { lineWidth: 0 }).trimEnd());
  return `${header}\n---\n${docs.join('\n---\n')}\n`;
}

/** Runs kustomize (embedded in kubectl) on a kustomization directory of this repository. */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', repoPath(dir)], { maxBuffer: 64 * 1024 * 1024 });
  return parseObjects(stdout, dir);
}

export async function generateBundle(): Promise<string> {
  return renderBundle(await kustomize(BUNDLE_SOURCE));
}

/** A Secret's values as text, from `data` (base64) and `stringData`, found by name among rendered objects. */
export function secretStrings(objects: readonly K8sObject[], name: string): Record<string, string> {
  const s = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as (K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> }) | undefined;
  if (!s) throw new BundleError(`no Secret ${name} among the rendered objects`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return { ...out, ...(s.stringData ?? {}) };
}
