// Finds the repository's deployment files and checks each against the schema of its kind:
// built-in kinds against the Kubernetes OpenAPI, Knative kinds against the Knative schemas, our
// custom resources against our CRDs, and kind / func.yaml files against local schemas.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { repoPath, repoRoot } from '../../lib/repo-root.js';
import { validateBuiltin } from './builtin.js';
import { type Crd, CrdValidators } from './crd.js';
import { validateKnative } from './knative.js';
import { funcYamlSchema, kindClusterSchema } from './local-schemas.js';
import { type FieldProblem, pointerPath } from './problems.js';

export type ManifestFileKind = 'objects' | 'kustomization' | 'kind-config' | 'func';

export interface ManifestFile {
  /** repository-relative path */
  path: string;
  kind: ManifestFileKind;
}

/** Folders under infra/ that hold other things than deployment manifests. */
const NOT_MANIFESTS = ['infra/devcluster', 'infra/s3', 'infra/test', 'infra/validate', 'infra/demo'];

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out;
}

export function classify(path: string): ManifestFileKind {
  const name = path.split('/').pop()!;
  if (name === 'kustomization.yaml' || name === 'kustomization.yml') return 'kustomization';
  if (name === 'func.yaml') return 'func';
  if (path.startsWith('infra/kind/')) return 'kind-config';
  return 'objects';
}

/** Every YAML file under infra/ (deployment parts) and knative/, sorted. */
export async function listManifestFiles(): Promise<ManifestFile[]> {
  const files = [...(await walk(repoPath('infra'))), ...(await walk(repoPath('knative')))]
    .map((f) => relative(repoRoot(), f))
    .filter((f) => !NOT_MANIFESTS.some((d) => f.startsWith(`${d}/`)))
    .sort();
  return files.map((path) => ({ path, kind: classify(path) }));
}

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  [key: string]: unknown;
}

export function parseYamlDocuments(text: string, origin: string): unknown[] {
  const out: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors[0]!.message}`);
    const v: unknown = doc.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export async function readYaml(path: string): Promise<unknown[]> {
  return parseYamlDocuments(await readFile(repoPath(path), 'utf8'), path);
}

export async function loadCrdValidators(): Promise<CrdValidators> {
  const crds: Crd[] = [];
  for (const f of await listManifestFiles()) {
    if (!f.path.startsWith('infra/crds/') || f.kind !== 'objects') continue;
    for (const d of await readYaml(f.path)) if ((d as Obj).kind === 'CustomResourceDefinition') crds.push(d as Crd);
  }
  return new CrdValidators(crds);
}

/** Checks one object against the schema of its kind; a kind with no known schema is a problem too. */
export async function validateObject(obj: unknown, crds: CrdValidators): Promise<FieldProblem[]> {
  const o = obj as Partial<Obj>;
  if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
    return [{ path: '', message: 'not a Kubernetes object (apiVersion and kind are required)' }];
  }
  const typed = o as Obj;
  const result = crds.validate(typed) ?? (typed.apiVersion.includes('knative.dev') ? await validateKnative(typed) : await validateBuiltin(typed));
  return result ?? [{ path: '', message: `no schema known for ${typed.apiVersion} ${typed.kind}` }];
}

const ajv = new Ajv({ allErrors: true, strict: true });
const localValidators = { 'kind-config': ajv.compile(kindClusterSchema), func: ajv.compile(funcYamlSchema) };

export function validateLocalFormat(kind: 'kind-config' | 'func', doc: unknown): FieldProblem[] {
  const fn = localValidators[kind];
  if (fn(doc)) return [];
  return (fn.errors ?? []).map((e) => {
    const base = pointerPath(e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return { path: base ? `${base}.${extra}` : extra, message: `unknown field "${extra}"` };
    }
    return { path: base, message: `${e.keyword}: ${e.message ?? ''}` };
  });
}

/** Checks one parsed document as the given file format holds it. */
export async function validateDocument(kind: ManifestFileKind, doc: unknown, crds: CrdValidators): Promise<FieldProblem[]> {
  if (kind === 'objects') return validateObject(doc, crds);
  if (kind === 'kind-config' || kind === 'func') return validateLocalFormat(kind, doc);
  return [];
}

/** Checks every document of one file; returns problems labelled with the object they belong to. */
export async function validateFile(file: ManifestFile, crds: CrdValidators): Promise<string[]> {
  const docs = await readYaml(file.path);
  const out: string[] = [];
  for (const [i, doc] of docs.entries()) {
    const label = `${file.path}#${i} ${(doc as Obj).kind ?? '?'}/${(doc as Obj).metadata?.name ?? (doc as { name?: string }).name ?? '?'}`;
    const problems = await validateDocument(file.kind, doc, crds);
    for (const p of problems) out.push(`${label}: ${p.path || '(object)'}: ${p.message}`);
  }
  return out;
}
