import { describe, expect, test } from '@jest/globals';
import {
  DEFAULT_ALLOWED_TOOLS,
  DEFAULT_TOOL_POLICY,
  ToolPolicyError,
  checkToolInvocation,
  parseToolInvocation,
  tokenizeArgs,
  toolPolicyFromEnv,
  type ToolPolicy,
} from '../tool-policy.js';

function errorOf(fn: () => unknown): ToolPolicyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ToolPolicyError) return err;
    throw err;
  }
  throw new Error('expected a ToolPolicyError, nothing was thrown');
}

describe('tokenizeArgs', () => {
  const ok: Array<[string, string[]]> = [
    ['', []],
    ['   ', []],
    ['-i eth0 -U -w -', ['-i', 'eth0', '-U', '-w', '-']],
    ["  -n\t'port 80'  ", ['-n', 'port 80']],
    ['"a b" c', ['a b', 'c']],
    ["'it''s'", ['its']],
    ["a'b'\"c\"d", ['abcd']],
    ["''", ['']],
    ['"" x', ['', 'x']],
    ['a\\ b', ['a b']],
    ['\\$HOME', ['$HOME']],
    ["'$(rm -rf /)'", ['$(rm -rf /)']],
    ["'a;b|c&d>e<f*g?h[i]`j`~k'", ['a;b|c&d>e<f*g?h[i]`j`~k']],
    ['"\\$x \\" \\\\ \\n"', ['$x " \\ \\n']],
    ['"single \' inside"', ["single ' inside"]],
    ['not port 22 and ! icmp', ['not', 'port', '22', 'and', '!', 'icmp']],
    ['a=b c:d x~y', ['a=b', 'c:d', 'x~y']],
    ['port#1', ['port#1']],
    ['http://host/~user', ['http://host/~user']],
  ];
  test.each(ok)('%j tokenises', (input, words) => {
    expect(tokenizeArgs(input)).toEqual(words);
  });

  const refused: Array<[string, string, number]> = [
    ['$(id)', '$(', 1],
    ['-i eth0 $(id)', '$(', 9],
    ['$HOME', '$', 1],
    ['"$HOME"', '$H', 2],
    ['"a`id`"', '`', 3],
    ['`id`', '`', 1],
    ['a;b', ';', 2],
    ['a ; b', ';', 3],
    ['a | b', '|', 3],
    ['a && b', '&', 3],
    ['a &', '&', 3],
    ['> /etc/x', '>', 1],
    ['x</etc/passwd', '<', 2],
    ['*.pcap', '*', 1],
    ['file?', '?', 5],
    ['tcp[13]', '[', 4],
    ['(a)', '(', 1],
    ['{a,b}', '{', 1],
    ['~/x', '~', 1],
    ['a=~/x', '~', 3],
    ['a\nb', '\n', 2],
    ["'a\nb'", '\n', 3],
    ['a\rb', '\r', 2],
    ['a\u0000b', '\u0000', 2],
    ["'open", "'open", 1],
    ['"open', '"open', 1],
    ['trailing\\', '\\', 9],
    ['# comment', '#', 1],
  ];
  test.each(refused)('%j is refused naming %j at position %d', (input, text, position) => {
    const err = errorOf(() => tokenizeArgs(input));
    expect(err.field).toBe('args');
    expect(err.position).toBe(position);
    expect(err.message).toContain(JSON.stringify(text));
    expect(err.message).toContain(`position ${position}`);
  });
});

