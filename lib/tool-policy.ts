// The tool policy (DESIGN §7): which commands a SnoopyJob may run inside a pod's network namespace
// and which of their arguments are refused. One module, used by the operator (to validate specs)
// and by podtracer (to refuse before running anything). The capture pod runs as root on a node
// with the host's /proc mounted, so every file a tool could read or write is a way out: every
// flag that reads or writes a file or runs a command is refused, whatever the tool.
//
// Arguments are tokenised like a POSIX shell but never evaluated: quoting and escapes work,
// while anything a shell would expand or interpret ($, backticks, globs, redirections, ; | &,
// newlines, ~) is refused with the offending text and its position, so the user is never
// surprised by a word that means something else than it seems.

export const DEFAULT_ALLOWED_TOOLS: readonly string[] = Object.freeze([
  'tcpdump', 'iperf3', 'iperf', 'ip', 'ss', 'ping', 'tracepath', 'traceroute', 'nstat', 'tc',
  'ethtool', 'conntrack', 'dig', 'nslookup', 'curl',
]);

export interface ToolPolicy {
  allowedTools: readonly string[];
  /** Lifts the write rules of ip, tc, ethtool and conntrack (never the file/command rules). */
  allowMutating: boolean;
}

export const DEFAULT_TOOL_POLICY: ToolPolicy = Object.freeze({ allowedTools: DEFAULT_ALLOWED_TOOLS, allowMutating: false });

/**
 * Programs that would turn an allowlist into a way to run anything; refused even when configured.
 */
const NEVER_ALLOWED = new Set([
  'sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'csh', 'tcsh', 'fish', 'busybox', 'env', 'nsenter', 'sudo', 'su',
  'xargs', 'python', 'python3', 'perl', 'ruby', 'node', 'lua', 'awk', 'gawk', 'sed', 'find', 'socat', 'nc',
  'ncat', 'chroot', 'unshare', 'setsid', 'nohup', 'timeout', 'watch', 'script', 'ssh', 'scp',
]);

export class ToolPolicyError extends Error {
  override name = 'ToolPolicyError';
  constructor(
    readonly field: 'command' | 'args',
    message: string,
    /** 1-based character position in the args string, when the problem is in its text. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** SNOOPY_ALLOWED_TOOLS (comma or space separated) and SNOOPY_ALLOW_MUTATING_TOOLS=true. */
export function toolPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): ToolPolicy {
  const raw = env.SNOOPY_ALLOWED_TOOLS?.trim();
  const allowedTools = raw ? Object.freeze(raw.split(/[\s,]+/).filter((t) => t !== '')) : DEFAULT_ALLOWED_TOOLS;
  const allowMutating = /^(true|1|yes)$/i.test(env.SNOOPY_ALLOW_MUTATING_TOOLS?.trim() ?? '');
  return { allowedTools, allowMutating };
}

// ---------------------------------------------------------------------------------------------
// Tokenising

function refuseAt(pos: number, text: string, why: string): never {
  throw new ToolPolicyError(
    'args',
    `args: ${JSON.stringify(text)} at position ${pos + 1} ${why}; it is not evaluated (no shell runs), so it is refused — quote it in single quotes if it is meant literally`,
    pos + 1,
  );
}

const UNQUOTED_REFUSED: Record<string, string> = {
  $: 'would be a variable or command substitution',
  '`': 'would be a command substitution',
  '*': 'would be a glob',
  '?': 'would be a glob',
  '[': 'would be a glob',
  '<': 'would be a redirection',
  '>': 'would be a redirection',
  ';': 'would separate commands',
  '|': 'would be a pipe',
  '&': 'would run a command in the background or chain commands',
  '(': 'would start a subshell',
  ')': 'would end a subshell',
  '{': 'would be a brace expansion',
  '}': 'would be a brace expansion',
};

function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return (code < 0x20 && c !== '\t') || code === 0x7f;
}

function refuseControl(pos: number, c: string): never {
  if (c === '\n' || c === '\r') refuseAt(pos, c, 'is a line break, which would separate commands');
  refuseAt(pos, c, 'is a control character');
}

/**
 * Splits args like a POSIX shell does (single quotes, double quotes, backslash escapes) without
 * evaluating anything; throws ToolPolicyError on anything a shell would expand or interpret.
 */
