import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig, mergeConfigMap } from '../config.js';

describe('operator configuration', () => {
  test('defaults (operator/README.md)', () => {
    const c = loadConfig({}, 'host');
    expect(c).toMatchObject({
      namespace: 'snoopy-operator',
      podtracerImage: 'snoopy/podtracer:latest',
      collectorImage: 'snoopy/collector:latest',
      allowCrossNamespace: false,
      privileged: false,
      leaderElection: true,
      metricsPort: 8081,
      captureServiceAccount: 'snoopy-capture',
      drainSeconds: 10,
    });
    expect(c.toolPolicy.allowedTools).toContain('tcpdump');
    expect(c.sink).toBeUndefined();
    expect(c.renewDeadlineSeconds).toBeLessThan(c.leaseDurationSeconds);
  });

  test('environment values, with a precise error for a bad one', () => {
    const c = loadConfig({ SNOOPY_NAMESPACE: 'ops', SNOOPY_ALLOWED_TOOLS: 'ping, ss', SNOOPY_ALLOW_CROSS_NAMESPACE: 'true', SNOOPY_PRIVILEGED: '1', K_SINK: 'http://sink/', POD_NAME: 'op-0' });
    expect(c).toMatchObject({ namespace: 'ops', allowCrossNamespace: true, privileged: true, sink: 'http://sink/', identity: 'op-0' });
    expect(c.toolPolicy.allowedTools).toEqual(['ping', 'ss']);
    expect(() => loadConfig({ SNOOPY_PRIVILEGED: 'sometimes' })).toThrow(new ConfigError('SNOOPY_PRIVILEGED="sometimes" is not a boolean (true/false)'));
    expect(() => loadConfig({ METRICS_PORT: '80a' })).toThrow('METRICS_PORT="80a" is not an integer');
    expect(() => loadConfig({ SNOOPY_LEASE_DURATION_SECONDS: '5', SNOOPY_RENEW_DEADLINE_SECONDS: '5' })).toThrow('must be shorter');
  });

  test('the flood knobs reach the tool policy; a malformed one is a ConfigError', () => {
    const c = loadConfig({ SNOOPY_MIN_PING_INTERVAL: '0.2', SNOOPY_TRAFFIC_CIDRS: '10.0.0.0/8 fd00::/8', SNOOPY_MAX_CURL_URLS: '10' });
    expect(c.toolPolicy).toMatchObject({ minPingIntervalSeconds: 0.2, trafficCidrs: ['10.0.0.0/8', 'fd00::/8'], maxCurlUrls: 10 });
    expect(() => loadConfig({ SNOOPY_TRAFFIC_CIDRS: '10.0.0.0/99' })).toThrow(ConfigError);
    expect(() => loadConfig({ SNOOPY_MIN_PING_INTERVAL: '-1' })).toThrow('SNOOPY_MIN_PING_INTERVAL');
  });

  test('per-node capture settings: the default, the per-target design, bounded status, readable quantities', () => {
    const c = loadConfig({}, 'host');
    expect(c).toMatchObject({ capturePods: 'per-node', statusTargets: 100, captureResourcesPerTarget: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '128Mi' } } });
    expect(loadConfig({ SNOOPY_CAPTURE_PODS: 'per-target', SNOOPY_STATUS_TARGETS: '20' })).toMatchObject({ capturePods: 'per-target', statusTargets: 20 });
    expect(() => loadConfig({ SNOOPY_CAPTURE_PODS: 'per-pod' })).toThrow(new ConfigError('SNOOPY_CAPTURE_PODS="per-pod" is not one of per-node, per-target'));
    expect(() => loadConfig({ SNOOPY_STATUS_TARGETS: '301' })).toThrow('is above 300');
    expect(() => loadConfig({ SNOOPY_CAPTURE_MEMORY_REQUEST_PER_TARGET: 'lots' })).toThrow(ConfigError);
  });

  test('a ConfigMap supplies what the environment does not set', () => {
    const merged = mergeConfigMap({ SNOOPY_NAMESPACE: 'from-env', K_SINK: '' }, { SNOOPY_NAMESPACE: 'from-cm', K_SINK: 'http://cm-sink/', SNOOPY_PRIVILEGED: 'true' });
    expect(loadConfig(merged)).toMatchObject({ namespace: 'from-env', sink: 'http://cm-sink/', privileged: true });
  });
});
