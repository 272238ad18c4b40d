// dig (BIND 9.18): words are read as dig's parse_args does. "-" options are single letters
// that cluster (flags -4 -6 -d -h -i -m -n -r -u -v, then at most one of -b -c -f -k -p -q -t
// -x -y, which takes the rest of the word or the next word). "+" options are
// +[no]keyword[=value] with the keyword abbreviated to any prefix dig can tell apart.
//
// What reads a file: -f (batch file), -k (TSIG key file), +tls-ca=FILE, +tls-certfile=FILE and
// +tls-keyfile=FILE (a CA bundle, client certificate and key dig presents to the server named).
// -y [hmac:]name:secret carries the TSIG secret in the argument itself and reads no file, so it
// is allowed; ~/.digrc (a fixed file in the capture container) is read unless -r is given.

import { NONE, type ToolRule } from '../rule.js';
import { refuseArg } from '../errors.js';

/** Flags dig accepts in any number at the start of a "-" word (dig.c single_dash_opts). */
export const DIG_DASH_FLAGS = '46dhimnruv';
/** Letters that take a value (dig.c dash_option's second switch). */
export const DIG_DASH_VALUE = 'bcfkpqtxy';
/** dig.c dash_opts: what may follow -d in a cluster */
const DIG_DASH_OPTS = '46bcdfhikmnpqrtvyx';

export const DIG_DASH_REFUSED: Readonly<Record<string, string>> = {
  f: 'reads queries from a batch file',
  k: 'reads a TSIG key file',
};

/**
 * Every keyword dig.c plus_option() accepts (the documented ones and the deprecated or hidden
 * ones it still parses), with the short synonyms it special-cases. dig matches a typed keyword
 * against these by prefix (FULLCHECK); which one it picks depends on a switch over the first
 * letters, but it is always one the typed word is a prefix of (the keyword itself when typed whole).
 */
export const DIG_PLUS_KEYWORDS: readonly string[] = [
  'aaflag', 'aaonly', 'additional', 'adflag', 'all', 'answer', 'authority', 'badcookie', 'besteffort', 'bufsize',
  'cdflag', 'class', 'cmd', 'coflag', 'comments', 'cookie', 'crypto', 'defname', 'dns64prefix', 'dnssec', 'domain',
  'dscp', 'edns', 'ednsflags', 'ednsnegotiation', 'ednsopt', 'expandaaaa', 'expire', 'fail', 'fuzztime',
  'header-only', 'https', 'https-get', 'https-post', 'http-plain', 'http-plain-get', 'http-plain-post', 'identify',
  'idnin', 'idnout', 'ignore', 'keepalive', 'keepopen', 'mapped', 'multiline', 'ndots', 'nsid', 'nssearch', 'onesoa',
  'opcode', 'padding', 'qid', 'qr', 'question', 'raflag', 'rdflag', 'recurse', 'retry', 'retries', 'rrcomments',
  'search', 'short', 'showbadcookie', 'showsearch', 'sigchase', 'split', 'stats', 'subnet', 'tcflag', 'tcp', 'timeout',
  'tls', 'tls-ca', 'tls-certfile', 'tls-hostname', 'tls-keyfile', 'topdown', 'trace', 'tries', 'trusted-key', 'ttl',
  'ttlid', 'ttlunits', 'unexpected', 'unknownformat', 'vc', 'yaml', 'zflag',
  // synonyms dig.c special-cases: +do is +dnssec (the rest are prefixes anyway)
  'do',
];

/** Keywords whose value names a file dig opens (for the certificate and key: and presents to the server). */
export const DIG_PLUS_FILE: Readonly<Record<string, string>> = {
  'tls-ca': 'reads a CA bundle from the file named',
  'tls-certfile': 'reads a client certificate from the file named and presents it to the server',
  'tls-keyfile': 'reads a private key from the file named and uses it with the server',
};

export interface DigPlus {
  /** the keyword as typed, without "+", "no" and "=value" */
  keyword: string;
  /** false for +noKEYWORD */
  state: boolean;
  value?: string;
  /** the keywords dig may read it as */
  candidates: string[];
}

/** Reads "+[no]keyword[=value]" as plus_option() does (strtok_r on "=" skips leading "="). */
export function parseDigPlus(word: string): DigPlus {
  const body = word.slice(1).replace(/^=+/, '');
  const eq = body.indexOf('=');
  let keyword = eq < 0 ? body : body.slice(0, eq);
  const value = eq < 0 ? undefined : body.slice(eq + 1);
  let state = true;
  if (keyword.slice(0, 2).toLowerCase() === 'no') {
    keyword = keyword.slice(2);
    state = false;
  }
  const k = keyword.toLowerCase();
  // a whole keyword always reaches its own case of dig's switch
  const candidates = k === '' ? [] : DIG_PLUS_KEYWORDS.includes(k) ? [k] : DIG_PLUS_KEYWORDS.filter((name) => name.startsWith(k));
  return { keyword, state, ...(value !== undefined ? { value } : {}), candidates };
}

export interface DigDash {
  /** the letters read as flags */
  flags: string;
  /** the value-taking letter, if any, and its value */
  letter?: string;
  value?: string;
  /** true when the value is the next word */
  usesNext: boolean;
}

/** Reads a "-" word as dash_option() does; `next` is the word after it. */
export function parseDigDash(word: string, next: string | undefined): DigDash {
  let option = word.slice(1);
  let flags = '';
  while (option !== '' && DIG_DASH_FLAGS.includes(option[0]!)) {
    const c = option[0]!;
    flags += c;
    // -d followed by something that is not an option letter is read as the whole word "-debug"
    if (c === 'd' && !(option.length > 1 && DIG_DASH_OPTS.includes(option[1]!))) return { flags, usesNext: false };
    if (option.length === 1) return { flags, usesNext: false };
    option = option.slice(1);
  }
  if (option === '') return { flags, usesNext: false };
  const letter = option[0]!;
  if (option.length > 1) return { flags, letter, value: option.slice(1), usesNext: false };
  return { flags, letter, ...(next !== undefined ? { value: next } : {}), usesNext: true };
}

export const digRule: ToolRule = (argv) => {
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith('+')) {
      const p = parseDigPlus(w);
      if (p.candidates.length === 0) refuseArg('dig', `"${w}"`, 'is not a dig +option (dig would refuse it too)');
      // +noKEYWORD=… unsets; +tls-ca alone uses the system's CA store; the others without a value fail
      if (!p.state || p.value === undefined) continue;
      for (const c of p.candidates) {
        const why = DIG_PLUS_FILE[c];
        if (why !== undefined) refuseArg('dig', `"${w}"${p.keyword === c ? '' : ` (may be read as +${c})`}`, why);
      }
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      const d = parseDigDash(w, argv[i + 1]);
      if (d.letter !== undefined) {
        if (!DIG_DASH_VALUE.includes(d.letter)) refuseArg('dig', `"${w}"`, `has "-${d.letter}", which is not a dig option (dig would refuse it too)`);
        const why = DIG_DASH_REFUSED[d.letter];
        if (why) refuseArg('dig', `"-${d.letter}${d.value === undefined ? '' : ` ${d.value}`}"`, why);
      }
      if (d.usesNext) i++;
    }
    // "@server", names, types and classes are not options
  }
  return NONE;
};
