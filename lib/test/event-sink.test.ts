import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { EventSink } from '../event-sink.js';
import { createLogger } from '../log.js';
import { startRecordingSink, type RecordedEvent, type RecordingSink } from '../testing/event-sink-server.js';

// A real HTTP sink on loopback that records the headers and body of every POST.
let server: RecordingSink;
let received: RecordedEvent[];
let url: string;
const logger = createLogger('event-sink-test', 'silent');

beforeAll(async () => {
  server = await startRecordingSink();
  received = server.events;
  url = server.url;
});

afterAll(async () => {
  await server.close();
});

describe('EventSink', () => {
  test('K_CE_OVERRIDES names CloudEvents refuses are ignored; the valid ones still reach the sink', async () => {
    received.length = 0;
    const sink = new EventSink({ sink: url, overrides: JSON.stringify({ extensions: { 'Bad-Name': 'x', cluster: 'east' } }), logger });
    expect(() => sink.emit({ type: 'io.example.test', source: '/test', data: { n: 1 }, extensions: { node: 'n1' } })).not.toThrow();
    await sink.close();
    expect(sink.stats).toMatchObject({ sent: 1, failed: 0 });
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['ce-type']).toBe('io.example.test');
    expect(received[0]!.headers['ce-cluster']).toBe('east');
    expect(received[0]!.headers['ce-node']).toBe('n1');
    expect(received[0]!.body).toEqual({ n: 1 });
  });

  test('an event CloudEvents refuses is counted as failed, not thrown at the caller', async () => {
    received.length = 0;
    const sink = new EventSink({ sink: url, logger });
    expect(() => sink.emit({ type: 'io.example.test', source: '/test', extensions: { 'Not-Valid': 'x' } })).not.toThrow();
    sink.emit({ type: 'io.example.next', source: '/test' });
    await sink.close();
    expect(sink.stats).toMatchObject({ sent: 1, failed: 1 });
    expect(received.map((r) => r.headers['ce-type'])).toEqual(['io.example.next']);
  });

  test('K_CE_OVERRIDES adds extensions but never replaces the type, source or id of an event', async () => {
    received.length = 0;
    const overrides = JSON.stringify({ extensions: { type: 'io.example.forged', source: '/forged', id: 'fixed', cluster: 'east' } });
    const sink = new EventSink({ sink: url, overrides, logger });
    sink.emit({ type: 'io.example.real', source: '/real' });
    sink.emit({ type: 'io.example.real', source: '/real' });
    await sink.close();
    expect(received.map((r) => [r.headers['ce-type'], r.headers['ce-source'], r.headers['ce-cluster']])).toEqual([
      ['io.example.real', '/real', 'east'],
      ['io.example.real', '/real', 'east'],
    ]);
    expect(received[0]!.headers['ce-id']).not.toBe('fixed');
    expect(received[0]!.headers['ce-id']).not.toBe(received[1]!.headers['ce-id']);
  });
});
