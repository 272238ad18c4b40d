// The conformance table: one row per request, with the status code and Status reason a real
// Kubernetes 1.32 API server answers. Rows run in order against one server (later rows rely on
// objects earlier rows created).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startFixture, suffix, type Fixture } from './apiserver-helpers.js';

let f: Fixture;
const ns = `conf-${suffix()}`;
beforeAll(async () => { f = await startFixture(); });
afterAll(async () => { await f?.stop(); });

const cm = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { k: 'v' } });
const J = 'application/json', MERGE = 'application/merge-patch+json', JSONP = 'application/json-patch+json', SMP = 'application/strategic-merge-patch+json', APPLY = 'application/apply-patch+yaml';
const base = `/api/v1/namespaces/${ns}/configmaps`;

type Row = [string, string, string, unknown, string, number, string | undefined];
const rows: Row[] = [
  // what, method, path, body, content type, code, reason
  ['create a namespace', 'POST', '/api/v1/namespaces', { metadata: { name: ns } }, J, 201, undefined],
  ['create', 'POST', base, cm('a'), J, 201, undefined],
  ['create again', 'POST', base, cm('a'), J, 409, 'AlreadyExists'],
  ['create with a mismatched namespace', 'POST', base, cm('b', { namespace: 'other' }), J, 400, 'BadRequest'],
  ['create with the wrong kind', 'POST', base, { ...cm('b'), kind: 'Secret' }, J, 400, 'BadRequest'],
  ['create with an invalid name', 'POST', base, cm('UPPER'), J, 422, 'Invalid'],
  ['create with an invalid label value', 'POST', base, cm('b', { labels: { a: 'not ok!' } }), J, 422, 'Invalid'],
  ['create with malformed JSON', 'POST', base, '{"metadata":', J, 400, 'BadRequest'],
  ['create with an unknown media type', 'POST', base, 'x', 'text/csv', 415, 'UnsupportedMediaType'],
  ['create in a missing namespace', 'POST', '/api/v1/namespaces/nope-nope/configmaps', cm('b'), J, 404, 'NotFound'],
  ['dry-run create stores nothing', 'POST', `${base}?dryRun=All`, cm('dry'), J, 201, undefined],
  ['get the dry-run object', 'GET', `${base}/dry`, undefined, J, 404, 'NotFound'],
  ['get', 'GET', `${base}/a`, undefined, J, 200, undefined],
  ['get a missing object', 'GET', `${base}/missing`, undefined, J, 404, 'NotFound'],
  ['get an unknown resource', 'GET', `/api/v1/namespaces/${ns}/widgets`, undefined, J, 404, 'NotFound'],
  ['get a namespaced kind without namespace by name', 'GET', '/api/v1/configmaps/a', undefined, J, 404, 'NotFound'],
  ['list with a bad label selector', 'GET', `${base}?labelSelector=a%20in%20(`, undefined, J, 400, 'BadRequest'],
  ['list with an unsupported field selector', 'GET', `${base}?fieldSelector=spec.nodeName%3Dx`, undefined, J, 400, 'BadRequest'],
  ['list with an old exact resourceVersion', 'GET', `${base}?resourceVersion=1&resourceVersionMatch=Exact`, undefined, J, 410, 'Expired'],
  ['list with resourceVersionMatch but no resourceVersion', 'GET', `${base}?resourceVersionMatch=Exact`, undefined, J, 400, 'BadRequest'],
  ['update with a stale resourceVersion', 'PUT', `${base}/a`, cm('a', { resourceVersion: '1' }), J, 409, 'Conflict'],
  ['update with another name', 'PUT', `${base}/a`, cm('b'), J, 400, 'BadRequest'],
  ['update a missing object', 'PUT', `${base}/missing`, cm('missing'), J, 404, 'NotFound'],
  ['update on the collection', 'PUT', base, cm('a'), J, 405, 'MethodNotAllowed'],
  ['merge patch', 'PATCH', `${base}/a`, { data: { k2: 'v2' } }, MERGE, 200, undefined],
  ['JSON patch', 'PATCH', `${base}/a`, [{ op: 'add', path: '/data/k3', value: 'v3' }], JSONP, 200, undefined],
  ['JSON patch with a failing test', 'PATCH', `${base}/a`, [{ op: 'test', path: '/data/k', value: 'x' }], JSONP, 422, 'Invalid'],
  ['JSON patch that is not a list', 'PATCH', `${base}/a`, { op: 'add' }, JSONP, 400, 'BadRequest'],
  ['strategic merge patch on a built-in', 'PATCH', `${base}/a`, { metadata: { labels: { s: 'm' } } }, SMP, 200, undefined],
  ['patch with a stale resourceVersion', 'PATCH', `${base}/a`, { metadata: { resourceVersion: '1' } }, MERGE, 409, 'Conflict'],
  ['patch with an unknown patch type', 'PATCH', `${base}/a`, {}, 'application/json', 415, 'UnsupportedMediaType'],
  ['apply patch without fieldManager', 'PATCH', `${base}/a`, 'data: {k: v}', APPLY, 400, 'BadRequest'],
  ['apply patch creates', 'PATCH', `${base}/applied?fieldManager=test`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata: {x: "1"}\n', APPLY, 201, undefined],
  ['apply patch updates', 'PATCH', `${base}/applied?fieldManager=test`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata: {y: "2"}\n', APPLY, 200, undefined],
  ['patch a missing object', 'PATCH', `${base}/missing`, {}, MERGE, 404, 'NotFound'],
  ['status of a kind without status', 'GET', `${base}/a/status`, undefined, J, 404, 'NotFound'],
  ['log of a configmap', 'GET', `${base}/a/log`, undefined, J, 404, 'NotFound'],
  ['delete with a bad propagation policy', 'DELETE', `${base}/a`, { propagationPolicy: 'Sideways' }, J, 422, 'Invalid'],
  ['delete with a wrong uid precondition', 'DELETE', `${base}/a`, { preconditions: { uid: 'x' } }, J, 409, 'Conflict'],
  ['delete', 'DELETE', `${base}/a`, undefined, J, 200, undefined],
  ['delete again', 'DELETE', `${base}/a`, undefined, J, 404, 'NotFound'],
  ['delete a protected namespace', 'DELETE', '/api/v1/namespaces/default', undefined, J, 403, 'Forbidden'],
  ['watch from a malformed resourceVersion', 'GET', `${base}?watch=1&resourceVersion=x`, undefined, J, 400, 'BadRequest'],
  ['watch with resourceVersionMatch but no sendInitialEvents', 'GET', `${base}?watch=1&resourceVersionMatch=NotOlderThan&resourceVersion=1`, undefined, J, 400, 'BadRequest'],
  ['watch with sendInitialEvents but no bookmarks', 'GET', `${base}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`, undefined, J, 400, 'BadRequest'],
  ['a legacy /watch/ path', 'GET', `/api/v1/watch/namespaces/${ns}/configmaps?timeoutSeconds=1`, undefined, J, 200, undefined],
  ['eviction of a missing pod', 'POST', `/api/v1/namespaces/${ns}/pods/none/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'none' } }, J, 404, 'NotFound'],
  ['an unknown API group', 'GET', '/apis/nope.example.com/v1', undefined, J, 404, 'NotFound'],
  ['a CRD with an empty schema', 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    metadata: { name: 'xs.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'xs', kind: 'X' }, versions: [{ name: 'v1', served: true, storage: true }] },
  }, J, 422, 'Invalid'],
];

test.each(rows)('%s: %s %s', async (_what, method, path, body, contentType, code, reason) => {
  const r = await f.http(method, path, body, contentType);
  expect({ code: r.status, reason: r.json?.kind === 'Status' ? r.json.reason : undefined }).toEqual({ code, reason: code < 300 ? undefined : reason });
  if (code >= 400) expect(r.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code });
});
