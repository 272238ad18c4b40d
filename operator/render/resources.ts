// The resources of a per-node capture pod (pure): the base (SNOOPY_CAPTURE_CPU_REQUEST …) plus a
// per-target amount (SNOOPY_CAPTURE_CPU_REQUEST_PER_TARGET …) times the targets it has when it is
// created. Pods are not resized in place on most clusters, so targets that join later share what
// the pod got at creation (operator/README.md, "Per-node capture").

/** Kubernetes quantity suffixes this rule reads (decimal and binary), as multipliers. */
const SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

export class QuantityError extends Error {
  override name = 'QuantityError';
}

/** A quantity in thousandths of its unit (millicores, millibytes): integers, so sums are exact. */
export function parseQuantity(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q.trim());
  if (!m) throw new QuantityError(`"${q}" is not a quantity this rule reads (e.g. 50m, 1, 64Mi, 1Gi)`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'm' ? n : n * SUFFIX[m[2] ?? '']! * 1000);
}

/** Back to a quantity: CPU as millicores ("150m"), memory in the largest binary unit that divides it. */
export function formatQuantity(milli: number, kind: 'cpu' | 'memory'): string {
  if (kind === 'cpu') return `${milli}m`;
  const bytes = Math.ceil(milli / 1000);
  for (const s of ['Gi', 'Mi', 'Ki'] as const) if (bytes % SUFFIX[s]! === 0 && bytes >= SUFFIX[s]!) return `${bytes / SUFFIX[s]!}${s}`;
  return String(bytes);
}

export interface Resources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

/** base + perTarget × targets, key by key (a key only in base stays as it is). */
export function nodeCaptureResources(base: Resources, perTarget: Resources, targets: number): Resources {
  const scale = (b: Record<string, string>, p: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = { ...b };
    for (const [k, v] of Object.entries(p)) {
      const kind = k === 'cpu' ? 'cpu' : 'memory';
      out[k] = formatQuantity((b[k] !== undefined ? parseQuantity(b[k]) : 0) + parseQuantity(v) * targets, kind);
    }
    return out;
  };
  return { requests: scale(base.requests, perTarget.requests), limits: scale(base.limits, perTarget.limits) };
}