export function tokenizeArgs(args: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = args.length;
  while (i < n) {
    const c = args[i]!;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (isControl(c)) refuseControl(i, c);
    if (c === "'") {
      const end = args.indexOf("'", i + 1);
      if (end < 0) refuseAt(i, args.slice(i, i + 20), 'opens a single quote that is never closed');
      const body = args.slice(i + 1, end);
      for (let j = 0; j < body.length; j++) if (isControl(body[j]!)) refuseControl(i + 1 + j, body[j]!);
      word += body;
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const start = i;
      i++;
      let closed = false;
      while (i < n) {
        const d = args[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (isControl(d)) refuseControl(i, d);
        if (d === '$') refuseAt(i, args.slice(i, i + 2), 'inside double quotes would be a substitution');
        if (d === '`') refuseAt(i, d, 'inside double quotes would be a command substitution');
        if (d === '\\') {
          const e = args[i + 1];
          // Inside double quotes a backslash escapes only $ ` " \ (POSIX); elsewhere it is literal.
          if (e !== undefined && '$`"\\'.includes(e)) {
            word += e;
            i += 2;
            continue;
          }
          if (e !== undefined && isControl(e)) refuseControl(i + 1, e);
          word += '\\';
          i++;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) refuseAt(start, args.slice(start, start + 20), 'opens a double quote that is never closed');
      inWord = true;
      continue;
    }
    if (c === '\\') {
      const e = args[i + 1];
      if (e === undefined) refuseAt(i, c, 'is a backslash with nothing after it');
      if (isControl(e)) refuseControl(i + 1, e);
      word += e;
      inWord = true;
      i += 2;
      continue;
    }
    const why = UNQUOTED_REFUSED[c];
    if (why) refuseAt(i, c === '$' && args[i + 1] === '(' ? '$(' : c, why);
    if (c === '~' && (!inWord || word.endsWith('=') || word.endsWith(':'))) {
      refuseAt(i, c, 'would be expanded to a home directory');
    }
    if (c === '#' && !inWord) refuseAt(i, c, 'would start a comment');
    word += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------------------------
// Option scanning shared by the per-tool rules

/** One option occurrence as a getopt-style parser of that tool would see it. */
interface Opt {
  /** "-w" for short options, "--write" (as typed, maybe abbreviated) for long ones */
  name: string;
  long: boolean;
  value?: string;
  /** index in argv of the word the option came from */
  index: number;
}

interface Scanned {
  opts: Opt[];
  operands: string[];
}

interface OptionTable {
  /** short option letters that take a value (attached or in the next word) */
  shortWithValue: string;
  /** long option names (without --) that take a value in the next word when not given with = */
  longWithValue: readonly string[];
  /** long options whose value is optional: only an attached "=value" belongs to them */
  longOptionalValue?: readonly string[];
  /** long options without a value; an exact match wins over a longer value-taking name, as in getopt_long */
  longFlags?: readonly string[];
}

/** Finds the full long option names an (abbreviated) word may mean, as getopt_long does. */
function longCandidates(word: string, names: readonly string[]): string[] {
  if (names.includes(word)) return [word];
  return names.filter((n) => n.startsWith(word));
}

/**
 * Parses argv the way GNU getopt_long does (options anywhere, "--" ends them, short options
 * clustered, a value-taking letter swallows the rest of its cluster or the next word).
 */
function scanOptions(argv: readonly string[], table: OptionTable): Scanned {
  const opts: Opt[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq >= 0 ? w.slice(2, eq) : w.slice(2);
      const exactFlag = table.longFlags?.includes(name) ?? false;
      const cands = exactFlag ? [] : longCandidates(name, table.longWithValue);
      const optional = longCandidates(name, table.longOptionalValue ?? []);
      if (eq >= 0) {
        opts.push({ name: `--${name}`, long: true, value: w.slice(eq + 1), index: i });
      } else if (cands.length > 0 && optional.length === 0) {
        opts.push({ name: `--${name}`, long: true, value: argv[i + 1], index: i });
        i++;
      } else {
        opts.push({ name: `--${name}`, long: true, index: i });
      }
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      for (let j = 1; j < w.length; j++) {
        const letter = w[j]!;
        if (table.shortWithValue.includes(letter)) {
          const rest = w.slice(j + 1);
          if (rest !== '') {
            opts.push({ name: `-${letter}`, long: false, value: rest, index: i });
          } else {
            opts.push({ name: `-${letter}`, long: false, value: argv[i + 1], index: i });
            i++;
          }
          break;
        }
        opts.push({ name: `-${letter}`, long: false, index: i });
      }
      continue;
    }
    operands.push(w);
  }
  return { opts, operands };
}

/** True when an (abbreviated) long option as typed may mean `full`. */
function longMeans(typed: string, full: string): boolean {
  const t = typed.replace(/^--/, '');
  return t.length > 0 && full.startsWith(t);
}

function refuseArg(tool: string, what: string, why: string): never {
  throw new ToolPolicyError('args', `${tool}: ${what} ${why}`);
}

function describe(o: Opt): string {
  return o.value === undefined ? `"${o.name}"` : `"${o.name} ${o.value}"`;
}

// ---------------------------------------------------------------------------------------------
// Per-tool rules

interface Checked {
  writesPcapToStdout: boolean;
}

type ToolRule = (argv: readonly string[], policy: ToolPolicy) => Checked;

const NONE: Checked = { writesPcapToStdout: false };

// tcpdump: an allowlist of options (getopt string of tcpdump 4.99 plus its long options).
const TCPDUMP_TABLE: OptionTable = {
  shortWithValue: 'BcCEFGijmMQrsTVwWyzZ',
  longWithValue: [
    'buffer-size', 'direction', 'interface', 'linktype', 'relinquish-privileges', 'snapshot-length',
    'time-stamp-type', 'time-stamp-precision', 'print-sampling', 'skip',
  ],
  longFlags: ['print', 'count', 'number', 'micro', 'nano', 'version', 'help', 'lengths'],
};
const TCPDUMP_SHORT_OK = new Set('AbBcdDefhHiIjJKlLMnNOpqQsStTuUvxXyY#w'.split('').map((c) => `-${c}`));
const TCPDUMP_LONG_OK = [
  'buffer-size', 'count', 'direction', 'interface', 'linktype', 'snapshot-length', 'time-stamp-type',
  'time-stamp-precision', 'print-sampling', 'skip', 'immediate-mode', 'monitor-mode', 'list-interfaces',
  'list-data-link-types', 'list-time-stamp-types', 'no-optimize', 'no-promiscuous-mode', 'number',
  'packet-buffered', 'version', 'help', 'print', 'lengths', 'micro', 'nano', 'fp-type',
];
const TCPDUMP_REFUSED: Record<string, string> = {
  '-z': 'runs a command on every rotated file',
  '-Z': 'changes the user (and with it which files are written)',
  '-r': 'reads a capture file',
  '-V': 'reads a list of capture files',
  '-F': 'reads the filter from a file',
  '-C': 'rotates into files',
  '-G': 'rotates into files',
  '-W': 'limits rotated files',
  '-E': 'may read the ESP secrets from a file',
  '-m': 'loads a MIB file',
  '--relinquish-privileges': 'changes the user (and with it which files are written)',
};

const tcpdumpRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, TCPDUMP_TABLE);
  let toStdout = false;
  let prints = false;
  for (const o of opts) {
    if (o.long) {
      const cands = longCandidates(o.name.slice(2), [...TCPDUMP_LONG_OK, 'relinquish-privileges', 'write']);
      if (cands.length === 0) refuseArg('tcpdump', `option "${o.name}"`, 'is not a known read-only tcpdump option');
      if (cands.some((c) => c === 'relinquish-privileges')) refuseArg('tcpdump', describe(o), TCPDUMP_REFUSED['--relinquish-privileges']!);
      if (cands.includes('write')) refuseArg('tcpdump', describe(o), 'writes a file');
      if (cands.length > 1) refuseArg('tcpdump', `option "${o.name}"`, `is ambiguous (${cands.join(', ')})`);
      if (cands[0] === 'print') prints = true;
      continue;
    }
    const why = TCPDUMP_REFUSED[o.name];
    if (why) refuseArg('tcpdump', describe(o), why);
    if (o.name === '-w') {
      if (o.value !== '-') refuseArg('tcpdump', describe(o), 'writes a file; only "-w -" (standard output) is allowed');
      toStdout = true;
      continue;
    }
    if (!TCPDUMP_SHORT_OK.has(o.name)) refuseArg('tcpdump', `option "${o.name}"`, 'is not a known read-only tcpdump option');
    if (o.value === undefined && TCPDUMP_TABLE.shortWithValue.includes(o.name[1]!)) {
      refuseArg('tcpdump', `option "${o.name}"`, 'needs a value');
    }
  }
  if (toStdout && prints) refuseArg('tcpdump', '"--print"', 'together with "-w -" would mix text into the pcap stream');
  return { writesPcapToStdout: toStdout };
};

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

const curlRule: ToolRule = (argv) => {
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

// iperf3: options that read or write files, or detach from podtracer, are refused.
const IPERF3_TABLE: OptionTable = {
  shortWithValue: 'pfiIFABcbtnklPwMSLOTC',
  longWithValue: [
    'port', 'format', 'interval', 'pidfile', 'file', 'affinity', 'bind', 'bind-dev', 'logfile', 'rcv-timeout',
    'snd-timeout', 'server-bitrate-limit', 'idle-timeout', 'rsa-private-key-path', 'authorized-users-path',
    'time-skew-threshold', 'client', 'connect-timeout', 'bitrate', 'bandwidth', 'pacing-timer', 'fq-rate', 'time',
    'bytes', 'blockcount', 'length', 'cport', 'parallel', 'window', 'set-mss', 'tos', 'dscp', 'flowlabel', 'omit',
    'title', 'extra-data', 'username', 'rsa-public-key-path', 'congestion', 'linux-congestion', 'cntl-ka',
  ],
  longOptionalValue: ['timestamps', 'debug', 'cntl-ka'],
};
const IPERF3_REFUSED: Record<string, string> = {
  '-I': 'writes a pid file',
  '-F': 'reads or writes a file',
  '-D': 'detaches into a daemon that outlives the capture',
  logfile: 'writes a log file',
  pidfile: 'writes a pid file',
  file: 'reads or writes a file',
  daemon: 'detaches into a daemon that outlives the capture',
  'rsa-private-key-path': 'reads a key file',
  'rsa-public-key-path': 'reads a key file',
  'authorized-users-path': 'reads a credentials file',
};

function refusedByLongTable(tool: string, o: Opt, refused: Record<string, string>): void {
  for (const [full, why] of Object.entries(refused)) {
    if (full.startsWith('-')) continue;
    if (longMeans(o.name, full)) refuseArg(tool, describe(o), why);
  }
}

const iperf3Rule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, IPERF3_TABLE);
  for (const o of opts) {
    if (o.long) refusedByLongTable('iperf3', o, IPERF3_REFUSED);
    else if (IPERF3_REFUSED[o.name]) refuseArg('iperf3', describe(o), IPERF3_REFUSED[o.name]!);
  }
  return NONE;
};