describe('commands', () => {
  test.each(DEFAULT_ALLOWED_TOOLS.map((t) => [t]))('%s is allowed by default', (tool) => {
    const args = tool === 'nstat' ? ['-s'] : [];
    expect(() => checkToolInvocation(tool, args)).not.toThrow();
  });
  const refused: Array<[string, RegExp]> = [
    ['sh', /never allowed/],
    ['bash', /never allowed/],
    ['rm', /not on the tool allowlist/],
    ['/usr/sbin/tcpdump', /is a path/],
    ['./tcpdump', /is a path/],
    ['', /empty/],
    ['tcp dump', /not a plain program name/],
    ['-tcpdump', /not a plain program name/],
    ['TCPDUMP', /not on the tool allowlist/],
  ];
  test.each(refused)('%j is refused', (cmd, why) => {
    const err = errorOf(() => checkToolInvocation(cmd, []));
    expect(err.field).toBe('command');
    expect(err.message).toMatch(why);
  });
  test('a shell stays refused even when configured', () => {
    const policy: ToolPolicy = { allowedTools: ['sh', 'tcpdump'], allowMutating: true };
    expect(errorOf(() => checkToolInvocation('sh', ['-c', 'id'], policy)).message).toMatch(/never allowed/);
  });
  test('a configured list replaces the default one', () => {
    const policy = toolPolicyFromEnv({ SNOOPY_ALLOWED_TOOLS: 'ping, tcpdump  mtr' });
    expect(policy.allowedTools).toEqual(['ping', 'tcpdump', 'mtr']);
    expect(policy.allowMutating).toBe(false);
    expect(() => checkToolInvocation('mtr', ['-r', 'x'], policy)).not.toThrow();
    expect(errorOf(() => checkToolInvocation('curl', [], policy)).field).toBe('command');
  });
  test('env defaults and the mutating switch', () => {
    expect(toolPolicyFromEnv({})).toEqual(DEFAULT_TOOL_POLICY);
    expect(toolPolicyFromEnv({ SNOOPY_ALLOW_MUTATING_TOOLS: 'true' }).allowMutating).toBe(true);
    expect(toolPolicyFromEnv({ SNOOPY_ALLOW_MUTATING_TOOLS: 'no' }).allowMutating).toBe(false);
  });
});

const MUTATING: ToolPolicy = { allowedTools: DEFAULT_ALLOWED_TOOLS, allowMutating: true };

