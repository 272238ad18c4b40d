// Option vocabularies of the getopt-style tools, taken from each installed tool's --help and man
// page (tcpdump 4.99, iperf 3.12, iperf 2.1, ss/nstat of iproute2 6.1, iputils ping/tracepath,
// traceroute 2.1, conntrack 1.4, curl 7.88), plus attack fragments built on the known holes.
import type { GetoptSpec, OptDef, ValueKind } from './getopt-gen.js';
import { ADDRS, ADDRS4, IFACES, PORTS, TMP_FILES } from './values.js';
import type { Rng } from './prng.js';

/** Compact option table: "c:count=num" is -c/--count with a number, "n" a flag, ":long=path" long only, "long?=word" optional value. */
function opts(table: Record<string, ValueKind | null>): OptDef[] {
  return Object.entries(table).map(([key, value]) => {
    const [s, lRaw] = key.includes(':') ? key.split(':') : key.length === 1 ? [key, ''] : ['', key];
    const optional = (lRaw ?? '').endsWith('?');
    const l = (lRaw ?? '').replace(/\?$/, '');
    const def: OptDef = {};
    if (s) def.short = s;
    if (l) def.long = l;
    if (value !== null) def.value = value;
    if (optional) def.optional = true;
    return def;
  });
}

const F = TMP_FILES;

export const TCPDUMP: GetoptSpec = {
  opts: opts({
    A: null, b: null, d: null, D: null, e: null, f: null, h: null, H: null, I: null, J: null, K: null, l: null,
    L: null, n: null, N: null, O: null, p: null, q: null, S: null, t: null, u: null, U: null, v: null, x: null,
    X: null, '#': null,
    'B:buffer-size': 'num', 'c': 'num', 'C': 'num', E: ['esp-3des:snpdiff', `file:${F.input}`], 'F': 'path', G: 'num',
    'i:interface': 'iface', 'j:time-stamp-type': ['host', 'adapter'], m: 'path', M: 'word', 'Q:direction': ['in', 'out', 'inout'],
    r: 'path', 's:snapshot-length': 'num', T: ['rtp', 'tcp', 'vxlan'], V: 'path', w: ['-', F.output, F.hostNew, 'snpdiff-rel.out'],
    W: 'num', 'y:linktype': ['EN10MB', 'LINUX_SLL2'], z: ['gzip', F.program], Z: ['root', 'nobody'],
    ':count': null, ':immediate-mode': null, ':monitor-mode': null, ':list-interfaces': null, ':list-data-link-types': null,
    ':list-time-stamp-types': null, ':no-optimize': null, ':no-promiscuous-mode': null, ':number': null,
    ':packet-buffered': null, ':version': null, ':help': null, ':print': null, ':lengths': null, ':micro': null,
    ':nano': null, ':fp-type': null, ':time-stamp-precision': ['micro', 'nano'], ':print-sampling': 'num', ':skip': 'num',
    ':relinquish-privileges': ['root', 'nobody'],
  }),
  operands: (rng) => (rng.chance(0.5) ? [] : [rng.pick([['icmp'], ['tcp', 'port', '5201'], ['host', '127.0.0.1'], ['udp', 'and', 'port', '53']])]),
  hot: [
    ['-w', '-', '-C', '1'], ['-w', F.output], ['-G', '1', '-w', '-'], ['-z', F.program], ['-Z', 'root'], ['-r', F.input],
    ['-F', F.hostFile], ['-V', F.input], ['-E', `file:${F.input}`], ['--relinquish-privileges=root'], ['-w-'],
    ['-Uw', '-'], ['-nw', F.output], ['-m', F.input],
  ],
};

