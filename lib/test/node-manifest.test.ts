import { describe, expect, test } from '@jest/globals';
import { ManifestError, parseNodeManifest, type NodeManifest } from '../contracts/node-capture.js';
import { encodeNodeManifest } from '../node-manifest-client.js';

const manifest: NodeManifest = {
  node: 'worker-1',
  captureId: 'c1',
  job: { namespace: 'snoopy-operator', name: 'fleet' },
  targets: [
    {
      namespace: 'shop',
      pod: 'web-0',
      uid: 'u0',
      container: 'app',
      state: 'Succeeded',
      bytes: 10,
      segments: 1,
      packetsDroppedByKernel: 0,
      toolExitCode: 0,
      stopReason: 'target-gone',
      objects: ['snoopy-operator/fleet/c1/shop/web-0/000000.pcap'],
      startTime: '2026-12-08T00:00:00Z',
      completionTime: '2026-12-08T00:01:00Z',
    },
    { namespace: 'shop', pod: 'web-1', uid: 'u1', container: 'app', state: 'Failed', message: 'tcpdump exited 1', objects: [] },
  ],
};

describe('node manifest contract', () => {
  test('a manifest reads back as itself; unknown fields are dropped', () => {
    expect(parseNodeManifest(JSON.stringify(manifest))).toEqual(manifest);
    const extra = { ...manifest, extra: 1, targets: manifest.targets.map((t) => ({ ...t, secret: 'x' })) };
    expect(parseNodeManifest(JSON.stringify(extra))).toEqual(manifest);
    expect(encodeNodeManifest(manifest).toString()).toBe(JSON.stringify(manifest));
  });

  test('each field that is not the NodeManifest shape is named', () => {
    const t = manifest.targets[0]!;
    const bad: [unknown, string][] = [
      [null, 'manifest is not an object'],
      [{ ...manifest, node: '' }, 'manifest.node must be a node name'],
      [{ ...manifest, captureId: 3 }, 'manifest.captureId must be a capture id'],
      [{ ...manifest, job: { namespace: 'x' } }, 'manifest.job must be {namespace, name} of the SnoopyJob'],
      [{ ...manifest, targets: [1] }, 'manifest.targets[0] must be an object'],
      [{ ...manifest, targets: [{ ...t, container: '' }] }, 'manifest.targets[0].container must be a non-empty string'],
      [{ ...manifest, targets: [{ ...t, objects: 'a' }] }, 'manifest.targets[0].objects must be a list of storage keys'],
      [{ ...manifest, targets: [{ ...t, objects: [''] }] }, 'manifest.targets[0].objects must be a list of storage keys'],
      [{ ...manifest, targets: [{ ...t, segments: 1.5 }] }, 'manifest.targets[0].segments must be a whole number ≥ 0'],
      [{ ...manifest, targets: [{ ...t, toolExitCode: '1' }] }, 'manifest.targets[0].toolExitCode must be an integer'],
      [{ ...manifest, targets: [{ ...t, stopReason: 'bored' }] }, 'manifest.targets[0].stopReason is not a stop reason'],
      [{ ...manifest, targets: [{ ...t, startTime: 0 }] }, 'manifest.targets[0].startTime must be a string'],
    ];
    for (const [value, message] of bad) {
      expect(() => parseNodeManifest(JSON.stringify(value))).toThrow(new ManifestError(message));
    }
    expect(() => parseNodeManifest('nope')).toThrow(ManifestError);
    expect(() => encodeNodeManifest({ ...manifest, node: '' })).toThrow(ManifestError);
  });
});
