// The argument-list generator of the differential tool-policy test: deterministic per seed, at
// least 1,000 distinct lists per tool written the ways an attacker writes them, and every list
// confined to the run's temporary directory and the throwaway namespace.
import { describe, expect, test } from '@jest/globals';
import { assertContained, substitute } from './policy-diff/contain.js';
import { DIFF_TOOLS, generateArgvs } from './policy-diff/generate.js';
import { createRng } from './policy-diff/prng.js';
import { policyVerdict } from './policy-diff/run-diff.js';

const PLACES = { tmp: '/tmp/snp-diff-Zz9Zz9/t', decoyNs: 'snp-diff-decoy-0a1b2c3d' };

describe('generator', () => {
  test('the PRNG is a pure function of its seed', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  test.each([...DIFF_TOOLS])('%s: 1,000 distinct lists, the same for the same seed, others for another seed', (tool) => {
    const one = generateArgvs(tool, 1000, 16);
    expect(one).toHaveLength(1000);
    expect(new Set(one.map((g) => JSON.stringify(g.argv))).size).toBe(1000);
    expect(generateArgvs(tool, 1000, 16)).toEqual(one);
    expect(generateArgvs(tool, 50, 17).map((g) => g.argv)).not.toEqual(one.slice(0, 50).map((g) => g.argv));
  });

  test.each([...DIFF_TOOLS])('%s: every list stays inside the temporary directory and the namespace', (tool) => {
    for (const g of generateArgvs(tool, 1000, 16)) {
      expect(() => assertContained(tool, substitute(g.argv, PLACES), PLACES)).not.toThrow();
    }
  });

  test.each([...DIFF_TOOLS])('%s: both allowed and refused lists are generated', (tool) => {
    const verdicts = generateArgvs(tool, 1000, 16).map((g) => policyVerdict(tool, g.argv));
    expect(verdicts.some((v) => v.readOnly || v.mutating)).toBe(true);
    // ping, tracepath, traceroute and nslookup have no refused options in the policy: every list is allowed
    if (!['ping', 'tracepath', 'traceroute', 'nslookup'].includes(tool)) expect(verdicts.some((v) => !v.readOnly && !v.mutating)).toBe(true);
  });

  test('lists are written as an attacker writes them', () => {
    const all = (tool: (typeof DIFF_TOOLS)[number]): string[][] => generateArgvs(tool, 1000, 16).map((g) => g.argv);
    const iperf3 = all('iperf3');
    expect(iperf3.some((a) => a.some((w) => /^-[A-Za-z0-9]{2,}$/.test(w)))).toBe(true); // clusters
    expect(iperf3.some((a) => a.some((w) => /^--[a-z-]+=/.test(w)))).toBe(true); // = forms
    expect(iperf3.some((a) => a.some((w) => /^--se?r?v?e?$/.test(w) && w.length < '--server'.length))).toBe(true); // abbreviations
    expect(iperf3.some((a) => a.join(' ').includes('--server -F {{T}}/'))).toBe(true);
    const tcpdump = all('tcpdump');
    expect(tcpdump.some((a) => a.includes('--'))).toBe(true);
    expect(tcpdump.some((a) => a[0] === 'icmp' || a[0] === 'host' || a[0] === 'tcp')).toBe(true); // options after operands
    expect(all('tc').some((a) => a.join(' ').startsWith('qdisc l dev sd0'))).toBe(true);
    expect(all('ip').some((a) => /^[a-z]{1,3}$/.test(a[0] ?? '') && !['ip'].includes(a[0]!))).toBe(true);
    expect(all('dig').some((a) => a.some((w) => /^\+tls-ca=\{\{T\}\}/.test(w)))).toBe(true);
    const curl = all('curl');
    expect(curl.some((a) => a.some((w) => w.startsWith('@{{T}}')))).toBe(true);
    expect(curl.some((a) => a.includes('socks5h://localhost{{T}}/sock'))).toBe(true);
    expect(curl.some((a) => a.some((w) => w.startsWith('file:')))).toBe(true);
    expect(all('conntrack').some((a) => a.join(' ').includes('--dst-nat -D'))).toBe(true);
  });
});

describe('containment check', () => {
  const refused: Array<[string, string[]]> = [
    ['iperf3', ['-s', '--logfile', '/etc/passwd']],
    ['curl', ['http://192.0.2.1/']],
    ['curl', ['-x', 'socks5h://localhost/var/run/docker.sock', 'http://127.0.0.1/']],
    ['curl', ['-b', '@/etc/shadow']],
    ['dig', ['@8.8.8.8', 'example.com']],
    ['ping', ['10.0.0.1']],
    ['tcpdump', ['-w', `${PLACES.tmp}/../../etc/x`]],
    ['ip', ['-all', 'netns', 'del']],
    ['ip', ['link', 'set', 'sd0', 'netns', '1']],
    ['ip', ['netns', 'del', 'someone-elses']],
    ['iperf3', ['-s', '--pidfile', '/dev/null']],
  ];
  test.each(refused)('%s %j is refused before it runs', (tool, argv) => {
    expect(() => assertContained(tool, argv, PLACES)).toThrow(/refusing to run/);
  });

  test('paths in the temporary directory, loopback URLs and address prefixes pass', () => {
    expect(() => assertContained('curl', ['-o', '/dev/null', '-x', `socks5h://localhost${PLACES.tmp}/sock`, 'http://[::1]:8080/a/b', 'localhost:80/x'], PLACES)).not.toThrow();
    expect(() => assertContained('ip', ['route', 'add', '10.253.8.0/24', 'via', '10.253.7.2'], PLACES)).not.toThrow();
    expect(() => assertContained('ip', ['netns', 'add', PLACES.decoyNs], PLACES)).not.toThrow();
  });
});