export const IPERF3: GetoptSpec = {
  opts: opts({
    'p:port': 'port', 'f:format': ['k', 'm', 'g', 'K', 'M'], 'i:interval': 'num', 'I:pidfile': 'path', 'F:file': 'path',
    'A:affinity': 'num', 'B:bind': 'addr', ':bind-dev': 'iface', 'V:verbose': null, 'J:json': null, ':logfile': 'path',
    ':forceflush': null, ':timestamps?': ['%T'], ':rcv-timeout': 'num', ':snd-timeout': 'num', 'd:debug?': 'num',
    'v:version': null, 'h:help': null, 's:server': null, 'D:daemon': null, '1:one-off': null,
    ':server-bitrate-limit': ['1M', '10K'], ':idle-timeout': 'num', ':rsa-private-key-path': 'path',
    ':authorized-users-path': 'path', ':time-skew-threshold': 'num', 'c:client': 'addr', ':sctp': null,
    'X:xbind': 'addr', ':nstreams': 'num', 'u:udp': null, ':connect-timeout': 'num', 'b:bitrate': ['1M', '100K'],
    ':pacing-timer': 'num', ':fq-rate': ['1M'], 't:time': ['1', '2'], 'n:bytes': ['64K', '1M'], 'k:blockcount': 'num',
    'l:length': ['1K', '128'], ':cport': 'port', 'P:parallel': ['1', '2'], 'R:reverse': null, ':bidir': null,
    'w:window': ['64K'], 'C:congestion': ['cubic', 'reno'], 'M:set-mss': 'num', 'N:no-delay': null, '4:version4': null,
    '6:version6': null, 'S:tos': 'num', ':dscp': 'num', 'L:flowlabel': 'num', 'Z:zerocopy': null, 'O:omit': 'num',
    'T:title': 'word', ':extra-data': 'word', ':get-server-output': null, ':udp-counters-64bit': null,
    ':repeating-payload': null, ':dont-fragment': null, ':username': 'word', ':rsa-public-key-path': 'path',
    ':cntl-ka?': ['1/1/1'],
  }),
  operands: () => [],
  hot: [
    ['--server', '-F', F.output, '-1'], ['--server', '-F', F.hostNew, '-1'], ['--server', '--logfile', F.hostFile],
    ['--server', `--logfile=${F.output}`], ['--server', '--pidfile', F.hostFile], ['--server', '-I', F.output],
    ['--server', '-D'], ['--serv', '-D', '-1'], ['--server', '-1', '--rsa-private-key-path', F.input],
    ['-s', '-1'], ['-c', '127.0.0.1', '-t', '1'], ['-c', '127.0.0.1', '-R', '-F', F.input],
    ['--server', '--authorized-users-path', F.input], ['--server-bitrate-limit', '1M', '-s'],
  ],
};

export const IPERF2: GetoptSpec = {
  opts: opts({
    's:server': null, 'c:client': 'addr', 'u:udp': null, 'p:port': 'port', 'i:interval': 'num', 'l:len': ['1K', '128'],
    't:time': ['1', '2'], 'n:num': ['64K'], 'b:bandwidth': ['1M'], 'w:window': ['64K'], 'B:bind': 'addr',
    'f:format': ['k', 'm'], 'm:print_mss': null, 'M:mss': 'num', 'N:nodelay': null, 'V:ipv6_domain': null,
    'd:dualtest': null, 'r:tradeoff': null, 'D:daemon': null, 'o:output': 'path', 'F:fileinput': 'path',
    'I:stdin': null, 'x:reportexclude': ['CDMSV'], 'y:reportstyle': ['C'], 'P:parallel': ['1', '2'],
    'T:ttl': 'num', 'L:listenport': 'port', 'Z:linux-congestion': ['cubic'], 'e:enhanced': null, 'h:help': null,
    'v:version': null, 'S:tos': 'num', ':histograms?': ['1'], ':sum-only': null, ':trip-times': null,
    ':hide-ips': null, 'z:realtime': null, 'R:remove': null, 'H:ssm-host': 'addr', 'X:peer-detect': null,
  }),
  operands: () => [],
  hot: [
    ['-s', '-o', F.output], ['-s', '-D'], ['-c', '127.0.0.1', '-F', F.input], ['-s', '-1'], ['--server', '--output', F.hostFile],
    ['-c', '127.0.0.1', '-t', '1'], ['-s', '-P', '1'],
  ],
};