// iperf (2): -o writes an output file, -F/-I read input from a file or stdin, -D daemonises.
const IPERF2_TABLE: OptionTable = {
  shortWithValue: 'bcfilnoptwxyBFHLMPSTZ',
  longWithValue: ['bandwidth', 'format', 'interval', 'len', 'output', 'port', 'window', 'bind', 'mss', 'time', 'num',
    'parallel', 'listenport', 'ttl', 'fileinput', 'tos', 'linux-congestion', 'client', 'reportexclude', 'reportstyle'],
};
const IPERF2_REFUSED: Record<string, string> = {
  '-o': 'writes an output file', '-F': 'reads a file', '-I': 'reads standard input', '-D': 'detaches into a daemon',
  output: 'writes an output file', fileinput: 'reads a file', stdin: 'reads standard input', daemon: 'detaches into a daemon',
};
const iperf2Rule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, IPERF2_TABLE);
  for (const o of opts) {
    if (o.long) refusedByLongTable('iperf', o, IPERF2_REFUSED);
    else if (IPERF2_REFUSED[o.name]) refuseArg('iperf', describe(o), IPERF2_REFUSED[o.name]!);
  }
  return NONE;
};

// ip and tc: iproute2 matches options, objects and commands by prefix (`ip l s` is `ip link set`),
// so a word is read-only only if it cannot be read as any mutating command.
const IPROUTE_MUTATING = [
  'add', 'del', 'delete', 'deleteall', 'set', 'change', 'replace', 'flush', 'append', 'prepend', 'exec',
  'restore', 'attach', 'detach', 'update', 'allocate', 'test', 'create', 'destroy', 'save',
  'restoreif',
];
const IPROUTE_READONLY = ['show', 'list', 'lst', 'ls', 'get', 'help', 'monitor', 'identify', 'pids', 'list-id', 'count'];

