import { refuseArg } from '../errors.js';
import { NONE, describe, scanOptions, type ToolRule } from '../options.js';

// curl: an allowlist of options useful for probing a service; everything that touches files,
// runs commands or speaks anything but HTTP(S) is refused.
const CURL_SHORT_WITH_VALUE = 'AbcCdDeEFHKmoPQrtTuUwxXyYz';
const CURL_LONG_WITH_VALUE = [
  'user-agent', 'cookie', 'cookie-jar', 'data', 'data-raw', 'data-binary', 'data-urlencode', 'data-ascii', 'json',
  'dump-header', 'referer', 'cert', 'key', 'form', 'form-string', 'header', 'config', 'max-time', 'output',
  'range', 'upload-file', 'user', 'proxy-user', 'write-out', 'proxy', 'request', 'speed-limit', 'speed-time',
  'time-cond', 'connect-timeout', 'resolve', 'connect-to', 'max-redirs', 'retry', 'retry-delay', 'retry-max-time',
  'interface', 'local-port', 'limit-rate', 'noproxy', 'url', 'dns-servers', 'dns-interface', 'dns-ipv4-addr',
  'dns-ipv6-addr', 'keepalive-time', 'expect100-timeout', 'happy-eyeballs-timeout-ms', 'request-target',
  'trace', 'trace-ascii', 'stderr', 'libcurl', 'netrc-file', 'cacert', 'capath', 'crlfile', 'pinnedpubkey',
  'unix-socket', 'abstract-unix-socket', 'etag-save', 'etag-compare', 'hsts', 'alt-svc', 'output-dir', 'ciphers',
  'tls13-ciphers', 'tls-max', 'proto', 'proto-redir', 'proto-default', 'variable', 'ftp-port', 'quote',
  'socks4', 'socks4a', 'socks5', 'socks5-hostname', 'preproxy', 'proxy-header', 'oauth2-bearer', 'aws-sigv4',
  'doh-url', 'engine', 'egd-file', 'random-file', 'proxy-cacert', 'proxy-capath', 'proxy-cert', 'proxy-key',
  'proxy-crlfile', 'krb', 'delegation', 'sasl-authzid', 'login-options', 'mail-from', 'mail-rcpt', 'mail-auth',
  'service-name', 'ip-tos', 'vlan-priority', 'parallel-max',
];
const CURL_SHORT_OK = new Set('sSvfiIkLGNq012346#AmHdeXuxrYybwDoU'.replace(/ /g, '').split('').map((c) => `-${c}`));
const CURL_LONG_OK = [
  'silent', 'show-error', 'verbose', 'fail', 'fail-with-body', 'include', 'head', 'insecure', 'location',
  'location-trusted', 'get', 'no-buffer', 'http1.0', 'http1.1', 'http2', 'http2-prior-knowledge', 'http3',
  'http3-only', 'ipv4', 'ipv6', 'progress-bar', 'user-agent', 'max-time', 'header', 'data', 'data-raw',
  'data-ascii', 'data-binary', 'data-urlencode', 'json', 'form', 'form-string', 'referer', 'request', 'user',
  'proxy', 'proxy-user', 'range', 'speed-limit', 'speed-time', 'cookie', 'write-out', 'dump-header', 'output',
  'connect-timeout', 'resolve', 'connect-to', 'max-redirs', 'retry', 'retry-delay', 'retry-max-time',
  'retry-connrefused', 'retry-all-errors', 'interface', 'local-port', 'limit-rate', 'noproxy', 'url',
  'dns-servers', 'dns-interface', 'dns-ipv4-addr', 'dns-ipv6-addr', 'keepalive-time', 'no-keepalive',
  'expect100-timeout', 'happy-eyeballs-timeout-ms', 'request-target', 'path-as-is', 'raw', 'compressed',
  'tcp-nodelay', 'tcp-fastopen', 'trace-time', 'ciphers', 'tls13-ciphers', 'tls-max', 'tlsv1', 'tlsv1.0',
  'tlsv1.1', 'tlsv1.2', 'tlsv1.3', 'sslv2', 'sslv3', 'ssl-no-revoke', 'proxy-insecure', 'proxytunnel',
  'socks4', 'socks4a', 'socks5', 'socks5-hostname', 'preproxy', 'proxy-header', 'oauth2-bearer', 'basic',
  'digest', 'ntlm', 'negotiate', 'anyauth', 'ignore-content-length', 'disable', 'no-sessionid',
  'no-alpn', 'no-npn', 'false-start', 'ip-tos', 'vlan-priority', 'show-headers', 'no-progress-meter', 'globoff',
  'styled-output', 'no-styled-output', 'http0.9', 'no-http0.9', 'ipv4-only', 'help', 'version', 'manual',
];
const CURL_WITH_VALUE_SHORT_LONG: Record<string, string> = {
  '-A': 'user-agent', '-b': 'cookie', '-d': 'data', '-D': 'dump-header', '-e': 'referer', '-H': 'header',
  '-m': 'max-time', '-o': 'output', '-r': 'range', '-u': 'user', '-U': 'proxy-user', '-w': 'write-out',
  '-x': 'proxy', '-X': 'request', '-y': 'speed-time', '-Y': 'speed-limit', '-C': 'continue-at',
};

