// The strace parser and the rules of the differential tool-policy test, on lines captured from
// real runs (strace 6.1, `-f -qq -y -e signal=none`).
import { describe, expect, test } from '@jest/globals';
import { decodeCString, fdPath, parseStrace, splitArgs } from './policy-diff/strace-parse.js';
import { judge, type Rule } from './policy-diff/verdict.js';

const CTX = { toolPath: '/usr/bin/curl', home: '/tmp/snp-diff-AbCdEf/t/home', readOnly: true };

function rulesOf(text: string, ctx = CTX): Array<[Rule, string]> {
  const { calls, unparsed } = parseStrace(text);
  expect(unparsed).toEqual([]);
  return judge(calls, ctx).map((f) => [f.rule, f.target]);
}

const EXEC = '9609  execve("/usr/bin/curl", ["/usr/bin/curl", "-s", "http://127.0.0.1:8080/"], 0x7ffd9067b7d8 /* 4 vars */) = 0\n';

describe('strace line parsing', () => {
  test('splits arguments outside strings, brackets and fd decorations', () => {
    expect(splitArgs('AT_FDCWD</tmp/a,b>, "/x, y", O_RDONLY|O_CLOEXEC')).toEqual(['AT_FDCWD</tmp/a,b>', '"/x, y"', 'O_RDONLY|O_CLOEXEC']);
    expect(splitArgs('5<socket:[1]>, {sa_family=AF_UNIX, sun_path="/a"}, 110')).toEqual(['5<socket:[1]>', '{sa_family=AF_UNIX, sun_path="/a"}', '110']);
  });

  test('decodes C strings with escapes', () => {
    expect(decodeCString('"/tmp/a\\"b\\\\c"')).toBe('/tmp/a"b\\c');
    expect(decodeCString('"\\x2f\\164mp"')).toBe('/tmp');
    expect(decodeCString('"abc"...')).toBe('abc');
    expect(decodeCString('AT_FDCWD')).toBeUndefined();
  });

  test('reads the path strace -y prints behind a descriptor', () => {
    expect(fdPath('AT_FDCWD</tmp/x/cwd>')).toBe('/tmp/x/cwd');
    expect(fdPath('3</usr/lib/x86_64-linux-gnu/libc.so.6>')).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(fdPath('-1 ENOENT (No such file or directory)')).toBeUndefined();
  });

  test('a process taken from strace by the kill, at an unnamed syscall stop, is neither a call nor unreadable', () => {
    const { calls, unparsed } = parseStrace('3484  ???( <detached ...>\n3484 openat(AT_FDCWD</x>, "/etc/hosts", O_RDONLY) = 3</etc/hosts>\n');
    expect(unparsed).toEqual([]);
    expect(calls.map((c) => c.name)).toEqual(['openat']);
  });

  test('parses a complete call with its result', () => {
    const { calls } = parseStrace('17112 openat(AT_FDCWD</tmp/dtp>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ pid: 17112, name: 'openat', result: '3</etc/ld.so.cache>' });
    expect(calls[0]!.args).toEqual(['AT_FDCWD</tmp/dtp>', '"/etc/ld.so.cache"', 'O_RDONLY|O_CLOEXEC']);
  });

  test('joins an unfinished call with its resumption, even with other lines between', () => {
    const text = [
      '1470  openat(AT_FDCWD</tmp/c>, "/tmp/c/out.bin", O_WRONLY|O_CREAT|O_TRUNC, 0600 <unfinished ...>',
      '1445  openat(AT_FDCWD</tmp/c>, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3</etc/hosts>',
      '1470  <... openat resumed>)               = 7</tmp/c/out.bin>',
    ].join('\n');
    const { calls, unparsed } = parseStrace(text);
    expect(unparsed).toEqual([]);
    expect(calls.map((c) => [c.pid, c.args[1], c.result])).toEqual([
      [1445, '"/etc/hosts"', '3</etc/hosts>'],
      [1470, '"/tmp/c/out.bin"', '7</tmp/c/out.bin>'],
    ]);
  });

  test('keeps a call the process was killed in (still an attempt)', () => {
    const { calls } = parseStrace('1470  connect(5<socket:[2]>, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110 <unfinished ...>\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.result).toBe('?');
  });

  test('returns what is not a syscall line apart', () => {
    expect(parseStrace('strace: Process 12 attached\n').unparsed).toEqual(['strace: Process 12 attached']);
  });
});

describe('rules', () => {
  test('the tool itself, its libraries, locale and resolver files pass', () => {
    const text = EXEC + [
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3</usr/lib/x86_64-linux-gnu/libc.so.6>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/usr/share/locale/locale.alias", O_RDONLY|O_CLOEXEC) = 3</etc/locale.alias>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/etc/nsswitch.conf", O_RDONLY|O_CLOEXEC) = 3</etc/nsswitch.conf>',
      '9609  connect(3<socket:[103214]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/proc/self/task/9610/comm", O_RDWR) = 9</proc/9609/task/9610/comm>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/tmp/snp-diff-AbCdEf/t/home/.curlrc", O_RDONLY) = -1 ENOENT (No such file or directory)',
      '9609  openat(5</>, "etc", O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH) = 6</etc>',
      '9609  connect(5<socket:[1]>, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
    ].join('\n');
    expect(rulesOf(text)).toEqual([]);
  });

  test('opening for writing, creating, truncating, renaming and removing are findings, failed or not', () => {
    const text = EXEC + [
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/tmp/t/log", O_RDWR|O_CREAT|O_APPEND, 0666) = 3</tmp/t/log>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "out", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EACCES (Permission denied)',
      '9609  creat("/tmp/t/c", 0600) = 4</tmp/t/c>',
      '9609  unlink("/tmp/t/pid") = 0',
      '9609  renameat2(AT_FDCWD</tmp/t/cwd>, "a", 5</etc>, "b", RENAME_NOREPLACE) = -1 ENOENT (No such file or directory)',
      '9609  mkdir("/tmp/t/d", 0777) = 0',
      '9609  truncate("/tmp/t/x", 0) = 0',
    ].join('\n');
    expect(rulesOf(text)).toEqual([
      ['write-open', '/tmp/t/log'],
      ['write-open', '/tmp/t/cwd/out'],
      ['write-open', '/tmp/t/c'],
      ['file-change', '/tmp/t/pid'],
      ['file-change', '/tmp/t/cwd/a -> /etc/b'],
      ['file-change', '/tmp/t/d'],
      ['file-change', '/tmp/t/x'],
    ]);
  });

  test('reading outside the allowed set is a finding, through a symlink or /proc/<other pid> too', () => {
    const text = EXEC + [
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/tmp/t/in.txt", O_RDONLY) = 5</tmp/t/in.txt>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/proc/1/root/etc/shadow", O_RDONLY) = -1 EACCES (Permission denied)',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/proc/self/root/etc/shadow", O_RDONLY) = 5</etc/shadow>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/etc/hosts", O_RDONLY) = 5</etc/shadow>',
      '9609  openat(AT_FDCWD</tmp/t/cwd>, "/proc/9609/net/dev", O_RDONLY) = 5</proc/9609/net/dev>',
    ].join('\n');
    expect(rulesOf(text).map(([r, t]) => `${r} ${t}`)).toEqual([
      'read-outside /tmp/t/in.txt',
      'read-outside /proc/1/root/etc/shadow',
      'read-outside /proc/self/root/etc/shadow (/etc/shadow)',
      'read-outside /etc/hosts (/etc/shadow)',
    ]);
  });

  test('only the first execve of the tool itself passes', () => {
    const text = EXEC + '9612  execve("/tmp/t/prog.sh", ["/tmp/t/prog.sh"], 0x5 /* 4 vars */) = 0\n' +
      '9613  execve("/usr/bin/curl", ["curl"], 0x5 /* 4 vars */) = -1 ENOENT (No such file or directory)\n';
    expect(rulesOf(text)).toEqual([['exec', '/tmp/t/prog.sh'], ['exec', '/usr/bin/curl']]);
    expect(rulesOf('1  execve("/usr/bin/dig", ["dig"], 0x5 /* 1 var */) = 0\n')).toEqual([['exec', '/usr/bin/dig']]);
  });

  test('Unix sockets other than nscd are findings, abstract ones and binds included', () => {
    const text = EXEC + [
      '14838 connect(5<socket:[197089]>, {sa_family=AF_UNIX, sun_path="/tmp/t/sock"}, 30) = -1 ENOENT (No such file or directory)',
      '14953 connect(4<socket:[217361]>, {sa_family=AF_UNIX, sun_path=@"nstat0"}, 9) = -1 ECONNREFUSED (Connection refused)',
      '14953 bind(4<socket:[217361]>, {sa_family=AF_UNIX, sun_path="/tmp/t/s2"}, 12) = 0',
    ].join('\n');
    expect(rulesOf(text)).toEqual([['unix-socket', '/tmp/t/sock'], ['unix-socket', '@nstat0'], ['unix-socket', '/tmp/t/s2']]);
  });

  test('netlink and ioctl writes are findings under the read-only policy only', () => {
    const text = EXEC + [
      '10698 sendto(3<socket:[200260]>, [{nlmsg_len=20, nlmsg_type=NFNL_SUBSYS_CTNETLINK<<8|IPCTNL_MSG_CT_GET, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=1, nlmsg_pid=0}, {nfgen_family=AF_UNSPEC, version=NFNETLINK_V0, res_id=htons(0)}], 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20',
      '10698 sendto(4<socket:[200261]>, [{nlmsg_len=224, nlmsg_type=NFNL_SUBSYS_CTNETLINK<<8|IPCTNL_MSG_CT_DELETE, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=1, nlmsg_pid=0}, {nfgen_family=AF_INET, version=NFNETLINK_V0, res_id=htons(0)}], 224, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 224',
      '14923 sendmsg(3<socket:[217279]>, {msg_name={sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, msg_namelen=12, msg_iov=[{iov_base=[{nlmsg_len=1124, nlmsg_type=RTM_NEWQDISC, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK|NLM_F_REPLACE, nlmsg_seq=1, nlmsg_pid=0}, {tcm_family=AF_UNSPEC}], iov_len=1124}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1124',
      '11099 sendto(3<socket:[202428]>, [{nlmsg_len=40, nlmsg_type=ethtool, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=2, nlmsg_pid=0}, "\\x01\\x01\\x00\\x00"], 40, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 40',
      '11099 sendto(3<socket:[202428]>, [{nlmsg_len=216, nlmsg_type=ethtool, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=3, nlmsg_pid=0}, "\\x0c\\x01\\x00\\x00"], 216, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 216',
      '11100 ioctl(3<socket:[1]>, SIOCETHTOOL, {ifr_name="sd0", ifr_data={cmd=ETHTOOL_SSET, speed=10}}) = 0',
      '11100 ioctl(3<socket:[1]>, SIOCGIFINDEX, {ifr_name="lo", ifr_ifindex=1}) = 0',
    ].join('\n');
    expect(rulesOf(text).map(([r, t]) => `${r} ${t}`)).toEqual([
      'netlink-write NFNL_SUBSYS_CTNETLINK<<8|IPCTNL_MSG_CT_DELETE',
      'netlink-write RTM_NEWQDISC',
      'netlink-write ethtool netlink command 12',
      'netlink-write SIOCETHTOOL, {ifr_name="sd0", ifr_data={cmd=ETHTOOL_SSET',
    ]);
    expect(rulesOf(text, { ...CTX, readOnly: false })).toEqual([]);
  });

  test('the body of a netlink request sent in its own iovec is not read as a second header', () => {
    const text = '1  execve("/usr/sbin/tc", ["tc"], 0x5 /* 1 var */) = 0\n' +
      '3368  sendmsg(3<socket:[563304]>, {msg_name={sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, msg_namelen=12, msg_iov=[{iov_base={nlmsg_len=52, nlmsg_type=RTM_GETACTION, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=1796670878, nlmsg_pid=0}, iov_len=16}, {iov_base={nlmsg_len=0, nlmsg_type=RTM_NEWADDR, nlmsg_flags=NLM_F_REQUEST, nlmsg_seq=65552, nlmsg_pid=65546}, iov_len=36}], msg_iovlen=2, msg_controllen=0, msg_flags=0}, 0) = 52\n';
    expect(rulesOf(text, { ...CTX, toolPath: '/usr/sbin/tc' })).toEqual([]);
  });

  test("iproute2's RTM_NEWLINK support probe (no device, no attribute) is not a write; a real RTM_NEWLINK is", () => {
    const probe = '16166 sendto(3<socket:[1014942]>, [{nlmsg_len=32, nlmsg_type=RTM_NEWLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=0, nlmsg_pid=0}, {ifi_family=AF_UNSPEC, ifi_type=ARPHRD_NETROM, ifi_index=0, ifi_flags=0, ifi_change=0}], 32, 0, NULL, 0) = 32\n';
    const real = '16167 sendto(3<socket:[1014942]>, [{nlmsg_len=40, nlmsg_type=RTM_NEWLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=1, nlmsg_pid=0}, {ifi_family=AF_UNSPEC, ifi_type=ARPHRD_NETROM, ifi_index=1, ifi_flags=0, ifi_change=0}, [{nla_len=8, nla_type=IFLA_MTU}, 1400]], 40, 0, NULL, 0) = 40\n';
    const exec = '1  execve("/usr/sbin/ip", ["ip"], 0x5 /* 1 var */) = 0\n';
    expect(rulesOf(exec + probe, { ...CTX, toolPath: '/usr/sbin/ip' })).toEqual([]);
    expect(rulesOf(exec + real, { ...CTX, toolPath: '/usr/sbin/ip' })).toEqual([['netlink-write', 'RTM_NEWLINK']]);
  });

  test("iperf3's mkstemp scratch buffer passes, another file in /tmp does not", () => {
    const text = '1  execve("/usr/bin/iperf3", ["iperf3", "-s"], 0x5 /* 1 var */) = 0\n' + [
      '16521 openat(AT_FDCWD</tmp/t/cwd>, "/tmp/iperf3.EfScOf", O_RDWR|O_CREAT|O_EXCL, 0600) = 6</tmp/iperf3.EfScOf>',
      '16521 unlink("/tmp/iperf3.EfScOf")      = 0',
      '16521 openat(AT_FDCWD</tmp/t/cwd>, "/tmp/iperf3.AAAAAA", O_RDWR|O_CREAT|O_TRUNC, 0600) = 6</tmp/iperf3.AAAAAA>',
    ].join('\n');
    expect(rulesOf(text, { ...CTX, toolPath: '/usr/bin/iperf3' })).toEqual([['write-open', '/tmp/iperf3.AAAAAA']]);
  });
});
