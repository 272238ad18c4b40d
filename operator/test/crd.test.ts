import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoPath } from '../../lib/repo-root.js';
import { checkAgainstSchema, crdFiles, customResourceDefinition } from '../../lib/api/crd-definitions.js';
import { SNOOPYJOB, SnoopyDataEndpointSpec, SnoopyJobSpec } from '../../lib/api/schema.js';

describe('CRDs generated from the schema source', () => {
  test('the committed infra/crds YAML equals the generated YAML', () => {
    const files = crdFiles();
    expect(files.map((f) => f.file).sort()).toEqual(['data.fennecproject.io_snoopydataendpoints.yaml', 'job.fennecproject.io_snoopyjobs.yaml']);
    for (const { file, yaml } of files) expect(readFileSync(repoPath('infra', 'crds', file), 'utf8')).toBe(yaml);
  });

  test('SnoopyJob CRD: names, short name, status subresource, printer columns, structural spec', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a plain, untyped YAML tree
    const crd = customResourceDefinition(SNOOPYJOB) as any;
    expect(crd.metadata.name).toBe('snoopyjobs.job.fennecproject.io');
    expect(crd.spec.names.shortNames).toEqual(['sj']);
    const v = crd.spec.versions[0];
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(['Command', 'Target Namespace', 'Phase', 'Targets', 'Age']);
    const spec = v.schema.openAPIV3Schema.properties.spec;
    expect(spec.required).toEqual(['command', 'labelSelector']);
    expect(spec.properties.timer.default).toBe('1m');
    expect(spec.properties.labelSelector).toEqual({ type: 'object', additionalProperties: { type: 'string' }, minProperties: 1, description: expect.any(String) });
    // structural: every node has a type, no patternProperties or bare anyOf anywhere
    const text = JSON.stringify(crd);
    expect(text).not.toContain('patternProperties');
    expect(text).not.toContain('anyOf');
    expect(text).not.toContain('"const"');
  });

  test('the seed samples validate unchanged, with defaults filled in', () => {
    const job = parse(SEED_JOB) as { spec: Record<string, unknown> };
    const spec = { ...job.spec };
    expect(checkAgainstSchema(SnoopyJobSpec, spec)).toEqual([]);
    expect(spec.suspend).toBe(false);
    const de = { serviceName: 'snoopy-data-svc', servicePort: 51001 } as Record<string, unknown>;
    expect(checkAgainstSchema(SnoopyDataEndpointSpec, de)).toEqual([]);
    expect(de.mode).toBe('auto');
  });

  test('the repository samples validate against the schema', () => {
    for (const file of ['job_v1alpha1_snoopyjob_packet_capture.yaml', 'job_v1alpha1_snoopyjob_scheduled.yaml', 'job_v1alpha1_snoopyjob_iperf3.yaml']) {
      const doc = parse(readFileSync(repoPath('infra', 'samples', 'snoopy', file), 'utf8')) as { spec: Record<string, unknown> };
      expect({ file, problems: checkAgainstSchema(SnoopyJobSpec, { ...doc.spec }) }).toEqual({ file, problems: [] });
    }
  });

  test('schema problems name their field', () => {
    const problems = checkAgainstSchema(SnoopyJobSpec, { command: 'ping', labelSelector: {}, timer: 'soon', maxBytes: 0 });
    const fields = problems.map((p) => p.field).sort();
    expect(fields).toEqual(['spec.labelSelector', 'spec.maxBytes', 'spec.timer']);
    expect(problems.find((p) => p.field === 'spec.timer')!.message).toContain('must match pattern');
  });
});

// The seed's sample, verbatim (flow-style map included).
const SEED_JOB = `apiVersion: job.fennecproject.io/v1alpha1
kind: SnoopyJob
metadata:
  name: snoopy-samplejob
spec:
  command: "tcpdump"
  args: "-i eth0 -U -w -"
  labelSelector: {
    networkMonitor: "true",
  }
  targetNamespace: cnf-telco
  timer: "2m"
  dataServiceIP: "snoopy-data-svc.snoopy-operator.svc.cluster.local"
  dataServicePort: "51001"
`;