export const SS: GetoptSpec = {
  opts: opts({
    'h:help': null, 'V:version': null, 'H:no-header': null, 'O:oneline': null, 'n:numeric': null, 'r:resolve': null,
    'a:all': null, 'l:listening': null, 'o:options': null, 'e:extended': null, 'm:memory': null, 'p:processes': null,
    'T:threads': null, 'i:info': null, ':tos': null, ':cgroup': null, ':tipcinfo': null, 'K:kill': null,
    's:summary': null, 'E:events': null, 'Z:context': null, 'z:contexts': null, 'N:net': ['{{NS}}'], 'b:bpf': null,
    '4:ipv4': null, '6:ipv6': null, '0:packet': null, 't:tcp': null, 'M:mptcp': null, 'S:sctp': null, 'u:udp': null,
    'd:dccp': null, 'w:raw': null, 'x:unix': null, ':tipc': null, ':vsock': null, ':xdp': null, ':inet-sockopt': null,
    'f:family': ['inet', 'inet6', 'unix', 'link', 'netlink'], 'A:query': ['all', 'tcp', 'unix', 'packet'],
    ':socket': ['tcp', 'udp'], 'D:diag': 'path', 'F:filter': 'path',
  }),
  operands: (rng) =>
    rng.chance(0.6) ? [] : [rng.pick([['state', 'established'], ['dst', '127.0.0.1'], ['sport', '=', ':5201'], ['dport', 'gt', ':1024'], ['src', '10.253.7.1']])],
  hot: [['-D', F.output], ['--diag', F.hostNew], ['-F', F.input], ['--filter', F.hostFile], ['-K'], ['-N', '{{NS}}'], ['-nD', F.output]],
};

const ADDR_OPERAND = (rng: Rng): string[][] => [[rng.pick(ADDRS)]];

export const PING: GetoptSpec = {
  opts: opts({
    a: null, A: null, b: null, B: null, d: null, D: null, f: null, h: null, L: null, n: null, O: null, q: null,
    R: null, r: null, U: null, v: null, V: null, '4': null, '6': null, c: ['1', '2', '3'], i: ['0.2', '1', '0.002'],
    I: ['lo', 'sd0', '127.0.0.1'], l: 'num', m: 'num', M: ['do', 'dont', 'want', 'probe'], p: ['ff', 'a5'], Q: 'num',
    s: 'num', S: 'num', t: 'num', T: ['tsonly', 'tsandaddr'], w: ['1', '2'], W: ['1'], e: 'num', F: 'num',
    N: ['name', 'ipv6', 'ipv4-all'],
  }),
  operands: ADDR_OPERAND,
  hot: [['-c', '1'], ['-f', '-c', '5'], ['-I', F.input]],
};

export const TRACEPATH: GetoptSpec = {
  opts: opts({ '4': null, '6': null, n: null, b: null, l: 'num', m: 'num', p: 'port', V: null }),
  operands: ADDR_OPERAND,
};

export const TRACEROUTE: GetoptSpec = {
  opts: opts({
    '4': null, '6': null, 'I:icmp': null, 'T:tcp': null, 'U:udp': null, 'd:debug': null, 'F:dont-fragment': null,
    'f:first': 'num', 'g:gateway': 'addr', 'i:interface': 'iface', 'm:max-hops': ['3', '5'], 'N:sim-queries': 'num',
    'n': null, 'p:port': 'port', 't:tos': 'num', 'l:flowlabel': 'num', 'w:wait': ['1', '0.2'], 'q:queries': ['1', '2'],
    'r': null, 's:source': 'addr', 'z:sendwait': 'num', 'e:extensions': null, 'A:as-path-lookups': null, 'V:version': null,
    ':sport': 'port', ':fwmark': 'num', 'M:module': ['default', 'icmp', 'tcp', 'udp', F.input], 'O:options': ['info', 'syn'],
    'P:protocol': ['17', '6'], 'D:dccp': null, ':mtu': null, ':back': null, ':help': null,
  }),
  operands: (rng) => (rng.chance(0.7) ? [[rng.pick(ADDRS)]] : [[rng.pick(ADDRS4), rng.pick(['60', '1500'])]]),
  hot: [['-M', F.input], ['--module', F.hostFile], ['-A'], ['-q', '1', '-w', '0.2']],
};

