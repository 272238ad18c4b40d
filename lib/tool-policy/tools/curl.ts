// curl (7.88): curl's own parser (tool_getparam.c), not getopt, checked against the installed curl:
// - long options match case-insensitively and may be abbreviated to a unique prefix (an exact
//   name wins, several prefixes are "ambiguous"); a value is always the next word ("--opt=v" is
//   an unknown option); "--no-NAME" negates a boolean and then needs the exact name;
// - short options cluster and a value-taking letter takes the rest of its word or the next word;
// - options and URLs mix; "--" ends the options.
// Only http and https URLs are allowed; everything that reads or writes a local file, talks to
// a Unix socket, or runs something is refused. The option table (every name the installed curl
// knows, documented or not, with whether it takes a value) is in CURL_OPTIONS below.

import type { ToolPolicy } from '../config.js';
import { DEFAULT_MAX_CURL_URLS } from '../config.js';
import { refuseArg } from '../errors.js';
import { applyVerdicts, canonicalName, check, opt, refuse, type ArgMode, type OptionModel, type OptionSpec, type ParsedArgv, type ParsedOption, type Verdict } from '../getopt.js';
import { NONE, type ToolRule } from '../rule.js';
import { checkTrafficTarget } from '../traffic.js';

/** [short letter, long name, value] for every option curl 7.88 accepts. */
const CURL_OPTIONS: Array<[string | undefined, string, ArgMode]> = [
  [undefined, 'url', 'required'],
  [undefined, 'dns-ipv4-addr', 'required'],
  [undefined, 'dns-ipv6-addr', 'required'],
  [undefined, 'random-file', 'required'],
  [undefined, 'egd-file', 'required'],
  [undefined, 'oauth2-bearer', 'required'],
  [undefined, 'connect-timeout', 'required'],
  [undefined, 'doh-url', 'required'],
  [undefined, 'ciphers', 'required'],
  [undefined, 'dns-interface', 'required'],
  [undefined, 'disable-epsv', 'none'],
  [undefined, 'disallow-username-in-url', 'none'],
  [undefined, 'epsv', 'none'],
  [undefined, 'dns-servers', 'required'],
  [undefined, 'trace', 'required'],
  [undefined, 'npn', 'none'],
  [undefined, 'trace-ascii', 'required'],
  [undefined, 'alpn', 'none'],
  [undefined, 'limit-rate', 'required'],
  [undefined, 'compressed', 'none'],
  [undefined, 'tr-encoding', 'none'],
  [undefined, 'digest', 'none'],
  [undefined, 'negotiate', 'none'],
  [undefined, 'ntlm', 'none'],
  [undefined, 'ntlm-wb', 'none'],
  [undefined, 'basic', 'none'],
  [undefined, 'anyauth', 'none'],
  [undefined, 'ftp-create-dirs', 'none'],
  [undefined, 'create-dirs', 'none'],
  [undefined, 'create-file-mode', 'required'],
  [undefined, 'max-redirs', 'required'],
  [undefined, 'proxy-ntlm', 'none'],
  [undefined, 'crlf', 'none'],
  [undefined, 'stderr', 'required'],
  [undefined, 'aws-sigv4', 'required'],
  [undefined, 'interface', 'required'],
  [undefined, 'krb', 'required'],
  [undefined, 'krb4', 'required'],
  [undefined, 'haproxy-protocol', 'none'],
  [undefined, 'max-filesize', 'required'],
  [undefined, 'disable-eprt', 'none'],
  [undefined, 'eprt', 'none'],
  [undefined, 'xattr', 'none'],
  [undefined, 'ftp-ssl', 'none'],
  [undefined, 'ssl', 'none'],
  [undefined, 'ftp-pasv', 'none'],
  [undefined, 'socks5', 'required'],
  [undefined, 'tcp-nodelay', 'none'],
  [undefined, 'proxy-digest', 'none'],
  [undefined, 'proxy-basic', 'none'],
  [undefined, 'retry', 'required'],
  [undefined, 'retry-connrefused', 'none'],
  [undefined, 'retry-delay', 'required'],
  [undefined, 'retry-max-time', 'required'],
  [undefined, 'proxy-negotiate', 'none'],
  [undefined, 'form-escape', 'none'],
  [undefined, 'ftp-account', 'required'],
  [undefined, 'proxy-anyauth', 'none'],
  [undefined, 'trace-time', 'none'],
  [undefined, 'ignore-content-length', 'none'],
  [undefined, 'ftp-skip-pasv-ip', 'none'],
  [undefined, 'ftp-method', 'required'],
  [undefined, 'local-port', 'required'],
  [undefined, 'socks4', 'required'],
  [undefined, 'socks4a', 'required'],
  [undefined, 'ftp-alternative-to-user', 'required'],
  [undefined, 'ftp-ssl-reqd', 'none'],
  [undefined, 'ssl-reqd', 'none'],
  [undefined, 'sessionid', 'none'],
  [undefined, 'ftp-ssl-control', 'none'],
  [undefined, 'ftp-ssl-ccc', 'none'],
  [undefined, 'ftp-ssl-ccc-mode', 'required'],
  [undefined, 'libcurl', 'required'],
  [undefined, 'raw', 'none'],
  [undefined, 'post301', 'none'],
  [undefined, 'keepalive', 'none'],
  [undefined, 'socks5-hostname', 'required'],
  [undefined, 'keepalive-time', 'required'],
  [undefined, 'post302', 'none'],
  [undefined, 'noproxy', 'required'],
  [undefined, 'socks5-gssapi-nec', 'none'],
  [undefined, 'proxy1.0', 'required'],
  [undefined, 'tftp-blksize', 'required'],
  [undefined, 'mail-from', 'required'],
  [undefined, 'mail-rcpt', 'required'],
  [undefined, 'ftp-pret', 'none'],
  [undefined, 'proto', 'required'],
  [undefined, 'proto-redir', 'required'],
  [undefined, 'resolve', 'required'],
  [undefined, 'delegation', 'required'],
  [undefined, 'mail-auth', 'required'],
  [undefined, 'post303', 'none'],
  [undefined, 'metalink', 'none'],
  [undefined, 'sasl-authzid', 'required'],
  [undefined, 'sasl-ir', 'none'],
  [undefined, 'test-event', 'none'],
  [undefined, 'unix-socket', 'required'],
  [undefined, 'path-as-is', 'none'],
  [undefined, 'socks5-gssapi-service', 'required'],
  [undefined, 'proxy-service-name', 'required'],
  [undefined, 'service-name', 'required'],
  [undefined, 'proto-default', 'required'],
  [undefined, 'expect100-timeout', 'required'],
  [undefined, 'tftp-no-options', 'none'],
  [undefined, 'connect-to', 'required'],
  [undefined, 'abstract-unix-socket', 'required'],
  [undefined, 'tls-max', 'required'],
  [undefined, 'suppress-connect-headers', 'none'],
  [undefined, 'compressed-ssh', 'none'],
  [undefined, 'happy-eyeballs-timeout-ms', 'required'],
  [undefined, 'retry-all-errors', 'none'],
  ['0', 'http1.0', 'none'],
  [undefined, 'http1.1', 'none'],
  [undefined, 'http2', 'none'],
  [undefined, 'http2-prior-knowledge', 'none'],
  [undefined, 'http3', 'none'],
  [undefined, 'http0.9', 'none'],
  ['1', 'tlsv1', 'none'],
  [undefined, 'tlsv1.0', 'none'],
  [undefined, 'tlsv1.1', 'none'],
  [undefined, 'tlsv1.2', 'none'],
  [undefined, 'tlsv1.3', 'none'],
  [undefined, 'tls13-ciphers', 'required'],
  [undefined, 'proxy-tls13-ciphers', 'required'],
  ['2', 'sslv2', 'none'],
  ['3', 'sslv3', 'none'],
  ['4', 'ipv4', 'none'],
  ['6', 'ipv6', 'none'],
  ['a', 'append', 'none'],
  ['A', 'user-agent', 'required'],
  ['b', 'cookie', 'required'],
  [undefined, 'alt-svc', 'required'],
  [undefined, 'hsts', 'required'],
  ['B', 'use-ascii', 'none'],
  ['c', 'cookie-jar', 'required'],
  ['C', 'continue-at', 'required'],
  ['d', 'data', 'required'],
  [undefined, 'data-raw', 'required'],
  [undefined, 'data-ascii', 'required'],
  [undefined, 'data-binary', 'required'],
  [undefined, 'data-urlencode', 'required'],
  ['D', 'dump-header', 'required'],
  ['e', 'referer', 'required'],
  ['E', 'cert', 'required'],
  [undefined, 'cacert', 'required'],
  [undefined, 'cert-type', 'required'],
  [undefined, 'key', 'required'],
  [undefined, 'key-type', 'required'],
  [undefined, 'pass', 'required'],
  [undefined, 'engine', 'required'],
  [undefined, 'capath', 'required'],
  [undefined, 'pubkey', 'required'],
  [undefined, 'hostpubmd5', 'required'],
  [undefined, 'hostpubsha256', 'required'],
  [undefined, 'crlfile', 'required'],
  [undefined, 'tlsuser', 'required'],
  [undefined, 'tlspassword', 'required'],
  [undefined, 'tlsauthtype', 'required'],
  [undefined, 'ssl-allow-beast', 'none'],
  [undefined, 'ssl-auto-client-cert', 'none'],
  [undefined, 'proxy-ssl-auto-client-cert', 'none'],
  [undefined, 'pinnedpubkey', 'required'],
  [undefined, 'proxy-pinnedpubkey', 'required'],
  [undefined, 'cert-status', 'none'],
  [undefined, 'doh-cert-status', 'none'],
  [undefined, 'false-start', 'none'],
  [undefined, 'ssl-no-revoke', 'none'],
  [undefined, 'ssl-revoke-best-effort', 'none'],
  [undefined, 'tcp-fastopen', 'none'],
  [undefined, 'proxy-tlsuser', 'required'],
  [undefined, 'proxy-tlspassword', 'required'],
  [undefined, 'proxy-tlsauthtype', 'required'],
  [undefined, 'proxy-cert', 'required'],
  [undefined, 'proxy-cert-type', 'required'],
  [undefined, 'proxy-key', 'required'],
  [undefined, 'proxy-key-type', 'required'],
  [undefined, 'proxy-pass', 'required'],
  [undefined, 'proxy-ciphers', 'required'],
  [undefined, 'proxy-crlfile', 'required'],
  [undefined, 'proxy-ssl-allow-beast', 'none'],
  [undefined, 'login-options', 'required'],
  [undefined, 'proxy-cacert', 'required'],
  [undefined, 'proxy-capath', 'required'],
  [undefined, 'proxy-insecure', 'none'],
  [undefined, 'proxy-tlsv1', 'none'],
  [undefined, 'socks5-basic', 'none'],
  [undefined, 'socks5-gssapi', 'none'],
  [undefined, 'etag-save', 'required'],
  [undefined, 'etag-compare', 'required'],
  [undefined, 'curves', 'required'],
  ['f', 'fail', 'none'],
  [undefined, 'fail-early', 'none'],
  [undefined, 'styled-output', 'none'],
  [undefined, 'mail-rcpt-allowfails', 'none'],
  [undefined, 'fail-with-body', 'none'],
  ['F', 'form', 'required'],
  [undefined, 'form-string', 'required'],
  ['g', 'globoff', 'none'],
  ['G', 'get', 'none'],
  [undefined, 'request-target', 'required'],
  ['h', 'help', 'none'],
  ['H', 'header', 'required'],
  [undefined, 'proxy-header', 'required'],
  ['i', 'include', 'none'],
  ['I', 'head', 'none'],
  ['j', 'junk-session-cookies', 'none'],
  ['J', 'remote-header-name', 'none'],
  ['k', 'insecure', 'none'],
  [undefined, 'doh-insecure', 'none'],
  ['K', 'config', 'required'],
  ['l', 'list-only', 'none'],
  ['L', 'location', 'none'],
  [undefined, 'location-trusted', 'none'],
  ['m', 'max-time', 'required'],
  ['M', 'manual', 'none'],
  ['n', 'netrc', 'none'],
  [undefined, 'netrc-optional', 'none'],
  [undefined, 'netrc-file', 'required'],
  ['N', 'buffer', 'none'],
  ['o', 'output', 'required'],
  ['O', 'remote-name', 'none'],
  [undefined, 'remote-name-all', 'none'],
  [undefined, 'output-dir', 'required'],
  ['p', 'proxytunnel', 'none'],
  ['P', 'ftp-port', 'required'],
  ['q', 'disable', 'none'],
  ['Q', 'quote', 'required'],
  ['r', 'range', 'required'],
  ['R', 'remote-time', 'none'],
  ['s', 'silent', 'none'],
  ['S', 'show-error', 'none'],
  ['t', 'telnet-option', 'required'],
  ['T', 'upload-file', 'required'],
  ['u', 'user', 'required'],
  ['U', 'proxy-user', 'required'],
  ['v', 'verbose', 'none'],
  ['V', 'version', 'none'],
  ['w', 'write-out', 'required'],
  ['x', 'proxy', 'required'],
  [undefined, 'preproxy', 'required'],
  ['X', 'request', 'required'],
  ['Y', 'speed-limit', 'required'],
  ['y', 'speed-time', 'required'],
  ['z', 'time-cond', 'required'],
  ['Z', 'parallel', 'none'],
  [undefined, 'parallel-max', 'required'],
  [undefined, 'parallel-immediate', 'none'],
  ['#', 'progress-bar', 'none'],
  [undefined, 'progress-meter', 'none'],
  [':', 'next', 'none'],
  [undefined, 'json', 'required'],
  [undefined, 'url-query', 'required'],
  [undefined, 'http3-only', 'none'],
  [undefined, 'rate', 'required'],
  [undefined, 'clobber', 'none'],
  [undefined, 'remove-on-error', 'none'],
];