function isReadOnlyVerb(word: string): boolean {
  if (IPROUTE_READONLY.includes(word)) return true;
  if (word === '' || IPROUTE_MUTATING.some((m) => m.startsWith(word))) return false;
  return IPROUTE_READONLY.some((r) => r.startsWith(word));
}

/**
 * `ip`/`tc` global options: iproute2 tries its option names in a fixed order and takes the first
 * one the typed word is a prefix of (`-f` is -family for ip, -force for tc), so do the same.
 */
interface IprouteGlobals {
  /** option names in the order the tool tries them */
  order: readonly string[];
  withValue: readonly string[];
  refused: Record<string, string>;
}

function scanIprouteGlobals(tool: string, argv: readonly string[], g: IprouteGlobals): number {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const w = argv[i]!;
    if (w === '--') return i + 1;
    const typed = w.split('=')[0]!;
    const full = /^-\d$/.test(typed) ? typed : g.order.find((name) => name.startsWith(typed));
    if (full === undefined) refuseArg(tool, `option "${w}"`, `is not a known ${tool} option`);
    const why = g.refused[full];
    if (why) refuseArg(tool, `option "${w}" (${full})`, why);
    if (!w.includes('=') && g.withValue.includes(full)) i++;
    i++;
  }
  return i;
}

