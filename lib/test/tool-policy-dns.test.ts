// dig and nslookup: every option the installed tools document (dig -h, the dig and nslookup man
// pages, captured under tool-options/) is classified here and checked against the policy. A
// newly documented one that these tables lack fails the test.

import { describe, expect, test } from '@jest/globals';
import { DEFAULT_TOOL_POLICY, type ToolPolicy } from '../tool-policy.js';
import { allowed, errorOf as refusal } from './policy-verdict.js';
import { DIG_DASH_VALUE, DIG_PLUS_KEYWORDS, parseDigDash, parseDigPlus } from '../tool-policy/tools/dig.js';
import { nslookupOption } from '../tool-policy/tools/nslookup.js';
import { documentedOptions, sections, toolOptionsText } from './tool-options/iproute-docs.js';

const MUTATING: ToolPolicy = { ...DEFAULT_TOOL_POLICY, allowMutating: true };
/** The refusal with mutating tools allowed: what is left is refused for its own sake. */
const errorOf = (tool: string, args: string): string => refusal(tool, args, MUTATING);

const DIG_HELP = toolOptionsText('dig.help.txt');
const DIG_MAN = toolOptionsText('dig.man-options.txt').replace(/\\-/g, '-');

/** dig's "-" options: allowed, or refused because they read a file. */
const DIG_DASH: Record<string, 'allowed' | 'file'> = {
  '-4': 'allowed', '-6': 'allowed', '-b': 'allowed', '-c': 'allowed', '-f': 'file', '-h': 'allowed', '-k': 'file',
  '-m': 'allowed', '-p': 'allowed', '-q': 'allowed', '-r': 'allowed', '-t': 'allowed', '-u': 'allowed', '-v': 'allowed',
  '-x': 'allowed', '-y': 'allowed',
};

/**
 * dig's "+" keywords: 'allowed' in every form; 'file': +KEYWORD=FILE reads the file (refused);
 * +KEYWORD alone and +noKEYWORD read none (+tls-ca alone uses the system's CA store).
 */
const DIG_PLUS: Record<string, 'allowed' | 'file'> = Object.fromEntries([
  ...['aaflag', 'aaonly', 'additional', 'adflag', 'all', 'answer', 'authority', 'badcookie', 'besteffort', 'bufsize',
    'cd', 'cdflag', 'class', 'cmd', 'co', 'coflag', 'comments', 'cookie', 'crypto', 'defname', 'dns64prefix', 'dnssec',
    'do', 'domain', 'dscp', 'edns', 'ednsflags', 'ednsnegotiation', 'ednsopt', 'expandaaaa', 'expire', 'fail', 'fuzztime',
    'header-only', 'http-plain', 'http-plain-get', 'http-plain-post', 'https', 'https-get', 'https-post', 'identify',
    'idnin', 'idnout', 'ignore', 'keepalive', 'keepopen', 'multiline', 'ndots', 'nsid', 'nssearch', 'onesoa', 'opcode',
    'padding', 'qid', 'qr', 'question', 'raflag', 'rdflag', 'recurse', 'retry', 'rrcomments', 'search', 'short',
    'showbadcookie', 'showsearch', 'sigchase', 'split', 'stats', 'subnet', 'tcflag', 'tcp', 'timeout', 'tls',
    'tls-hostname', 'topdown', 'trace', 'tries', 'trusted-key', 'ttlid', 'ttlunits', 'unknownformat', 'vc', 'yaml',
    'zflag'].map((k) => [k, 'allowed']),
  ['tls-ca', 'file'], ['tls-certfile', 'file'], ['tls-keyfile', 'file'],
]);