export const NSTAT: GetoptSpec = {
  opts: opts({
    'h:help': null, 'V:version': null, 'z:zeros': null, 'a:ignore': null, 's:noupdate': null, 'n:nooutput': null,
    'r:reset': null, 'j:json': null, 'p:pretty': null, 'd:scan': 'num', 't:interval': 'num',
  }),
  operands: (rng) => (rng.chance(0.6) ? [] : [[rng.pick(['Tcp*', 'IpExt*', 'Udp*', 'Icmp*'])]]),
  hot: [['-s'], ['-s', '-a'], ['--noupdate'], ['--noup'], ['-sz'], ['-s', '-d', '1'], ['-s', '--scan=1'], ['-n'], ['-r', '-s']],
};

export const CONNTRACK: GetoptSpec = {
  opts: opts({
    'L:dump': null, 'G:get': null, 'D:delete': null, 'I:create': null, 'U:update': null, 'E:event': null, 'F:flush': null,
    'C:count': null, 'S:stats': null, 'R:load-file': 'path', 'A:add': null,
    's:src': 'addr', 'd:dst': 'addr', 'r:reply-src': 'addr', 'q:reply-dst': 'addr', ':orig-src': 'addr',
    ':orig-dst': 'addr', 'p:proto': ['tcp', 'udp', 'icmp'], 't:timeout': 'num', 'u:status': ['ASSURED', 'SEEN_REPLY'],
    'e:event-mask': ['NEW', 'ALL'], 'm:mark': 'num', 'c:secmark': 'num', 'i:id': 'num', 'f:family': ['ipv4', 'ipv6'],
    'z:zero': null, 'o:output': ['xml', 'extended', 'timestamp', 'id', 'ktimestamp', 'labels', 'userspace'],
    'n:src-nat?': ['127.0.0.1'], 'g:dst-nat?': ['127.0.0.1'], 'j:any-nat?': ['127.0.0.1'], 'w:zone': 'num',
    ':orig-zone': 'num', ':reply-zone': 'num', 'b:buffer-size': 'num', 'l:label': ['x'], ':label-add': ['x'],
    ':label-del': ['x'], ':sport': 'port', ':dport': 'port', ':orig-port-src': 'port', ':orig-port-dst': 'port',
    ':reply-port-src': 'port', ':reply-port-dst': 'port', ':mask-src': 'addr', ':mask-dst': 'addr',
    ':tuple-src': 'addr', ':tuple-dst': 'addr', 'h:help': null, 'V:version': null,
  }),
  operands: (rng) => (rng.chance(0.75) ? [] : [[rng.pick(['conntrack', 'expect', 'dying', 'unconfirmed'])]]),
  hot: [['--dst-nat', '-D'], ['--src-nat', '-F'], ['--any-nat', '-D'], ['--dst-nat', '-U', '-m', '1'], ['-L'], ['-R', F.input], ['--load-file', F.hostFile], ['-L', '--dst-nat=127.0.0.1']],
};