const IP_GLOBALS: IprouteGlobals = {
  order: [
    '-loops', '-family', '-4', '-6', '-0', '-M', '-B', '-human', '-human-readable', '-iec', '-stats', '-statistics',
    '-details', '-resolve', '-oneline', '-timestamp', '-tshort', '-Version', '-force', '-batch', '-brief', '-json',
    '-pretty', '-rcvbuf', '-color', '-colour', '-help', '-netns', '-Numeric', '-all', '-echo',
  ],
  withValue: ['-family', '-loops', '-rcvbuf'],
  refused: {
    '-batch': 'reads commands from a file',
    '-force': 'goes with -batch, which reads commands from a file',
    '-netns': 'switches to another network namespace',
  },
};

/** Objects whose command follows a sub-object (`ip xfrm state list`, `ip mptcp endpoint show`). */
const IP_SUBOBJECT = ['xfrm', 'mptcp', 'ioam', 'sr'];

function ipObjectIs(obj: string, name: string, minLength: number): boolean {
  return obj.length >= minLength && name.startsWith(obj);
}

/**
 * `ip monitor` and `tc monitor` take `file FILE` (a saved netlink dump to read), matched by
 * prefix like every iproute2 keyword, so `f`, `fi` and `fil` open a file as well.
 */
function refuseMonitorFile(tool: string, rest: readonly string[]): void {
  const w = rest.slice(1).find((word) => word !== '' && 'file'.startsWith(word));
  if (w !== undefined) refuseArg(tool, `"${rest[0]} ${w}"`, 'reads a file ("file" may be abbreviated)');
}

/**
 * iproute2 builds file names from some arguments even in write commands that are otherwise fine
 * to allow: `ip link add … type KIND` loads `<libdir>/link_KIND.so`, `tc qdisc add … KIND` loads
 * `q_KIND.so`, netem's `distribution NAME` reads `NAME.dist`. Kept inside the library directory
 * they name only what is installed; a "/" would leave it. Address prefixes (10.0.0.0/8, fe80::/64)
 * are the only arguments with a slash either tool needs.
 */
function refusePathLike(tool: string, rest: readonly string[]): void {
  const w = rest.find((word) => word.includes('/') && !/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(word));
  if (w !== undefined) refuseArg(tool, `"${w}"`, 'looks like a file path');
}

/** `ip link set … xdp|xdpgeneric|xdpdrv|xdpoffload obj|object|pinned FILE` loads a BPF program. */
const IP_XDP_WORDS = new Set(['xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload']);

