// The sandbox's argv chain and status mapping, pure (sandbox.test.ts runs them for real).
import { describe, expect, test } from '@jest/globals';
import { FSIZE_SLACK_BYTES, SANDBOX_NPROC, SANDBOX_SCRIPT, SANDBOX_UID_MAX, SANDBOX_UID_MIN, sandboxArgv, toolCapabilities, toolEnd } from '../sandbox.js';

const base = { procRoot: '/host/proc', netnsPath: '/host/proc/42/ns/net', allowMutating: false };

describe('sandboxArgv', () => {
  test('a fixed chain; the tool argv comes last, as arguments, never in the script', () => {
    const evil = ['-i', 'eth0', '$(touch /x)', '; reboot', '"\'`'];
    const argv = sandboxArgv({ ...base, command: 'tcpdump', argv: evil, uid: 2_000_000_123 });
    expect(argv.slice(0, 13)).toEqual([
      'nsenter', '--net=/host/proc/42/ns/net', '--',
      'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--',
      'sh', '-c',
    ]);
    expect(argv[13]).toBe(SANDBOX_SCRIPT);
    expect(argv.slice(14)).toEqual([
      'podtracer-sandbox', '2000000123', '-all,+net_raw,+setgid,+setuid', String(SANDBOX_NPROC), 'unlimited', String(256 * 1024 * 1024), '/host/proc',
      'tcpdump', ...evil,
    ]);
    for (const word of evil.slice(2)) expect(SANDBOX_SCRIPT).not.toContain(word);
  });

  test('capabilities per tool, NET_ADMIN only when mutating tools are allowed (conntrack always)', () => {
    expect(toolCapabilities('ip', false)).toEqual(['net_raw']);
    expect(toolCapabilities('ip', true)).toEqual(['net_admin', 'net_raw']);
    expect(toolCapabilities('conntrack', false)).toEqual(['net_admin', 'net_raw']);
    expect(toolCapabilities('tcpdump', true)).toEqual(['net_admin', 'net_raw', 'setgid', 'setuid']);
    expect(toolCapabilities('something-configured', false)).toEqual(['net_raw']);
  });

  test('RLIMIT_FSIZE is --max-bytes plus the slack; a random real uid per capture, 0 for ping and tshark', () => {
    const argv = sandboxArgv({ ...base, command: 'iperf3', argv: [], maxBytes: 1000 });
    expect(argv[18]).toBe(String(1000 + FSIZE_SLACK_BYTES));
    const uid = Number(argv[15]);
    expect(uid).toBeGreaterThanOrEqual(SANDBOX_UID_MIN);
    expect(uid).toBeLessThan(SANDBOX_UID_MAX);
    expect(sandboxArgv({ ...base, command: 'ping', argv: [], uid: 2_000_000_001 })[15]).toBe('0');
    expect(sandboxArgv({ ...base, command: 'tshark', argv: [] })[15]).toBe('0');
  });
});

describe('toolEnd', () => {
  test('128 + N from the sandbox init is signal N; everything else as it came', () => {
    expect(toolEnd(130, null)).toEqual({ code: null, signal: 'SIGINT' });
    expect(toolEnd(137, null)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(toolEnd(153, null)).toEqual({ code: null, signal: 'SIGXFSZ' });
    expect(toolEnd(0, null)).toEqual({ code: 0, signal: null });
    expect(toolEnd(128, null)).toEqual({ code: 128, signal: null });
    expect(toolEnd(125, null)).toEqual({ code: 125, signal: null });
    expect(toolEnd(null, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(toolEnd(255, null)).toEqual({ code: 255, signal: null });
  });
});
