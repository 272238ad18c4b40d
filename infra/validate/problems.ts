// One shape for everything a manifest check finds: where (a dotted path) and what.
export interface FieldProblem {
  /** e.g. "spec.template.spec.containers[0].image" ("" for the whole object) */
  path: string;
  message: string;
}

export function pathString(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** A JSON pointer ("/spec/containers/0/image") as a dotted path ("spec.containers[0].image"). */
export function pointerPath(pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  return pathString(parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)));
}

export function formatProblems(problems: FieldProblem[]): string {
  return problems.map((p) => `${p.path || '(object)'}: ${p.message}`).join('\n');
}