const ipRule: ToolRule = (argv, policy) => {
  const start = scanIprouteGlobals('ip', argv, IP_GLOBALS);
  const rest = argv.slice(start);
  if (rest.includes('file')) refuseArg('ip', '"file"', 'reads a file');
  refusePathLike('ip', rest);
  const xdp = rest.find((w) => IP_XDP_WORDS.has(w) || (w.length >= 2 && ('object'.startsWith(w) || 'pinned'.startsWith(w))));
  if (xdp !== undefined) refuseArg('ip', `"${xdp}"`, 'loads a BPF program from a file');
  const obj = rest[0];
  if (obj === undefined) return NONE;
  if (ipObjectIs(obj, 'monitor', 2)) refuseMonitorFile('ip', rest);
  // `ip netns exec` and `ip vrf exec` run a command: refused even when writes are allowed.
  const second = rest[1];
  if ((ipObjectIs(obj, 'netns', 3) || ipObjectIs(obj, 'vrf', 1)) && second !== undefined && second !== '' && 'exec'.startsWith(second)) {
    refuseArg('ip', `"${obj} ${second}"`, 'runs a command');
  }
  if (policy.allowMutating) return NONE;
  if (ipObjectIs(obj, 'monitor', 2)) return NONE;
  let verbIdx = 1;
  if (IP_SUBOBJECT.some((s) => ipObjectIs(obj, s, s.length === 2 ? 2 : 1))) {
    verbIdx = 2;
    if (second !== undefined && !isReadOnlyVerb(second) && IPROUTE_MUTATING.some((m) => m.startsWith(second))) {
      refuseArg('ip', `"${obj} ${second}"`, 'is not a read-only command; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
    }
  }
  const verb = rest[verbIdx];
  if (verb !== undefined && !isReadOnlyVerb(verb)) {
    refuseArg('ip', `"${rest.slice(0, verbIdx + 1).join(' ')}"`, 'is not a read-only command (allowed: show, list, get, monitor, help); writes need SNOOPY_ALLOW_MUTATING_TOOLS');
  }
  return NONE;
};

const TC_GLOBALS: IprouteGlobals = {
  order: [
    '-stats', '-statistics', '-details', '-raw', '-pretty', '-graph', '-Version', '-iec', '-help', '-force',
    '-batch', '-netns', '-names', '-nm', '-cf', '-conf', '-color', '-colour', '-timestamp', '-tshort', '-json',
    '-OK', '-brief',
  ],
  withValue: ['-batch', '-netns', '-conf', '-cf'],
  refused: {
    '-batch': 'reads commands from a file',
    '-force': 'goes with -batch, which reads commands from a file',
    '-netns': 'switches to another network namespace',
    '-conf': 'reads a configuration file',
    '-cf': 'reads a configuration file',
    '-OK': 'goes with -batch, which reads commands from a file',
  },
};

const TC_FILE_WORDS = ['bpf', 'obj', 'object-file', 'object-pinned', 'file', 'exec'];

const tcRule: ToolRule = (argv, policy) => {
  const start = scanIprouteGlobals('tc', argv, TC_GLOBALS);
  const rest = argv.slice(start);
  const obj = rest[0];
  if (obj !== undefined && obj.length > 0 && 'exec'.startsWith(obj)) refuseArg('tc', `"${obj}"`, 'runs a program');
  const fileWord = rest.find((w) => TC_FILE_WORDS.includes(w));
  if (fileWord) refuseArg('tc', `"${fileWord}"`, 'loads a program or reads a file');
  refusePathLike('tc', rest);
  if (obj !== undefined && obj.length >= 1 && 'monitor'.startsWith(obj)) refuseMonitorFile('tc', rest);
  if (policy.allowMutating || obj === undefined) return NONE;
  if (obj.length >= 1 && 'monitor'.startsWith(obj)) return NONE;
  const verb = rest[1];
  if (verb !== undefined && !isReadOnlyVerb(verb)) {
    refuseArg('tc', `"${rest.slice(0, 2).join(' ')}"`, 'is not a read-only command (allowed: show, list, get, monitor, help); writes need SNOOPY_ALLOW_MUTATING_TOOLS');
  }
  return NONE;
};

// ethtool: the first option names the action; only queries are allowed unless writes are.
const ETHTOOL_QUERIES = new Set([
  '-a', '--show-pause', '-c', '--show-coalesce', '-g', '--show-ring', '-i', '--driver', '-d', '--register-dump',
  '-e', '--eeprom-dump', '-k', '--show-features', '--show-offload', '-P', '--show-permaddr', '-S', '--statistics',
  '--phy-statistics', '-T', '--show-time-stamping', '-l', '--show-channels', '-m', '--dump-module-eeprom',
  '--module-info', '-x', '--show-rxfh-indir', '--show-rxfh', '-n', '-u', '--show-nfc', '--show-ntuple',
  '--show-priv-flags', '--show-eee', '--show-fec', '--show-tunnels', '--show-module', '--show-mm', '--show-pse',
  '--show-plca', '--cable-test-tdr-show', '-w', '--get-dump', '-h', '--help', '--version', '--monitor',
  '--json', '-I', '--include-statistics', '--debug', '--all-groups', '--groups', '--src',
]);
const ethtoolRule: ToolRule = (argv, policy) => {
  const fileWord = argv.find((w) => w === 'file' || w === 'data');
  if (fileWord) refuseArg('ethtool', `"${fileWord}"`, 'reads or writes a file');
  for (const w of argv) {
    if (w === '-f' || w === '--flash') refuseArg('ethtool', `"${w}"`, 'flashes firmware from a file');
  }
  if (policy.allowMutating) return NONE;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (!w.startsWith('-')) continue;
    if (!ETHTOOL_QUERIES.has(w)) {
      refuseArg('ethtool', `option "${w}"`, 'is not a read-only query; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
    }
    if (w === '--debug') i++;
  }
  return NONE;
};

// conntrack: listing, getting, counting, events and stats read; the rest writes.
const CONNTRACK_TABLE: OptionTable = {
  shortWithValue: 'sdrqptuemifowcbal',
  longWithValue: [
    'orig-src', 'orig-dst', 'reply-src', 'reply-dst', 'proto', 'timeout', 'status', 'event-mask', 'mark', 'id',
    'family', 'output', 'zone', 'orig-zone', 'reply-zone', 'buffer-size', 'label', 'label-add', 'label-del',
    'mask-src', 'mask-dst', 'tuple-src', 'tuple-dst', 'src-nat', 'dst-nat', 'any-nat', 'sport', 'dport',
    'orig-port-src', 'orig-port-dst', 'reply-port-src', 'reply-port-dst', 'load-file',
  ],
};
const CONNTRACK_WRITES: Record<string, string> = {
  '-D': 'deletes entries', '-F': 'flushes the table', '-I': 'creates entries', '-U': 'updates entries',
  '-z': 'zeroes counters', '-A': 'adds entries',
  delete: 'deletes entries', flush: 'flushes the table', create: 'creates entries', update: 'updates entries',
  zero: 'zeroes counters', add: 'adds entries',
};
const conntrackRule: ToolRule = (argv, policy) => {
  const { opts } = scanOptions(argv, CONNTRACK_TABLE);
  for (const o of opts) {
    if (o.name === '-R' || (o.long && longMeans(o.name, 'load-file'))) refuseArg('conntrack', describe(o), 'reads a file');
    if (policy.allowMutating) continue;
    if (o.long) refusedByLongTable('conntrack', o, CONNTRACK_WRITES);
    else if (CONNTRACK_WRITES[o.name]) refuseArg('conntrack', describe(o), `${CONNTRACK_WRITES[o.name]}; writes need SNOOPY_ALLOW_MUTATING_TOOLS`);
  }
  return NONE;
};

// dig: -f reads a batch file, -k a key file.
const digRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, { shortWithValue: 'bcfkpqtxy', longWithValue: [] });
  for (const o of opts) {
    if (o.name === '-f') refuseArg('dig', describe(o), 'reads a batch file');
    if (o.name === '-k') refuseArg('dig', describe(o), 'reads a key file');
  }
  return NONE;
};

