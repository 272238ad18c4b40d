// Server-side `Table` output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which
// kubectl get prints: printer columns of CRDs, and the usual columns of common built-ins.
// Built-ins not listed here get NAME and AGE.
import type { PrinterColumn, ResourceDef, VersionDef } from './resources.js';
import { isPlainObject, type JsonObject, type KObject } from './types.js';

interface Column { name: string; type: string; format: string; description: string; priority: number }
type Cell = string | number | boolean | null;

/** kubectl's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) { const y = Math.floor(h / 24 / 365); const d = Math.floor(h / 24) - y * 365; return d === 0 ? `${y}y` : `${y}y${d}d`; }
  return `${Math.floor(h / 24 / 365)}y`;
}

function age(ts: unknown): string {
  return typeof ts === 'string' ? humanDuration(Date.now() - Date.parse(ts)) : '<unknown>';
}

/**
 * The JSONPath subset printer columns use: `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.type=="Ready")].status`.
 * Returns every value reached.
 */
export function evalJsonPath(obj: unknown, path: string): unknown[] {
  const tokens = path.replace(/^\{|\}$/g, '').match(/\.[^.[\]]+|\[[^\]]*\]/g) ?? [];
  let cur: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (t.startsWith('.')) {
        if (isPlainObject(c) && c[t.slice(1)] !== undefined) next.push(c[t.slice(1)]);
      } else if (t === '[*]') {
        if (Array.isArray(c)) next.push(...(c as unknown[]));
        else if (isPlainObject(c)) next.push(...Object.values(c));
      } else if (/^\[\d+\]$/.test(t)) {
        if (Array.isArray(c) && c[Number(t.slice(1, -1))] !== undefined) next.push(c[Number(t.slice(1, -1))]);
      } else {
        const m = /^\[\?\(@\.([\w.-]+)\s*==\s*["']?([^"')]*)["']?\)\]$/.exec(t);
        if (m && Array.isArray(c)) for (const x of c) if (isPlainObject(x) && String(x[m[1]]) === m[2]) next.push(x);
      }
    }
    cur = next;
  }
  return cur;
}

function crCell(o: KObject, col: PrinterColumn): Cell {
  const vals = evalJsonPath(o, col.jsonPath);
  if (vals.length === 0) return null;
  const v = vals[0];
  if (col.type === 'date') return age(v);
  if (col.type === 'integer' || col.type === 'number') return typeof v === 'number' ? v : Array.isArray(v) ? v.length : Number(v);
  if (col.type === 'boolean') return Boolean(v);
  if (Array.isArray(v) || isPlainObject(v)) return JSON.stringify(v);
  return String(v);
}

const col = (name: string, type = 'string', priority = 0, format = ''): Column => ({ name, type, format, description: '', priority });
const nameCol = (): Column => ({ name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 });
const ageCol = (): Column => ({ name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 });

function o(v: unknown): JsonObject {
  return isPlainObject(v) ? v : {};
}
function arr(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.map(o) : [];
}

function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  const st = o(p.status);
  for (const cs of arr(st.containerStatuses)) {
    const w = o(o(cs.state).waiting);
    if (w.reason) return String(w.reason);
    const t = o(o(cs.state).terminated);
    if (t.reason && st.phase !== 'Running') return String(t.reason);
  }
  return String(st.reason ?? st.phase ?? 'Unknown');
}

