// The API server's pure parts on their own: strategic merge patch directives, selector parsing,
// structural schema pruning/defaulting, printer-column JSONPath and ages.
import { describe, expect, test } from '@jest/globals';
import { mergePatch, strategicMergePatch } from '../apiserver/patch.js';
import { admitCustomResource, compileSchema } from '../apiserver/schema.js';
import { matchLabels, parseLabelSelector } from '../apiserver/selectors.js';
import { evalJsonPath, humanDuration } from '../apiserver/table.js';
import { ApiError } from '../apiserver/errors.js';

describe('strategic merge patch', () => {
  test('$retainKeys drops keys not listed (volume source switch)', () => {
    const live = { volumes: [{ name: 'v', emptyDir: {}, $other: 1 }] };
    const out = strategicMergePatch(live, { volumes: [{ name: 'v', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }] });
    expect(out).toEqual({ volumes: [{ name: 'v', hostPath: { path: '/x' } }] });
  });

  test('$deleteFromPrimitiveList and finalizers merged as a set', () => {
    const live = { metadata: { finalizers: ['a', 'b'] } };
    expect(strategicMergePatch(live, { metadata: { finalizers: ['b', 'c'] } })).toEqual({ metadata: { finalizers: ['a', 'b', 'c'] } });
    expect(strategicMergePatch(live, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } })).toEqual({ metadata: { finalizers: ['b'] } });
  });

  test('$patch: replace on a map and on a list; lists without a merge key replace', () => {
    const live = { spec: { selector: { a: '1', b: '2' }, args: ['x', 'y'], containers: [{ name: 'a' }, { name: 'b' }] } };
    expect(strategicMergePatch(live, { spec: { selector: { c: '3', $patch: 'replace' } } })).toMatchObject({ spec: { selector: { c: '3' } } });
    expect(strategicMergePatch(live, { spec: { args: ['z'] } })).toMatchObject({ spec: { args: ['z'] } });
    expect(strategicMergePatch(live, { spec: { containers: [{ name: 'c' }, { $patch: 'replace' }] } })).toMatchObject({ spec: { containers: [{ name: 'c' }] } });
  });

  test('container ports merge on containerPort; $setElementOrder orders the result', () => {
    const live = { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }, { name: 'b' }] } };
    const out = strategicMergePatch(live, { spec: {
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
      containers: [{ name: 'a', ports: [{ containerPort: 443, name: 'https' }] }],
    } }) as { spec: { containers: { name: string; ports?: unknown[] }[] } };
    expect(out.spec.containers.map((c) => c.name)).toEqual(['b', 'a']);
    expect(out.spec.containers[1].ports).toEqual([{ containerPort: 80, name: 'http' }, { containerPort: 443, name: 'https' }]);
  });

  test('merge patch: null deletes, nested maps merge, arrays replace', () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, d: [1, 2] }, { a: { b: null, e: 3 }, d: [3] })).toEqual({ a: { c: 2, e: 3 }, d: [3] });
  });
});

describe('label selectors', () => {
  test.each(['a=', 'a in (x', '=x', 'a b', 'Bad Key=x', 'a=toolong-' + 'x'.repeat(63)])('%j is refused with 400', (sel) => {
    let err: unknown;
    try {
      const r = parseLabelSelector(sel);
      // `a=` is valid (empty value); everything else must throw.
      if (sel === 'a=') { expect(r).toEqual([{ key: 'a', op: 'eq', value: '' }]); return; }
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
  });

  test('set-based operators with whitespace and prefixed keys', () => {
    const reqs = parseLabelSelector('app.kubernetes.io/name in ( web , api ),  !legacy, tier notin (db)');
    expect(matchLabels(reqs, { 'app.kubernetes.io/name': 'api', tier: 'web' })).toBe(true);
    expect(matchLabels(reqs, { 'app.kubernetes.io/name': 'api', legacy: '' })).toBe(false);
    expect(matchLabels(reqs, { 'app.kubernetes.io/name': 'db' })).toBe(false);
  });
});

describe('structural schemas', () => {
  const schema = compileSchema({
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          items: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer', default: 5 } } } },
          byName: { type: 'object', additionalProperties: { type: 'object', properties: { on: { type: 'boolean', default: true } } } },
          maybe: { type: 'string', nullable: true },
          notNull: { type: 'string' },
          port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        },
      },
    },
  });

  test('defaults inside arrays and additionalProperties; unknown fields pruned at every depth; nulls of non-nullable fields dropped', () => {
    const obj: Record<string, unknown> = { metadata: { name: 'x', bogusMeta: 1 }, spec: { items: [{ junk: 1 }, { n: 2 }], byName: { a: {}, b: { on: false, x: 1 } }, maybe: null, notNull: null, port: '8080' } };
    expect(admitCustomResource(obj, schema)).toEqual([]);
    expect(obj).toEqual({ metadata: { name: 'x' }, spec: { items: [{ n: 5 }, { n: 2 }], byName: { a: { on: true }, b: { on: false } }, maybe: null, port: '8080' } });
  });

  test('int-or-string refuses other types with the field path', () => {
    const obj: Record<string, unknown> = { metadata: { name: 'x' }, spec: { port: true } };
    const causes = admitCustomResource(obj, schema);
    expect(causes.map((c) => c.field)).toContain('spec.port');
  });
});

describe('printer columns', () => {
  test('JSONPath subset: fields, indexes, wildcards, filters', () => {
    const o = { status: { conditions: [{ type: 'A', status: 'False' }, { type: 'Ready', status: 'True' }], targets: [{ pod: 'p1' }, { pod: 'p2' }] } };
    expect(evalJsonPath(o, '.status.conditions[?(@.type=="Ready")].status')).toEqual(['True']);
    expect(evalJsonPath(o, '.status.targets[*].pod')).toEqual(['p1', 'p2']);
    expect(evalJsonPath(o, '.status.targets[1].pod')).toEqual(['p2']);
    expect(evalJsonPath(o, '.status.missing')).toEqual([]);
  });

  test('ages as kubectl prints them', () => {
    expect([5e3, 119e3, 150e3, 600e3, 7200e3, 9000e3, 30 * 3600e3, 50 * 3600e3, 400 * 86400e3, 4 * 3600e3, (3 * 365 + 10) * 86400e3].map(humanDuration))
      .toEqual(['5s', '119s', '2m30s', '10m', '120m', '150m', '30h', '2d2h', '400d', '4h', '3y10d']);
  });
});