const READS = 'reads a local file';
const WRITES = 'writes a local file';

function refuseIf(cond: boolean, ctx: { tool: string; spelled: string }, why: string): void {
  if (cond) refuseArg(ctx.tool, ctx.spelled, why);
}

/** A URL curl may fetch: http or https with an explicit scheme (curl guesses others from host names). */
export function checkCurlUrl(url: string, policy: ToolPolicy, what = `URL "${url}"`): void {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(url);
  if (!m) refuseArg('curl', what, 'has no scheme; write http:// or https:// (curl would guess other protocols from names like ftp.*)');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') refuseArg('curl', what, `uses the "${scheme}" scheme; only http and https are allowed`);
  if (policy.trafficCidrs !== undefined) {
    const authority = m[2]!.replace(/^.*@/, '');
    if (/[{}[\]]/.test(authority.replace(/^\[[0-9A-Fa-f:.]+\]/, ''))) {
      refuseArg('curl', what, 'has a glob in its host, which cannot be checked against SNOOPY_TRAFFIC_CIDRS');
    }
    const host = authority.startsWith('[') ? authority.slice(1, authority.indexOf(']')) : authority.split(':')[0]!;
    checkTrafficTarget('curl', what, host, policy);
  }
}

/** How many URLs curl's globbing makes of `url` ("{a,b}" sets and "[1-100]" / "[a-z:2]" ranges). */
export function curlGlobCount(url: string): number {
  let count = 1;
  const re = /\{([^}]*)\}|\[([^\]]*)\]/g;
  for (let m = re.exec(url); m !== null; m = re.exec(url)) {
    if (m[1] !== undefined) {
      count *= m[1].split(',').length;
      continue;
    }
    const r = /^(?:(\d+)-(\d+)|([a-zA-Z])-([a-zA-Z]))(?::(\d+))?$/.exec(m[2]!);
    if (!r) continue; // an IPv6 address in brackets, not a range
    const step = Math.max(1, Number(r[5] ?? 1));
    const span = r[1] !== undefined ? Number(r[2]) - Number(r[1]) : r[4]!.charCodeAt(0) - r[3]!.charCodeAt(0);
    count *= Math.max(1, Math.floor(Math.abs(span) / step) + 1);
  }
  return count;
}