// [command, args (shell text), allowed by default, allowed with allowMutating]
type Case = [string, string, boolean, boolean];
const cases: Case[] = [
  // tcpdump
  ['tcpdump', '-i eth0 -U -w -', true, true],
  ['tcpdump', '-i any -nn -vv -c 100 port 53', true, true],
  ['tcpdump', "-i eth0 -s 0 -w - 'tcp port 80 and (tcp[13] & 2 != 0)'", true, true],
  ['tcpdump', '-w-', true, true],
  ['tcpdump', '-Uw-', true, true],
  ['tcpdump', '-D', true, true],
  ['tcpdump', '--immediate-mode --packet-buffered -w - -i lo', true, true],
  ['tcpdump', '--snapshot-length=96 -i lo', true, true],
  ['tcpdump', '-i lo -z gzip -w -', false, false],
  ['tcpdump', '-Z root', false, false],
  ['tcpdump', '-r /etc/shadow', false, false],
  ['tcpdump', '-r-', false, false],
  ['tcpdump', '-V /tmp/list', false, false],
  ['tcpdump', '-F /etc/filter', false, false],
  ['tcpdump', '-C 1 -w -', false, false],
  ['tcpdump', '-G 10 -w -', false, false],
  ['tcpdump', '-W 3 -w -', false, false],
  ['tcpdump', '-w /etc/x', false, false],
  ['tcpdump', '-w/etc/x', false, false],
  ['tcpdump', '-nw/etc/x', false, false],
  ['tcpdump', '-Uw /tmp/x', false, false],
  ['tcpdump', '-w', false, false],
  ['tcpdump', '-i eth0 -w /host/proc/1/root/etc/cron.d/x', false, false],
  ['tcpdump', '--relinquish-privileges=root', false, false],
  ['tcpdump', '--relinq root', false, false],
  ['tcpdump', '--write /x', false, false],
  ['tcpdump', '-E file', false, false],
  ['tcpdump', '-m /x', false, false],
  ['tcpdump', '--print -w -', false, false],
  ['tcpdump', '--no-such-option', false, false],
  ['tcpdump', '-i lo -- -w /etc/x', true, true], // after "--" these are filter words, not options
  // curl
  ['curl', '-sS http://svc:8080/healthz', true, true],
  ['curl', '-v -H "Host: x" --max-time 5 https://svc/', true, true],
  ['curl', '-o - http://svc/', true, true],
  ['curl', "-w '%{http_code}' http://svc/", true, true],
  ['curl', '-d a=b http://svc/', true, true],
  ['curl', '--data-raw @literal http://svc/', true, true],
  ['curl', '-b a=b http://svc/', true, true],
  ['curl', '--resolve svc:80:10.0.0.1 http://svc/', true, true],
  ['curl', '-o /tmp/x http://svc/', false, false],
  ['curl', '-so/tmp/x http://svc/', false, false],
  ['curl', '-O http://svc/x', false, false],
  ['curl', '-K /etc/curlrc', false, false],
  ['curl', '--config /x http://svc/', false, false],
  ['curl', '--output /x http://svc/', false, false],
  ['curl', '--outp /x http://svc/', false, false],
  ['curl', '-T /etc/passwd http://svc/', false, false],
  ['curl', '--upload-file /etc/passwd http://svc/', false, false],
  ['curl', '-d @/etc/passwd http://svc/', false, false],
  ['curl', '--data-binary @/etc/passwd http://svc/', false, false],
  ['curl', '--data-urlencode name@/etc/passwd http://svc/', false, false],
  ['curl', '--json @/x http://svc/', false, false],
  ['curl', '-F file=@/etc/passwd http://svc/', false, false],
  ['curl', "-F 'file=</etc/passwd' http://svc/", false, false],
  ['curl', '-H @/etc/headers http://svc/', false, false],
  ['curl', '--proxy-header @/etc/headers -x http://proxy:3128 http://svc/', false, false],
  ['curl', '--proxy-header X-A:b -x http://proxy:3128 http://svc/', true, true],
  ['curl', '--cookie-jar /x http://svc/', false, false],
  ['curl', '-c /x http://svc/', false, false],
  ['curl', '-b /etc/cookies http://svc/', false, false],
  ['curl', '-D /x http://svc/', false, false],
  ['curl', '--dump-header /x http://svc/', false, false],
  ['curl', '--trace /x http://svc/', false, false],
  ['curl', '--trace-ascii /x http://svc/', false, false],
  ['curl', '--libcurl /x http://svc/', false, false],
  ['curl', '--netrc-file /x http://svc/', false, false],
  ['curl', '-E /cert http://svc/', false, false],
  ['curl', '--cert /cert http://svc/', false, false],
  ['curl', '--key /key http://svc/', false, false],
  ['curl', '--unix-socket /var/run/docker.sock http://x/', false, false],
  ['curl', '--stderr /x http://svc/', false, false],
  ['curl', '-w @/etc/fmt http://svc/', false, false],
  ['curl', "-w '%output{/x}' http://svc/", false, false],
  ['curl', 'file:///etc/passwd', false, false],
  ['curl', 'FILE:///etc/passwd', false, false],
  ['curl', 'dict://svc:11211/stat', false, false],
  ['curl', 'gopher://svc/', false, false],
  ['curl', '--url file:///etc/passwd', false, false],
  ['curl', 'ftp.example.com', false, false],
  ['curl', '-x gopher://p http://svc/', false, false],
  // iperf3
  ['iperf3', '-c 10.0.0.2 -t 2', true, true],
  ['iperf3', '-s -1', true, true],
  ['iperf3', '-c 10.0.0.2 -u -b 10M -P 4 -J', true, true],
  ['iperf3', '--logfile /x -c h', false, false],
  ['iperf3', '--logf=/x -c h', false, false],
  ['iperf3', '-F /etc/passwd -c h', false, false],
  ['iperf3', '--file /x -c h', false, false],
  ['iperf3', '-I /x -s', false, false],
  ['iperf3', '--pidfile /x -s', false, false],
  ['iperf3', '-sD', false, false],
  ['iperf3', '-s --daemon', false, false],
  ['iperf3', '-s --rsa-private-key-path /k', false, false],
  ['iperf3', '-c h --rsa-public-key-path /k', false, false],
  ['iperf3', '-s --authorized-users-path /u', false, false],
  ['iperf3', '-c h -Fx', false, false],
  ['iperf', '-c h -t 2', true, true],
  ['iperf', '-s -o /x', false, false],
  ['iperf', '-c h -F /etc/passwd', false, false],
  ['iperf', '-c h -I', false, false],
  ['iperf', '-s -D', false, false],
  // ip
  ['ip', 'addr', true, true],
  ['ip', '-br -4 addr show dev eth0', true, true],
  ['ip', '-s -d link show', true, true],
  ['ip', 'route get 10.0.0.1', true, true],
  ['ip', '-j route list table all', true, true],
  ['ip', 'neigh', true, true],
  ['ip', 'monitor all', true, true],
  ['ip', '-f inet route', true, true],
  ['ip', 'r sh', true, true],
  ['ip', 'xfrm state list', true, true],
  ['ip', 'netns list', true, true],
  ['ip', 'link set eth0 down', false, true],
  ['ip', 'l s eth0 down', false, true],
  ['ip', 'addr add 10.0.0.9/24 dev eth0', false, true],
  ['ip', 'a del 10.0.0.9/24 dev eth0', false, true],
  ['ip', 'route replace default via 10.0.0.1', false, true],
  ['ip', 'route change default via 10.0.0.1', false, true],
  ['ip', 'route append 10.1.0.0/16 via 10.0.0.1', false, true],
  ['ip', 'route prepend 10.1.0.0/16 via 10.0.0.1', false, true],
  ['ip', 'neigh flush all', false, true],
  ['ip', 'xfrm state flush', false, true],
  ['ip', 'link delete eth0', false, true],
  ['ip', 'netns exec other sh', false, false],
  ['ip', 'netns e other sh', false, false],
  ['ip', '-all netns exec sh', false, false],
  ['ip', 'vrf exec red sh', false, false],
  ['ip', '-batch /etc/cmds', false, false],
  ['ip', '-b /etc/cmds', false, false],
  ['ip', '-force -b /x', false, false],
  ['ip', '-n other addr', false, false],
  ['ip', '-netns other addr', false, false],
  ['ip', 'monitor file /x', false, false],
  ['ip', 'monitor f /x', false, false],
  ['ip', 'mo fi /x', false, false],
  ['ip', 'monitor all fil /x', false, false],
  ['ip', '-nosuch addr', false, false],
  // tc
  ['tc', '-s qdisc show dev eth0', true, true],
  ['tc', 'class ls dev eth0', true, true],
  ['tc', 'filter', true, true],
  ['tc', 'monitor', true, true],
  ['tc', 'monitor file /x', false, false],
  ['tc', 'monitor f /x', false, false],
  ['tc', 'm fi /x', false, false],
  ['tc', 'qdisc add dev eth0 root netem delay 100ms', false, true],
  // file names iproute2 builds from arguments: never outside its library directory
  ['tc', 'qdisc add dev eth0 root netem distribution ../../tmp/x', false, false],
  ['tc', 'qdisc add dev eth0 root ../../tmp/evil', false, false],
  ['tc', 'qdisc add dev eth0 root netem delay 10ms distribution normal', false, true],
  ['tc', 'filter add dev eth0 parent 1: protocol ip u32 match ip dst 10.0.0.0/8 flowid 1:1', false, true],
  ['ip', 'link add x0 type ../../tmp/evil', false, false],
  ['ip', 'link add x0 type dummy', false, true],
  ['ip', 'link set dev eth0 xdp obj prog.o', false, false],
  ['ip', 'link set dev eth0 xdpgeneric object prog.o', false, false],
  ['ip', 'link set dev eth0 xdp pinned /sys/fs/bpf/p', false, false],
  ['ip', 'addr add 10.1.2.3/24 dev eth0', false, true],
  ['ip', 'route show 10.0.0.0/8', true, true],
  ['ip', '-6 route get fe80::1/128', true, true],
  ['tc', 'qdisc del dev eth0 root', false, true],
  ['tc', 'qdisc replace dev eth0 root fq', false, true],
  ['tc', 'exec bpf import x', false, false],
  ['tc', 'filter add dev eth0 ingress bpf obj /x.o', false, false],
  ['tc', '-batch /x', false, false],
  ['tc', '-b /x', false, false],
  ['tc', '-cf /x qdisc', false, false],
  ['tc', '-n other qdisc', false, false],
  // ethtool
  ['ethtool', 'eth0', true, true],
  ['ethtool', '-S eth0', true, true],
  ['ethtool', '-i eth0', true, true],
  ['ethtool', '--json -k eth0', true, true],
  ['ethtool', '-s eth0 speed 100', false, true],
  ['ethtool', '-K eth0 gro off', false, true],
  ['ethtool', '-G eth0 rx 4096', false, true],
  ['ethtool', '-r eth0', false, true],
  ['ethtool', '-f eth0 /fw.bin', false, false],
  ['ethtool', '-d eth0 file /x', false, false],
  ['ethtool', '-w eth0 data /x', false, false],
  // conntrack
  ['conntrack', '-L', true, true],
  ['conntrack', '-L -p tcp --dport 80', true, true],
  ['conntrack', '-S', true, true],
  ['conntrack', '-C', true, true],
  ['conntrack', '-E -e NEW', true, true],
  ['conntrack', '-G -s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1 --dport 2', true, true],
  ['conntrack', '-D -s 10.0.0.1', false, true],
  ['conntrack', '-F', false, true],
  ['conntrack', '--flush', false, true],
  ['conntrack', '-I -s 1.1.1.1', false, true],
  ['conntrack', '-U -m 1', false, true],
  ['conntrack', '-L -z', false, true],
  // "-Lz": -L takes an optional value (getopt "L::"), so z is its (ignored) table name, not -z
  ['conntrack', '-Lz', true, true],
  ['conntrack', '-zL', false, true],
  ['conntrack', '-R /x', false, false],
  ['conntrack', '--load-file /x', false, false],
  // dig, nslookup
  ['dig', '+short example.svc.cluster.local A', true, true],
  ['dig', '@10.96.0.10 -p 53 -t AAAA svc', true, true],
  ['dig', '-f /etc/names', false, false],
  ['dig', '-4f /etc/names', false, false],
  ['dig', '-k /etc/key svc', false, false],
  ['nslookup', 'kubernetes.default 10.96.0.10', true, true],
  // ss, nstat
  ['ss', '-tan', true, true],
  ['ss', '-tanp', false, false],
  ['ss', '--proc', false, false],
  ['ss', '-tanr', false, false],
  ['ss', '-tZ', false, false],
  ['ss', '-s', true, true],
  ['ss', '-tan state established', true, true],
  ['ss', '-F /x', false, false],
  ['ss', '--filter=/x', false, false],
  ['ss', '-D /x', false, false],
  ['ss', '--diag=/x', false, false],
  ['ss', '-N other', false, false],
  ['ss', '--net=other', false, false],
  ['ss', '-K dst 10.0.0.1', false, true],
  ['nstat', '-s', true, true],
  ['nstat', '-asz', true, true],
  ['nstat', '--noupdate -a', true, true],
  ['nstat', '', false, false],
  ['nstat', '-a', false, false],
  ['nstat', '-s -r', false, false],
  ['nstat', '-s -n', false, false],
  ['nstat', '-s -d 10', false, false],
  // ping, tracepath, traceroute
  ['ping', '-c 40 -i 0.05 10.0.0.2', true, true],
  ['ping', '-F 1234 -6 fd00::1', true, true],
  ['tracepath', '-n 10.0.0.2', true, true],
  ['traceroute', '-n -f 2 10.0.0.2', true, true],
];

