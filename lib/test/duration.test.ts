import { describe, expect, test } from '@jest/globals';
import { parseDuration, formatDuration, DurationError, durationSeconds } from '../duration.js';

describe('parseDuration', () => {
  test.each([
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['5d', 432_000_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['2h45m', 9_900_000],
    ['1d2h3m4s', 93_784_000],
    ['0', 0],
    ['500us', 0.5],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 6);
  });

  test.each(['', '10', '-1s', '1x', 's', '1h 30m', '1..5s', 'abc'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
  });

  test('seconds round up and formatting round-trips', () => {
    expect(durationSeconds('1500ms')).toBe(2);
    expect(formatDuration(parseDuration('1h30m'))).toBe('1h30m');
    expect(formatDuration(parseDuration('5d'))).toBe('5d');
  });
});