// ss: -F reads a filter file, -D writes a dump file, -N switches namespace, -K kills sockets.
const ssRule: ToolRule = (argv, policy) => {
  const { opts } = scanOptions(argv, {
    shortWithValue: 'fAFDN',
    longWithValue: ['family', 'query', 'socket', 'filter', 'diag', 'net'],
  });
  for (const o of opts) {
    if (o.name === '-F' || (o.long && longMeans(o.name, 'filter'))) refuseArg('ss', describe(o), 'reads a filter file');
    if (o.name === '-D' || (o.long && longMeans(o.name, 'diag'))) refuseArg('ss', describe(o), 'writes a dump file');
    if (o.name === '-N' || (o.long && longMeans(o.name, 'net'))) refuseArg('ss', describe(o), 'switches to another network namespace');
    if (!policy.allowMutating && (o.name === '-K' || (o.long && longMeans(o.name, 'kill')))) {
      refuseArg('ss', describe(o), 'kills sockets; writes need SNOOPY_ALLOW_MUTATING_TOOLS');
    }
  }
  return NONE;
};

// nstat keeps a history file between runs: only `-s` (--noupdate) runs, which never write it,
// are allowed; -d runs a daemon.
const nstatRule: ToolRule = (argv) => {
  const { opts } = scanOptions(argv, { shortWithValue: 'dt', longWithValue: ['scan', 'interval'] });
  let noUpdate = false;
  for (const o of opts) {
    if (o.name === '-d' || (o.long && longMeans(o.name, 'scan'))) refuseArg('nstat', describe(o), 'starts a daemon');
    if (o.name === '-r' || (o.long && longMeans(o.name, 'reset'))) refuseArg('nstat', describe(o), 'resets the history file');
    if (o.name === '-n' || (o.long && longMeans(o.name, 'nooutput'))) refuseArg('nstat', describe(o), 'only updates the history file');
    if (o.name === '-s' || (o.long && longMeans(o.name, 'noupdate'))) noUpdate = true;
    if (o.name === '-h' || o.name === '-V' || (o.long && (longMeans(o.name, 'help') || longMeans(o.name, 'version')))) noUpdate = true;
  }
  if (!noUpdate) refuseArg('nstat', 'without "-s"', 'would write its history file; add -s (--noupdate)');
  return NONE;
};

