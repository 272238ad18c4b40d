import { describe, expect, test } from '@jest/globals';
import { cpuSeconds, processStartTime, readStatFields, statFields, statusKiB } from '../proc.js';

describe('/proc readers', () => {
  test('stat fields are split after the last parenthesis, whatever the command name holds', () => {
    const f = statFields('4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 12345 1000 200');
    expect(f[0]).toBe('S');
    expect(f[1]).toBe('17');
    expect(f[11]).toBe('7');
    expect(f[12]).toBe('3');
    expect(f[19]).toBe('12345');
  });

  test('this process: its state, a stable start time, memory; a PID that does not exist: nothing', () => {
    expect(readStatFields(process.pid)?.[0]).toMatch(/^[RS]$/);
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(processStartTime(process.pid)).toBe(start);
    expect(cpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(statusKiB(process.pid, 'VmRSS')).toBeGreaterThan(1000);
    expect(statusKiB(process.pid, 'VmHWM')).toBeGreaterThanOrEqual(statusKiB(process.pid, 'VmRSS') - 1000);
    // PIDs are below 2^22 on Linux
    expect(readStatFields(2 ** 23)).toBeUndefined();
    expect(cpuSeconds(2 ** 23)).toBe(0);
    expect(statusKiB(2 ** 23, 'VmRSS')).toBe(0);
  });
});