describe('dig: every documented option is classified', () => {
  test('the captured data is dig 9.18', () => {
    expect(DIG_HELP).toContain('DiG 9.18');
  });

  test('"-" options', () => {
    const documented = [...documentedOptions(`${DIG_HELP}\n${DIG_MAN}`)].filter((o) => o.length === 2).sort();
    expect(documented.filter((o) => !(o in DIG_DASH))).toEqual([]);
    expect(documented.length).toBe(Object.keys(DIG_DASH).length);
    for (const o of documented) {
      const kind = DIG_DASH[o]!;
      const forms = DIG_DASH_VALUE.includes(o[1]!)
        ? [`${o} value example.com`, `${o}value example.com`, `-4${o.slice(1)} value example.com`, `-4m${o.slice(1)}value example.com`]
        : [`${o} example.com`, `-4${o.slice(1)} example.com`, `-u${o.slice(1)}q example.com`];
      for (const args of forms) {
        expect([args, allowed('dig', args), allowed('dig', args, MUTATING)]).toEqual([args, kind === 'allowed', kind === 'allowed']);
      }
    }
  });

  test('"+" keywords, as +KEYWORD, +noKEYWORD and with a value', () => {
    const documented = new Set<string>();
    for (const m of `${DIG_HELP}\n${DIG_MAN}`.matchAll(/(?<=^|[\s,(])\+(?:\[no\])?([a-z0-9][a-z0-9-]*)/gm)) {
      // "+keyword[=value]" is the help's grammar, not an option
      if (m[1] !== 'keyword') documented.add(parseDigPlus(`+${m[1]!}`).keyword);
    }
    expect(documented.size).toBeGreaterThan(80);
    expect([...documented].filter((k) => !(k in DIG_PLUS)).sort()).toEqual([]);
    for (const k of documented) {
      // dig reads each keyword as one of those it is a prefix of
      const candidates = parseDigPlus(`+${k}`).candidates;
      expect([k, candidates.length > 0, candidates.length === 1 || !DIG_PLUS_KEYWORDS.includes(k)]).toEqual([k, true, true]);
      const kind = DIG_PLUS[k]!;
      const forms: Array<[string, boolean]> = [
        [`+${k}`, true],
        [`+no${k}`, true],
        [`+${k}=/etc/ssl/private/key.pem`, kind === 'allowed'],
        [`+no${k}=/etc/ssl/private/key.pem`, true],
      ];
      for (const [form, ok] of forms) expect([form, allowed('dig', `@10.96.0.10 example.com ${form}`)]).toEqual([form, ok]);
    }
  });

  test('abbreviated and disguised TLS file options are refused (the security review\'s hole)', () => {
    for (const w of [
      '+tls-ca=/etc/ssl/ca.pem', '+tls-cert=/k', '+tls-certfile=/k', '+tls-key=/k', '+tls-keyfile=/k', '+tls-ce=/k',
      '+tls-k=/k', '+tls-c=/k', '+=tls-ca=/k', '+==tls-key=/k', '+TLS-CA=/k', '+tls-Keyfile=/k', '+tls-=/k', '+tls-ca=',
    ]) {
      expect([w, errorOf('dig', `+tls @10.96.0.10 example.com ${w}`)]).toEqual([w, expect.stringMatching(/file named/)]);
    }
    for (const w of ['+tls-ca', '+notls-ca=/k', '+NOtls-keyfile=/k', '+tls-hostname=dns.example', '+tls', '+notls-certfile', '+tls-h=dns.example']) {
      expect([w, allowed('dig', `+tls @10.96.0.10 example.com ${w}`)]).toEqual([w, true]);
    }
  });

  test('"-" clusters and values are read as dig reads them', () => {
    expect(parseDigDash('-4f', 'names')).toEqual({ flags: '4', letter: 'f', value: 'names', usesNext: true });
    expect(parseDigDash('-dk', 'key')).toEqual({ flags: 'd', letter: 'k', value: 'key', usesNext: true });
    expect(parseDigDash('-kkey', 'x')).toEqual({ flags: '', letter: 'k', value: 'key', usesNext: false });
    expect(parseDigDash('-debug', 'x')).toEqual({ flags: 'd', usesNext: false });
    for (const args of ['-f names', '-4f names', '-4mf names', '-fnames', '-k key example.com', '-dk key example.com', '-ukkey example.com']) {
      expect([args, allowed('dig', args, MUTATING)]).toEqual([args, false]);
    }
    // the word after -q, -t, -x … is their value, not an option
    for (const args of ['-q -f example.com', '-t -k', '-x 10.0.0.1 -p 53', '-y hmac-sha256:name:c2VjcmV0 example.com', '@10.96.0.10 -r -u example.com']) {
      expect([args, allowed('dig', args)]).toEqual([args, true]);
    }
    expect(errorOf('dig', '-z example.com')).toContain('not a dig option');
    expect(errorOf('dig', '+nosuchoption example.com')).toContain('not a dig +option');
    expect(errorOf('dig', '+ example.com')).toContain('not a dig +option');
  });
});

const NSLOOKUP = sections(toolOptionsText('nslookup.man-options.txt')).get('nslookup.1 option heads')!;

/** nslookup.1's heads: interactive commands (read from standard input, never from argv), then `set` keywords. */
const NSLOOKUP_DOCUMENTED: Record<string, string> = {
  // interactive commands: podtracer's standard input is /dev/null, so none can arrive
  host: 'interactive', server: 'interactive', lserver: 'interactive', root: 'interactive', finger: 'interactive',
  ls: 'interactive', view: 'interactive', help: 'interactive', '?': 'interactive', exit: 'interactive', set: 'interactive',
  // `set` keywords, which are also the "-" options: what nslookup reads them as
  all: 'all', 'class=': 'class=', nodebug: 'nodebug', nod2: 'nod2', 'domain=': 'domain=', nosearch: 'nosearch',
  'port=': 'port=', 'querytype=': 'querytype=', 'type=': 'type=', norecurse: 'norecurse', 'ndots=': 'ndots=',
  'retry=': 'retry=', 'timeout=': 'timeout=', novc: 'novc', nofail: 'nofail',
};

describe('nslookup: every documented option is classified', () => {
  const heads = NSLOOKUP.split('\n').filter((l) => l.startsWith('.B'));
  const setAt = heads.findIndex((l) => l.includes('set keyword'));

  test('the captured data is nslookup 9.18 and lists its set keywords', () => {
    expect(toolOptionsText('nslookup.man-options.txt')).toContain('nslookup 9.18');
    expect(setAt).toBeGreaterThan(0);
  });

  test('interactive commands and set keywords', () => {
    const documented = new Set<string>();
    for (const [i, l] of heads.entries()) {
      for (const m of l.matchAll(/\\fB([^\\]+)\\fP/g)) {
        const word = m[1]!.split(' ')[0]!.replace(/=.*$/, '=');
        // class values (IN, CH, …) are values of class=, not keywords
        if (i > setAt && /^[A-Z]+$/.test(word)) continue;
        documented.add(word);
      }
    }
    expect([...documented].filter((w) => !(w in NSLOOKUP_DOCUMENTED)).sort()).toEqual([]);
    for (const w of documented) {
      const kind = NSLOOKUP_DOCUMENTED[w]!;
      if (kind === 'interactive') continue;
      expect([w, nslookupOption(`-${w}`)]).toEqual([w, kind]);
      const arg = w.endsWith('=') ? `-${w}${w === 'class=' ? 'IN' : '1'}` : `-${w}`;
      expect([arg, allowed('nslookup', `${arg} kubernetes.default 10.96.0.10`)]).toEqual([arg, true]);
      // the positive form of each "no" flag
      if (w.startsWith('no')) expect([w, allowed('nslookup', `-${w.slice(2)} example.com`)]).toEqual([w, true]);
    }
  });

  test('prefixes as setoption() reads them; interactive mode is allowed', () => {
    expect(nslookupOption('-deb')).toBe('debug');
    expect(nslookupOption('-de')).toBeUndefined(); // debug needs 3 letters
    expect(nslookupOption('-TYPE=MX')).toBe('type=');
    expect(nslookupOption('-q=MX')).toBe('q=');
    expect(nslookupOption('-version')).toBe('version');
    expect(nslookupOption('-sil')).toBe('sil');
    expect(allowed('nslookup', '')).toBe(true);
    expect(allowed('nslookup', '- 10.96.0.10')).toBe(true);
    expect(errorOf('nslookup', '-nosuch example.com')).toContain('not an nslookup option');
  });
});