/** Tools that have no option reading or writing files or running commands. */
const noFileOptions: ToolRule = () => NONE;

const RULES: Record<string, ToolRule> = {
  tcpdump: tcpdumpRule,
  curl: curlRule,
  iperf3: iperf3Rule,
  iperf: iperf2Rule,
  ip: ipRule,
  tc: tcRule,
  ethtool: ethtoolRule,
  conntrack: conntrackRule,
  dig: digRule,
  ss: ssRule,
  nstat: nstatRule,
  // ping -F is a flow label, traceroute -f the first TTL; nslookup's only input besides argv is
  // standard input, which podtracer connects to /dev/null.
  ping: noFileOptions,
  tracepath: noFileOptions,
  traceroute: noFileOptions,
  nslookup: noFileOptions,
};

// ---------------------------------------------------------------------------------------------
// Entry points

function checkCommand(command: string, policy: ToolPolicy): void {
  if (command === '') throw new ToolPolicyError('command', 'command is empty');
  if (command.includes('/')) {
    throw new ToolPolicyError('command', `command "${command}" is a path; give the bare name of an allowed tool (${policy.allowedTools.join(', ')})`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(command)) {
    throw new ToolPolicyError('command', `command "${command}" is not a plain program name`);
  }
  if (NEVER_ALLOWED.has(command)) {
    throw new ToolPolicyError('command', `command "${command}" can run arbitrary programs and is never allowed`);
  }
  if (!policy.allowedTools.includes(command)) {
    throw new ToolPolicyError('command', `command "${command}" is not on the tool allowlist (${policy.allowedTools.join(', ')})`);
  }
}

function checkArgv(command: string, argv: readonly string[], policy: ToolPolicy): Checked {
  for (const [i, a] of argv.entries()) {
    if (typeof a !== 'string') throw new ToolPolicyError('args', `argument ${i + 1} is not a string`);
    for (let j = 0; j < a.length; j++) {
      if (isControl(a[j]!) && a[j] !== '\t') {
        throw new ToolPolicyError('args', `argument ${i + 1} contains a control character (code ${a.charCodeAt(j)})`);
      }
    }
  }
  const rule = RULES[command];
  // A tool added to the allowlist by configuration has no argument rules: whoever allowed it owns that choice.
  return rule ? rule(argv, policy) : NONE;
}

/** Throws ToolPolicyError when the command or any argument breaks the policy. */
export function checkToolInvocation(command: string, argv: readonly string[], policy: ToolPolicy = DEFAULT_TOOL_POLICY): void {
  checkCommand(command, policy);
  checkArgv(command, argv, policy);
}

/** Tokenises (when given a string) and checks a SnoopyJob's command and args. */
export function parseToolInvocation(
  command: string,
  args: string | readonly string[],
  policy: ToolPolicy = DEFAULT_TOOL_POLICY,
): { command: string; argv: string[]; writesPcapToStdout: boolean } {
  checkCommand(command, policy);
  const argv = typeof args === 'string' ? tokenizeArgs(args) : [...args];
  const { writesPcapToStdout } = checkArgv(command, argv, policy);
  return { command, argv, writesPcapToStdout };
}