const URL_HOSTS = ['127.0.0.1', 'localhost', '[::1]', '10.253.7.1'];
function curlUrl(rng: Rng): string {
  const host = rng.pick(URL_HOSTS);
  const port = rng.pick(['', ':8080', ':80', ':443']);
  const portAlways = port === '' ? ':8080' : port;
  const pathPart = rng.pick(['/', '/x', '/[1-3]', '/{a,b}', '', '/?q=1']);
  switch (rng.int(0, 9)) {
    case 0:
      return rng.pick([`file://${F.input}`, `FILE://${F.hostFile}`, `file:${F.input}`, `file://localhost${F.input}`]);
    case 1:
      return `${rng.pick(['ftp', 'dict', 'gopher', 'telnet', 'scp', 'sftp', 'ldap', 'mqtt', 'tftp', 'smb', 'pop3', 'imap', 'rtsp', 'ws'])}://${host}${port}${pathPart}`;
    case 2:
      return `${host}${portAlways}${pathPart}`; // no scheme: curl guesses one
    case 3:
      return `${rng.pick(['HTTP', 'Http', 'https'])}://${host}${port}${pathPart}`;
    case 4:
      return `http://{127.0.0.1,localhost}${port}/`;
    default:
      return `http://${host}${port}${pathPart}`;
  }
}