function checkCurlUrl(url: string): void {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  if (!m) refuseArg('curl', `URL "${url}"`, 'has no scheme; write http:// or https:// (curl would guess other protocols from names like ftp.*)');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') refuseArg('curl', `URL "${url}"`, `uses the "${scheme}" scheme; only http and https are allowed`);
}

export const curlRule: ToolRule = (argv) => {
  const { opts, operands } = scanOptions(argv, { shortWithValue: CURL_SHORT_WITH_VALUE, longWithValue: CURL_LONG_WITH_VALUE });
  for (const o of opts) {
    let name: string;
    if (o.long) {
      const typed = o.name.slice(2);
      // curl matches long options exactly (abbreviations are refused here as they would be ambiguous to a reader)
      name = typed;
      if (!CURL_LONG_OK.includes(name)) {
        refuseArg('curl', describe(o), 'is not allowed (it reads or writes files, runs commands, or is not a known read-only curl option)');
      }
    } else {
      if (!CURL_SHORT_OK.has(o.name)) {
        refuseArg('curl', describe(o), 'is not allowed (it reads or writes files, runs commands, or is not a known read-only curl option)');
      }
      name = CURL_WITH_VALUE_SHORT_LONG[o.name] ?? o.name;
    }
    if (name === 'continue-at') refuseArg('curl', describe(o), 'is not allowed');
    const v = o.value;
    if (CURL_LONG_WITH_VALUE.includes(name) && v === undefined) refuseArg('curl', `option "${o.name}"`, 'needs a value');
    if (v === undefined) continue;
    switch (name) {
      case 'data':
      case 'data-ascii':
      case 'data-binary':
      case 'json':
      case 'header':
      case 'proxy-header':
        if (v.startsWith('@')) refuseArg('curl', describe(o), 'reads a file');
        break;
      case 'data-urlencode':
        if (/^[^=]*@/.test(v)) refuseArg('curl', describe(o), 'reads a file');
        break;
      case 'form':
        if (/=\s*[@<]/.test(v)) refuseArg('curl', describe(o), 'reads a file');
        break;
      case 'cookie':
        if (!v.includes('=')) refuseArg('curl', describe(o), 'reads a cookie file (give "name=value" cookies instead)');
        break;
      case 'write-out':
        if (v.startsWith('@') || /%(output|stderr)\{/.test(v) || v.includes('%{stderr}')) {
          refuseArg('curl', describe(o), 'reads or writes a file');
        }
        break;
      case 'output':
      case 'dump-header':
        if (v !== '-') refuseArg('curl', describe(o), 'writes a file; only "-" (standard output) is allowed');
        break;
      case 'url':
        checkCurlUrl(v);
        break;
      case 'proxy':
      case 'preproxy':
        if (/^[a-z0-9+.-]*:\/\//i.test(v) && !/^(https?|socks4a?|socks5h?):\/\//i.test(v)) {
          refuseArg('curl', describe(o), 'uses an unsupported proxy scheme');
        }
        break;
    }
  }
  for (const u of operands) checkCurlUrl(u);
  return NONE;
};