function builtinTable(def: ResourceDef): { columns: Column[]; cells: (x: KObject) => Cell[] } {
  switch (def.key) {
    case '/pods':
      return {
        columns: [nameCol(), col('Ready'), col('Status'), col('Restarts', 'string'), ageCol(), col('IP', 'string', 1), col('Node', 'string', 1)],
        cells: (p) => {
          const cs = arr(o(p.status).containerStatuses);
          const total = arr(o(p.spec).containers).length;
          const restarts = cs.reduce((n, c) => n + Number(c.restartCount ?? 0), 0);
          return [p.metadata.name!, `${cs.filter((c) => c.ready).length}/${total}`, podStatus(p), String(restarts), age(p.metadata.creationTimestamp),
            String(o(p.status).podIP ?? '<none>'), String(o(p.spec).nodeName ?? '<none>')];
        },
      };
    case '/nodes':
      return {
        columns: [nameCol(), col('Status'), col('Roles'), ageCol(), col('Version')],
        cells: (n) => {
          const ready = arr(o(n.status).conditions).find((c) => c.type === 'Ready');
          return [n.metadata.name!, ready?.status === 'True' ? 'Ready' : 'NotReady', '<none>', age(n.metadata.creationTimestamp), String(o(o(n.status).nodeInfo).kubeletVersion ?? '')];
        },
      };
    case '/namespaces':
      return { columns: [nameCol(), col('Status'), ageCol()], cells: (n) => [n.metadata.name!, String(o(n.status).phase ?? ''), age(n.metadata.creationTimestamp)] };
    case '/services':
      return {
        columns: [nameCol(), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), ageCol()],
        cells: (s) => {
          const sp = o(s.spec);
          const ports = arr(sp.ports).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>';
          return [s.metadata.name!, String(sp.type ?? ''), String(sp.clusterIP ?? '<none>'), '<none>', ports, age(s.metadata.creationTimestamp)];
        },
      };
    case 'batch/jobs':
      return {
        columns: [nameCol(), col('Status'), col('Completions'), ageCol()],
        cells: (j) => {
          const st = o(j.status);
          const conds = arr(st.conditions).filter((c) => c.status === 'True').map((c) => String(c.type));
          const status = conds.includes('Complete') ? 'Complete' : conds.includes('Failed') ? 'Failed' : Number(st.active ?? 0) > 0 ? 'Running' : 'Pending';
          return [j.metadata.name!, status, `${st.succeeded ?? 0}/${o(j.spec).completions ?? 1}`, age(j.metadata.creationTimestamp)];
        },
      };
    case 'batch/cronjobs':
      return {
        columns: [nameCol(), col('Schedule'), col('Suspend'), col('Active'), col('Last Schedule'), ageCol()],
        cells: (c) => [c.metadata.name!, String(o(c.spec).schedule ?? ''), String(o(c.spec).suspend ?? false), String(arr(o(c.status).active).length),
          o(c.status).lastScheduleTime ? age(o(c.status).lastScheduleTime) : '<none>', age(c.metadata.creationTimestamp)],
      };
    case 'apps/deployments':
      return {
        columns: [nameCol(), col('Ready'), col('Up-to-date'), col('Available'), ageCol()],
        cells: (d) => {
          const st = o(d.status);
          return [d.metadata.name!, `${st.readyReplicas ?? 0}/${o(d.spec).replicas ?? 1}`, String(st.updatedReplicas ?? 0), String(st.availableReplicas ?? 0), age(d.metadata.creationTimestamp)];
        },
      };
    case 'apps/replicasets':
      return {
        columns: [nameCol(), col('Desired'), col('Current'), col('Ready'), ageCol()],
        cells: (r) => {
          const st = o(r.status);
          return [r.metadata.name!, String(o(r.spec).replicas ?? 1), String(st.replicas ?? 0), String(st.readyReplicas ?? 0), age(r.metadata.creationTimestamp)];
        },
      };
    case '/events':
      return {
        columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Message')],
        cells: (e) => {
          const io = o(e.involvedObject);
          return [age(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp), String(e.type ?? ''), String(e.reason ?? ''), `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, String(e.message ?? '')];
        },
      };
    default:
      return { columns: [nameCol(), ageCol()], cells: (x) => [x.metadata.name!, age(x.metadata.creationTimestamp)] };
  }
}

export function toTable(def: ResourceDef, version: VersionDef, items: KObject[], meta: { resourceVersion?: string; continue?: string; remainingItemCount?: number }, includeObject: string): object {
  let columns: Column[];
  let cells: (x: KObject) => Cell[];
  if (!def.builtin) {
    const pcs = version.printerColumns ?? [];
    const hasAge = pcs.some((c) => c.jsonPath === '.metadata.creationTimestamp');
    columns = [nameCol(), ...pcs.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })), ...(hasAge ? [] : [ageCol()])];
    cells = (x) => [x.metadata.name!, ...pcs.map((c) => crCell(x, c)), ...(hasAge ? [] : [age(x.metadata.creationTimestamp)])];
  } else ({ columns, cells } = builtinTable(def));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}), ...(meta.continue ? { continue: meta.continue } : {}), ...(meta.remainingItemCount !== undefined ? { remainingItemCount: meta.remainingItemCount } : {}) },
    columnDefinitions: columns,
    rows: items.map((x) => ({
      cells: cells(x),
      ...(includeObject === 'None' ? {} : { object: includeObject === 'Object' ? x : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: x.metadata } }),
    })),
  };
}

/** Does the Accept header ask for a Table (kubectl get)? */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const p = part.split(';').map((s) => s.trim());
    return p.includes('as=Table') && p.includes('g=meta.k8s.io') && (p.includes('v=v1') || p.includes('v=v1beta1'));
  });
}
