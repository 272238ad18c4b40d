import { describe, expect, test } from '@jest/globals';
import { segmentKey, parseSegmentKey, sanitizeKeyElement, KeyError, captureTargetPrefix, summaryKey, nodeManifestKey, nodeManifestPrefix, parseNodeManifestKey, parseEvidenceKey, evidenceKey } from '../storage-keys.js';

const base = {
  snoopyJobNamespace: 'snoopy-operator',
  snoopyJob: 'snoopy-samplejob',
  captureId: 'c1',
  podNamespace: 'cnf-telco',
  pod: 'cnf-example-pod-1',
  sequence: 7,
  format: 'pcap' as const,
};

describe('storage keys', () => {
  test('layout of docs/design.md "Storage keys"', () => {
    expect(segmentKey(base)).toBe('snoopy-operator/snoopy-samplejob/c1/cnf-telco/cnf-example-pod-1/000007.pcap');
    expect(segmentKey({ ...base, prefix: '/captures//x/', format: 'text' })).toBe(
      'captures/x/snoopy-operator/snoopy-samplejob/c1/cnf-telco/cnf-example-pod-1/000007.txt',
    );
    expect(segmentKey({ ...base, format: 'pcapng', sequence: 123456 })).toMatch(/\/123456\.pcapng$/);
  });

  test('names cannot escape their element', () => {
    expect(segmentKey({ ...base, pod: '../../etc/passwd' })).toBe(
      'snoopy-operator/snoopy-samplejob/c1/cnf-telco/.._.._etc_passwd/000007.pcap',
    );
    expect(() => segmentKey({ ...base, pod: '..' })).toThrow(KeyError);
    expect(() => segmentKey({ ...base, captureId: '' })).toThrow(KeyError);
    expect(() => segmentKey({ ...base, sequence: 1_000_000 })).toThrow(KeyError);
    expect(sanitizeKeyElement('a b/c\\d')).toBe('a_b_c_d');
  });

  test('parse is the inverse of build', () => {
    const key = segmentKey({ ...base, prefix: 'p' });
    expect(parseSegmentKey(key)).toEqual({ ...base, prefix: 'p' });
    expect(parseSegmentKey('a/b/c')).toBeUndefined();
    expect(captureTargetPrefix(base)).toBe('snoopy-operator/snoopy-samplejob/c1/cnf-telco/cnf-example-pod-1/');
    expect(summaryKey('x/000001.pcap')).toBe('x/000001.pcap.summary.json');
  });

  test("a node's manifest sits in the run's _nodes/ folder, which no pod's keys reach", () => {
    const run = { prefix: 'p', snoopyJobNamespace: 'snoopy-operator', snoopyJob: 'fleet', captureId: 'c1' };
    expect(nodeManifestPrefix(run)).toBe('p/snoopy-operator/fleet/c1/_nodes/');
    expect(nodeManifestKey({ ...run, node: 'worker-1.example' })).toBe('p/snoopy-operator/fleet/c1/_nodes/worker-1.example.json');
    expect(nodeManifestKey({ ...run, prefix: undefined, node: 'n' })).toBe('snoopy-operator/fleet/c1/_nodes/n.json');
    expect(parseNodeManifestKey('p/snoopy-operator/fleet/c1/_nodes/worker-1.example.json')).toEqual({ ...run, node: 'worker-1.example' });
    expect(parseNodeManifestKey('snoopy-operator/fleet/c1/_nodes/n.json')).toEqual({ ...run, prefix: '', node: 'n' });
    expect(parseNodeManifestKey(segmentKey({ ...base, prefix: 'p' }))).toBeUndefined();
    expect(parseNodeManifestKey(evidenceKey({ ...base, prefix: 'p' }))).toBeUndefined();
    // a node named like a segment or the evidence object is still only a manifest
    for (const node of ['evidence', '000001']) {
      const key = nodeManifestKey({ ...run, node });
      expect(parseEvidenceKey(key)).toBeUndefined();
      expect(parseSegmentKey(key)).toBeUndefined();
    }
    expect(parseSegmentKey('p/snoopy-operator/fleet/c1/_nodes/000001.pcap')).toBeUndefined();
    expect(parseEvidenceKey('p/snoopy-operator/fleet/c1/_nodes/evidence.json')).toBeUndefined();
    expect(() => nodeManifestKey({ ...run, node: '..' })).toThrow(KeyError);
  });
});