/** A proxy given as [scheme://]host[:port]; a path after the host means a Unix socket. */
function checkProxy(v: string, ctx: { tool: string; spelled: string; policy: ToolPolicy }, schemes: boolean): void {
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?(.*)$/.exec(v)!;
  if (m[1] !== undefined && !schemes) refuseArg(ctx.tool, ctx.spelled, 'takes host[:port], not a URL');
  if (m[1] !== undefined && !/^(https?|socks4a?|socks5h?)$/i.test(m[1])) refuseArg(ctx.tool, ctx.spelled, `uses the unsupported proxy scheme "${m[1]}"`);
  const rest = m[2]!;
  const slash = rest.indexOf('/');
  if (slash >= 0 && rest.slice(slash) !== '/') refuseArg(ctx.tool, ctx.spelled, 'names a path, which curl takes as a Unix socket');
  const authority = (slash >= 0 ? rest.slice(0, slash) : rest).replace(/^.*@/, '');
  if (ctx.policy.trafficCidrs !== undefined) {
    const host = authority.startsWith('[') ? authority.slice(1, authority.indexOf(']')) : authority.split(':')[0]!;
    checkTrafficTarget(ctx.tool, ctx.spelled, host, ctx.policy);
  }
}

/** A --proto/--proto-redir list that can enable nothing but http and https ("=https", "-all,+http"). */
function onlyHttp(v: string): boolean {
  return v.split(',').every((t) => /^([=+-]?https?|=?-all)$/i.test(t.trim()));
}

