// events.k8s.io/v1 Events and core v1 Events are one resource in two shapes, as on a real server:
// stored once (core shape), converted on the way in and out, so `kubectl describe` sees events
// written through either API.
import type { StatusCause } from './errors.js';
import { isPlainObject, type JsonObject, type KObject } from './types.js';

function defined(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** events.k8s.io/v1 field → core v1 field. */
const TO_CORE: Record<string, string> = {
  regarding: 'involvedObject', related: 'related', note: 'message', reason: 'reason', type: 'type',
  reportingController: 'reportingComponent', reportingInstance: 'reportingInstance', action: 'action', eventTime: 'eventTime',
  series: 'series', deprecatedSource: 'source', deprecatedFirstTimestamp: 'firstTimestamp', deprecatedLastTimestamp: 'lastTimestamp', deprecatedCount: 'count',
};
const TO_EVENTS = Object.fromEntries(Object.entries(TO_CORE).map(([a, b]) => [b, a]));

export function eventToCore(o: KObject): KObject {
  const out: JsonObject = { apiVersion: 'v1', kind: 'Event', metadata: o.metadata };
  for (const [k, v] of Object.entries(o)) if (TO_CORE[k]) out[TO_CORE[k]] = v;
  if (!isPlainObject(out.involvedObject)) out.involvedObject = {};
  return defined(out) as KObject;
}

export function coreToEvent(o: KObject): KObject {
  const out: JsonObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: o.metadata };
  for (const [k, v] of Object.entries(o)) if (TO_EVENTS[k]) out[TO_EVENTS[k]] = v;
  return defined(out) as KObject;
}

/** events.k8s.io/v1 field selector labels in core terms. */
export function eventFieldToCore(field: string): string {
  if (field.startsWith('regarding.')) return `involvedObject.${field.slice('regarding.'.length)}`;
  if (field === 'reportingController') return 'reportingComponent';
  return field;
}

/** What events.k8s.io/v1 requires of a new Event. */
export function validateNewEvent(o: KObject): StatusCause[] {
  const out: StatusCause[] = [];
  for (const f of ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']) {
    if (o[f] === undefined || o[f] === '') out.push({ reason: 'FieldValueRequired', field: f, message: 'Required value' });
  }
  return out;
}