export const CURL: GetoptSpec = {
  opts: opts({
    's:silent': null, 'S:show-error': null, 'v:verbose': null, 'f:fail': null, 'i:include': null, 'I:head': null,
    'k:insecure': null, 'L:location': null, 'G:get': null, 'N:no-buffer': null, 'q:disable': null, '0:http1.0': null,
    ':http1.1': null, ':http2': null, '4:ipv4': null, '6:ipv6': null, '#:progress-bar': null, 'j:junk-session-cookies': null,
    'J:remote-header-name': null, 'O:remote-name': null, 'R:remote-time': null, 'Z:parallel': null, 'n:netrc': null,
    'l:list-only': null, 'a:append': null, 'B:use-ascii': null, 'p:proxytunnel': null, 'g:globoff': null, 'M:manual': null,
    'A:user-agent': 'word', 'b:cookie': ['a=b', '@' + F.input, F.input, F.withEquals, `@${F.withEquals}`, 'a=b;c=d', `${F.hostFile}`],
    'c:cookie-jar': 'path', 'd:data': ['a=b', `@${F.input}`, '@-', 'x'], ':data-raw': ['@x', 'a=b'],
    ':data-binary': [`@${F.input}`, 'x'], ':data-urlencode': [`a@${F.input}`, `@${F.input}`, 'a=b', `a=@${F.input}`],
    ':json': [`@${F.input}`, '{}'], 'D:dump-header': ['-', F.output], 'e:referer': ['x'], 'E:cert': 'path', ':key': 'path',
    'F:form': ['a=b', `a=@${F.input}`, `a=<${F.input}`, `a=b;filename=${F.input}`, `a=@-`], ':form-string': [`a=@${F.input}`],
    'H:header': ['X-A: b', `@${F.input}`, 'Host: localhost'], 'K:config': 'path', 'm:max-time': ['1', '0.5'],
    'o:output': ['-', '/dev/null', F.output, F.hostNew], 'r:range': ['0-10'], 'T:upload-file': 'path', 'u:user': ['a:b'],
    'U:proxy-user': ['a:b'], 'w:write-out': ['%{http_code}', `@${F.input}`, '%{stderr}x', `%output{${F.output}}x`, '%{json}'],
    'x:proxy': [`socks5h://localhost${F.socket}`, `socks5://127.0.0.1${F.socket}`, 'http://127.0.0.1:8080', `socks4a://localhost${F.socket}`, 'socks5h://127.0.0.1:1080'],
    'X:request': ['GET', 'POST'], 'y:speed-time': 'num', 'Y:speed-limit': 'num', 'z:time-cond': ['x', F.input, `-${F.input}`],
    'C:continue-at': ['-', '0'], 'P:ftp-port': ['-'], 'Q:quote': ['x'], 't:telnet-option': ['TTYPE=x'],
    ':connect-timeout': ['1'], ':resolve': ['x:80:127.0.0.1'], ':connect-to': ['::127.0.0.1:8080'], ':max-redirs': 'num',
    ':retry': 'num', ':interface': 'iface', ':local-port': ['40000-40010'], ':limit-rate': ['1k'], ':noproxy': ['*'],
    ':url': ['http://127.0.0.1:8080/', `file://${F.input}`], ':dns-servers': ['127.0.0.1'], ':stderr': ['-', F.output],
    ':trace': ['-', F.output], ':trace-ascii': ['-', F.output], ':libcurl': [F.output], ':netrc-file': 'path',
    ':netrc-optional': null, ':cacert': 'path', ':capath': 'path', ':crlfile': 'path', ':pinnedpubkey': 'path',
    ':unix-socket': [F.socket], ':abstract-unix-socket': ['snpdiff'], ':etag-save': 'path', ':etag-compare': 'path',
    ':hsts': 'path', ':alt-svc': 'path', ':output-dir': [TMP_FILES.hostNew, '.'], ':create-dirs': null,
    ':create-file-mode': ['0777'], ':proto': ['=http', 'all', '+file'], ':proto-redir': ['all'],
    ':proto-default': ['file', 'ftp', 'http'], ':socks4': [`localhost${F.socket}`, '127.0.0.1:1080'],
    ':socks4a': [`localhost${F.socket}`], ':socks5': [`localhost${F.socket}`, '127.0.0.1:1080'],
    ':socks5-hostname': [`localhost${F.socket}`], ':preproxy': [`socks5://localhost${F.socket}`, `socks5h://127.0.0.1${F.socket}`],
    ':proxy-header': ['X: y', `@${F.input}`], ':doh-url': ['https://127.0.0.1/dns-query'], ':engine': ['list'],
    ':egd-file': 'path', ':random-file': 'path', ':proxy-cacert': 'path', ':proxy-cert': 'path', ':proxy-key': 'path',
    ':ssl-no-revoke': null, ':compressed': null, ':raw': null, ':tcp-nodelay': null, ':path-as-is': null,
    ':http0.9': null, ':next': null, ':styled-output': null, ':no-progress-meter': null, ':xattr': null,
    ':remove-on-error': null, ':no-clobber': null, ':metalink': null, ':ftp-create-dirs': null,
    ':write-out': ['%{http_code}'], ':retry-connrefused': null, ':fail-with-body': null, ':tlsv1.2': null,
    ':ssl-auto-client-cert': null, ':key-type': ['PEM'], ':cert-type': ['PEM'], ':url-query': [`+@${F.input}`],
    ':parallel-max': ['2'], ':happy-eyeballs-timeout-ms': ['100'], ':request-target': ['*'], ':oauth2-bearer': ['x'],
  }),
  operands: (rng) => (rng.chance(0.1) ? [] : Array.from({ length: rng.int(1, 2) }, () => [curlUrl(rng)])),
  hot: [
    ['-b', `@${F.withEquals}`], ['-b', F.withEquals], ['-b', `${F.input}=x`], ['-x', `socks5h://localhost${F.socket}`],
    ['--preproxy', `socks5://localhost${F.socket}`], ['--socks5', `localhost${F.socket}`], ['-o', '/dev/null', '-w', '%{http_code}'],
    ['-F', `a=@${F.input}`], ['-Fa=@' + F.input], ['--proxy', `socks5h://localhost${F.socket}`], ['-K', F.input],
    ['--data-urlencode', `a@${F.input}`], ['-w', `%output{${F.output}}x`], ['--trace', F.output], ['--stderr', F.output],
    ['-:', '-o', F.output], ['--next', '-o', F.output], ['--url-query', `@${F.input}`], ['--proto-default', 'file'],
    ['-s', '--create-dirs', '--output-dir', F.hostNew, '-O'], ['--socks5-hostname', `localhost${F.socket}`],
  ],
};

export { ADDRS, IFACES, PORTS };