const VERDICTS: Record<string, Verdict> = {
  // files
  'random-file': refuse(READS), 'egd-file': refuse('reads an entropy socket or file'), trace: refuse(WRITES),
  'trace-ascii': refuse(WRITES), stderr: refuse(WRITES), libcurl: refuse(WRITES), 'cookie-jar': refuse(WRITES),
  'alt-svc': refuse('reads and writes a cache file'), hsts: refuse('reads and writes a cache file'),
  cert: refuse(READS), cacert: refuse(READS), key: refuse(READS), capath: refuse(READS), crlfile: refuse(READS),
  'proxy-cert': refuse(READS), 'proxy-key': refuse(READS), 'proxy-crlfile': refuse(READS), 'proxy-cacert': refuse(READS),
  'proxy-capath': refuse(READS), pubkey: refuse(READS), hostpubmd5: refuse('is for SSH, which is not allowed'),
  hostpubsha256: refuse('is for SSH, which is not allowed'), 'etag-save': refuse(WRITES), 'etag-compare': refuse(READS),
  config: refuse('reads options from a file'), netrc: refuse('reads ~/.netrc'), 'netrc-optional': refuse('reads ~/.netrc'),
  'netrc-file': refuse(READS), 'remote-name': refuse(WRITES), 'remote-name-all': refuse(WRITES),
  'remote-header-name': refuse(WRITES), 'output-dir': refuse(WRITES), 'upload-file': refuse(READS),
  'create-dirs': refuse('creates directories'), 'ftp-create-dirs': refuse('creates directories'),
  'create-file-mode': refuse(WRITES), append: refuse('appends to a remote file'), xattr: refuse('writes file attributes'),
  'remote-time': refuse('sets a local file time'), 'continue-at': refuse('resumes into a local file'),
  'remove-on-error': refuse('deletes a local file'), metalink: refuse(READS), engine: refuse('loads a crypto engine'),
  'unix-socket': refuse('connects to a Unix socket'), 'abstract-unix-socket': refuse('connects to a Unix socket'),
  quote: refuse('sends FTP/SFTP commands'),
  // values to check
  output: check((v, ctx) => refuseIf(v !== '/dev/null' && v !== '-', ctx, 'writes a file; only "/dev/null" or "-" (standard output) is allowed')),
  'dump-header': check((v, ctx) => refuseIf(v !== '/dev/null' && v !== '-', ctx, 'writes a file; only "/dev/null" or "-" (standard output) is allowed')),
  'write-out': check((v, ctx) => {
    refuseIf(v!.startsWith('@'), ctx, 'reads the format from a file');
    refuseIf(/%\{\s*stderr\s*\}|%output\{/i.test(v!), ctx, 'redirects the output (%{stderr}, %output{…}); only plain variables are allowed');
  }),
  cookie: check((v, ctx) => {
    refuseIf(v!.startsWith('@') || !v!.includes('='), ctx, 'reads a cookie file (give "name=value" cookies instead)');
  }),
  data: check((v, ctx) => refuseIf(v!.startsWith('@'), ctx, READS)),
  'data-ascii': check((v, ctx) => refuseIf(v!.startsWith('@'), ctx, READS)),
  'data-binary': check((v, ctx) => refuseIf(v!.startsWith('@'), ctx, READS)),
  json: check((v, ctx) => refuseIf(v!.startsWith('@'), ctx, READS)),
  'data-urlencode': check((v, ctx) => refuseIf(/^[^=]*@/.test(v!), ctx, READS)),
  // the same "name@file" syntax as --data-urlencode (curl 7.87+)
  'url-query': check((v, ctx) => refuseIf(/^[^=]*@/.test(v!), ctx, READS)),
  form: check((v, ctx) => {
    const content = v!.slice(v!.indexOf('=') + 1);
    refuseIf(/^\s*[@<]/.test(content) || /;\s*headers\s*=\s*[@<]/i.test(content), ctx, `${READS} ("@file", "<file" or "headers=@file")`);
  }),
  header: check((v, ctx) => refuseIf(v!.startsWith('@'), ctx, READS)),
  'proxy-header': check((v, ctx) => refuseIf(v!.startsWith('@'), ctx, READS)),
  url: check((v, ctx) => checkCurlUrl(v!, ctx.policy, ctx.spelled)),
  'doh-url': check((v, ctx) => checkCurlUrl(v!, ctx.policy, ctx.spelled)),
  proxy: check((v, ctx) => checkProxy(v!, ctx, true)),
  preproxy: check((v, ctx) => checkProxy(v!, ctx, true)),
  'proxy1.0': check((v, ctx) => checkProxy(v!, ctx, false)),
  socks4: check((v, ctx) => checkProxy(v!, ctx, false)),
  socks4a: check((v, ctx) => checkProxy(v!, ctx, false)),
  socks5: check((v, ctx) => checkProxy(v!, ctx, false)),
  'socks5-hostname': check((v, ctx) => checkProxy(v!, ctx, false)),
  pinnedpubkey: check((v, ctx) => refuseIf(!/^sha256\/\//.test(v!), ctx, `${READS}; give "sha256//…" hashes instead`)),
  'proxy-pinnedpubkey': check((v, ctx) => refuseIf(!/^sha256\/\//.test(v!), ctx, `${READS}; give "sha256//…" hashes instead`)),
  proto: check((v, ctx) => refuseIf(!onlyHttp(v!), ctx, 'may enable protocols other than http and https')),
  'proto-redir': check((v, ctx) => refuseIf(!onlyHttp(v!), ctx, 'may enable protocols other than http and https')),
  'proto-default': check((v, ctx) => refuseIf(!/^https?$/i.test(v!), ctx, 'may make curl use a protocol other than http or https')),
  resolve: check((v, ctx) => {
    if (ctx.policy.trafficCidrs === undefined) return;
    const addrs = v!.replace(/^\+/, '').split(':').slice(2).join(':');
    for (const a of addrs.split(',')) checkTrafficTarget(ctx.tool, ctx.spelled, a.replace(/^\[(.*)\]$/, '$1'), ctx.policy);
  }),
  'connect-to': check((v, ctx) => {
    if (ctx.policy.trafficCidrs === undefined) return;
    const m = /^[^:]*:[^:]*:(\[[^\]]*\]|[^:]*):/.exec(v! + ':');
    const host = m?.[1] ?? '';
    if (host !== '') checkTrafficTarget(ctx.tool, ctx.spelled, host.replace(/^\[(.*)\]$/, '$1'), ctx.policy);
  }),
};

export const CURL_MODEL: OptionModel = {
  tool: 'curl',
  permute: true,
  abbreviate: true,
  options: CURL_OPTIONS.map(([s, l, arg]): OptionSpec => opt(s, [l], arg, VERDICTS[l])),
};

/** Resolves a long name the way curl does (case-insensitive; "no-" needs the exact name). */
function resolveCurlLong(name: string, spelled: string): { spec: OptionSpec; negated: boolean } {
  const lower = name.toLowerCase();
  const exact = CURL_MODEL.options.find((s) => s.long![0] === lower);
  if (exact) return { spec: exact, negated: false };
  if (lower.startsWith('no-')) {
    const base = CURL_MODEL.options.find((s) => s.long![0] === lower.slice(3));
    if (!base) refuseArg('curl', `option "${spelled}"`, 'is not an option curl knows');
    if (base.arg !== 'none') refuseArg('curl', `option "${spelled}"`, 'negates an option that is not a switch; curl would refuse it');
    return { spec: base, negated: true };
  }
  const matches = CURL_MODEL.options.filter((s) => s.long![0]!.startsWith(lower));
  if (matches.length === 0) refuseArg('curl', `option "${spelled}"`, 'is not an option curl knows');
  if (matches.length > 1) refuseArg('curl', `option "${spelled}"`, `is ambiguous (${matches.map((s) => `--${s.long![0]}`).join(', ')}); curl would refuse it too`);
  return { spec: matches[0]!, negated: false };
}

/** Parses argv the way curl 7.88 does. */
export function parseCurlArgv(argv: readonly string[]): ParsedArgv & { negated: Set<ParsedOption> } {
  const options: ParsedOption[] = [];
  const operands: string[] = [];
  const negated = new Set<ParsedOption>();
  let flags = true;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (flags && w === '--') {
      flags = false;
      continue;
    }
    if (flags && w.startsWith('--')) {
      const { spec, negated: neg } = resolveCurlLong(w.slice(2), w);
      const o: ParsedOption = { spec, spelled: w, name: canonicalName(spec), index: i };
      if (spec.arg === 'required') {
        if (i + 1 >= argv.length) refuseArg('curl', `option "${w}"`, 'needs a value');
        o.value = argv[++i]!;
      }
      if (neg) negated.add(o);
      options.push(o);
      continue;
    }
    if (flags && w.startsWith('-')) {
      if (w === '-') refuseArg('curl', 'option "-"', 'is not an option curl knows');
      for (let j = 1; j < w.length; j++) {
        const letter = w[j]!;
        const spec = CURL_MODEL.options.find((s) => s.short === letter);
        if (!spec) refuseArg('curl', `option "-${letter}"${w.length > 2 ? ` (in "${w}")` : ''}`, 'is not an option curl knows');
        const o: ParsedOption = { spec, spelled: `-${letter}`, name: canonicalName(spec), index: i };
        options.push(o);
        if (spec.arg === 'required') {
          const rest = w.slice(j + 1);
          if (rest !== '') o.value = rest;
          else {
            if (i + 1 >= argv.length) refuseArg('curl', `option "-${letter}"`, 'needs a value');
            o.value = argv[++i]!;
          }
          break;
        }
      }
      continue;
    }
    operands.push(w);
  }
  return { options, operands, negated };
}

export const curlRule: ToolRule = (argv, policy: ToolPolicy) => {
  const parsed = parseCurlArgv(argv);
  // A negated switch ("--no-remote-name") turns a refused behaviour off: nothing to refuse.
  applyVerdicts({ options: parsed.options.filter((o) => !parsed.negated.has(o)), operands: parsed.operands }, CURL_MODEL, policy);
  const urls = [...parsed.operands, ...parsed.options.filter((o) => o.name === '--url').map((o) => o.value!)];
  for (const u of parsed.operands) checkCurlUrl(u, policy);
  // URL globbing: curl fetches every combination unless -g/--globoff (the last one given wins).
  // -:/--next starts a new set of options, -g included: with it, every URL counts.
  const next = parsed.options.some((o) => o.name === '--next');
  const globoff = !next && (parsed.options.filter((o) => o.name === '--globoff').map((o) => !parsed.negated.has(o)).at(-1) ?? false);
  if (!globoff) {
    const max = policy.maxCurlUrls ?? DEFAULT_MAX_CURL_URLS;
    for (const u of urls) {
      const n = curlGlobCount(u);
      if (n > max) refuseArg('curl', `URL "${u}"`, `expands to ${n} URLs by globbing, more than ${max} (SNOOPY_MAX_CURL_URLS); add -g to turn globbing off`);
    }
  }
  return NONE;
};
