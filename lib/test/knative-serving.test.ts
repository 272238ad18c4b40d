// The Knative contract the parts share: reserved ports, the upload timeout chain, tag resolution.
import { describe, expect, test } from '@jest/globals';
import { COLLECTOR_METRICS_PORT, COLLECTOR_TIMEOUTS, RESERVED_PORTS, UPLOAD_DEADLINE_MS, imageRegistry, isReservedPort, needsTagResolution, uploadTimeoutProblems } from '../knative-serving.js';

describe('queue-proxy ports', () => {
  test('are the five Knative reserves, and no default of ours', () => {
    expect([...RESERVED_PORTS].sort()).toEqual([8012, 8013, 8022, 9090, 9091]);
    expect(isReservedPort(9090)).toBe(true);
    expect(isReservedPort(COLLECTOR_METRICS_PORT)).toBe(false);
    expect(isReservedPort(8080)).toBe(false);
  });
});

describe('upload timeout chain', () => {
  test('the shipped values hold, with the default upload deadline (podtracer\'s default: podtracer/test/cli-summary)', () => {
    expect(uploadTimeoutProblems(COLLECTOR_TIMEOUTS, UPLOAD_DEADLINE_MS)).toEqual([]);
  });

  test('each broken link is named', () => {
    // the manifest before the fix, with podtracer's old 2 min deadline
    expect(uploadTimeoutProblems({ timeoutSeconds: 600, responseStartTimeoutSeconds: 600, idleTimeoutSeconds: 120 }, 120_000)).toEqual([expect.stringMatching(/^idleTimeoutSeconds 120 is below timeoutSeconds 600/)]);
    expect(uploadTimeoutProblems({ timeoutSeconds: 300 }, UPLOAD_DEADLINE_MS)).toEqual([expect.stringMatching(/^timeoutSeconds 300 must exceed podtracer's upload deadline \(540 s\)/)]);
    expect(uploadTimeoutProblems({ timeoutSeconds: 900, idleTimeoutSeconds: 900 }, UPLOAD_DEADLINE_MS)).toEqual([
      "timeoutSeconds 900 exceeds Knative's max-revision-timeout-seconds (600)",
      "idleTimeoutSeconds 900 exceeds Knative's max-revision-timeout-seconds (600)",
    ]);
    expect(uploadTimeoutProblems({ timeoutSeconds: 600, responseStartTimeoutSeconds: 30, idleTimeoutSeconds: 0 })).toEqual([]); // 0: no idle limit
  });
});

describe('tag resolution', () => {
  test.each([
    ['snoopy/collector:dev', 'docker.io', true],
    ['busybox', 'docker.io', true],
    ['registry.example:5000/team/snoopy/collector:v1', 'registry.example:5000', true],
    ['localhost/snoopy/collector:dev', 'localhost', true],
    ['kind.local/snoopy/collector:dev', 'kind.local', false],
    ['KO.local/x', 'ko.local', false],
    ['dev.local/busybox', 'dev.local', false],
    [`snoopy/collector@sha256:${'a'.repeat(64)}`, 'docker.io', false],
  ])('%s: registry %s, resolved %s', (image, registry, resolved) => {
    expect(imageRegistry(image)).toBe(registry);
    expect(needsTagResolution(image)).toBe(resolved);
  });

  test('a skip list replaces the default', () => {
    expect(needsTagResolution('registry.example/snoopy/collector:v1', ['registry.example'])).toBe(false);
    expect(needsTagResolution('kind.local/snoopy/collector:v1', ['registry.example'])).toBe(true);
  });
});