describe('per-tool argument rules', () => {
  test.each(cases)('%s %s → default %s, mutating %s', (command, args, byDefault, withMutating) => {
    for (const [policy, expected] of [[DEFAULT_TOOL_POLICY, byDefault], [MUTATING, withMutating]] as const) {
      let err: unknown;
      try {
        parseToolInvocation(command, args, policy);
      } catch (e) {
        err = e;
      }
      if (expected) {
        expect(err).toBeUndefined();
      } else {
        expect(err).toBeInstanceOf(ToolPolicyError);
        expect((err as ToolPolicyError).field).toBe('args');
        expect((err as ToolPolicyError).message).toMatch(new RegExp(`^${command}: `));
      }
    }
  });

  test('an argv array is checked the same way as shell text', () => {
    expect(() => checkToolInvocation('tcpdump', ['-w', '/etc/x'])).toThrow(ToolPolicyError);
    expect(() => checkToolInvocation('tcpdump', ['-i', 'lo', 'port 80 and host a'])).not.toThrow();
    expect(errorOf(() => checkToolInvocation('ping', ['a\nb'])).message).toMatch(/control character/);
  });

  test('parseToolInvocation returns the argv and whether tcpdump writes pcap to stdout', () => {
    expect(parseToolInvocation('tcpdump', "-i eth0 -U -w - 'port 80'")).toEqual({
      command: 'tcpdump',
      argv: ['-i', 'eth0', '-U', '-w', '-', 'port 80'],
      writesPcapToStdout: true,
    });
    expect(parseToolInvocation('tcpdump', '-i eth0 -n').writesPcapToStdout).toBe(false);
    expect(parseToolInvocation('iperf3', ['-c', 'h']).writesPcapToStdout).toBe(false);
  });

  test('messages name the offending option', () => {
    expect(errorOf(() => parseToolInvocation('tcpdump', '-i lo -z gzip')).message).toContain('"-z gzip"');
    expect(errorOf(() => parseToolInvocation('tcpdump', '-nw/etc/x')).message).toContain('"-w /etc/x"');
    expect(errorOf(() => parseToolInvocation('curl', 'file:///etc/passwd')).message).toContain('file:///etc/passwd');
    expect(errorOf(() => parseToolInvocation('ip', 'link set eth0 down')).message).toContain('"link set"');
  });
});
