// Label and field selectors, parsed once per request and matched per object. Grammar as in
// k8s.io/apimachinery/pkg/labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
// joined by commas.
import { badRequest } from './errors.js';
import type { KObject } from './types.js';

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) { out.push(s.slice(start, i)); start = i + 1; }
  }
  out.push(s.slice(start));
  return out;
}

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key) || key.length > 316) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}
function checkValue(v: string, whole: string): string {
  if (v.length > 63 || !VALUE.test(v)) throw badRequest(`unable to parse requirement: invalid label value: "${v}" in "${whole}"`);
  return v;
}

export function parseLabelSelector(s: string | undefined): Requirement[] {
  if (!s || !s.trim()) return [];
  return splitTop(s).map((raw) => {
    const part = raw.trim();
    if (!part) throw badRequest(`unable to parse requirement: found '', expected: identifier in "${s}"`);
    let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = m[3].split(',').map((v) => checkValue(v.trim(), s));
      return { key: checkKey(m[1], s), op: m[2] as 'in' | 'notin', values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) return { key: checkKey(m[1], s), op: m[2] === '!=' ? 'neq' : 'eq', value: checkValue(m[3], s) };
    m = /^!\s*(\S+)$/.exec(part);
    if (m) return { key: checkKey(m[1], s), op: 'notexists' };
    if (/^\S+$/.test(part)) return { key: checkKey(part, s), op: 'exists' };
    throw badRequest(`unable to parse requirement: unexpected selector "${part}" in "${s}"`);
  });
}

export function matchLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq': if (!has || v !== r.value) return false; break;
      case 'neq': if (has && v === r.value) return false; break;
      case 'in': if (!has || !r.values.includes(v)) return false; break;
      case 'notin': if (has && r.values.includes(v)) return false; break;
      case 'exists': if (!has) return false; break;
      case 'notexists': if (has) return false; break;
    }
  }
  return true;
}

export interface FieldRequirement { field: string; op: 'eq' | 'neq'; value: string }

export function parseFieldSelector(s: string | undefined, supported: ReadonlySet<string>): FieldRequirement[] {
  if (!s || !s.trim()) return [];
  return s.split(',').map((raw) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${raw}'`);
    if (!supported.has(m[1])) throw badRequest(`field label not supported: ${m[1]}`);
    return { field: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] };
  });
}

/** Reads a dotted field path (`spec.nodeName`, `involvedObject.kind`) as the string a field selector compares. */
export function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
