// The rules a policy-allowed invocation must keep, checked on what the real tool did (its strace
// record). A tool the policy allowed may talk to the network and print; it must not change a
// file, run another program, reach a Unix socket, or read anything but its own code, its
// configuration and the kernel's view of the network namespace it runs in. Attempts count as
// much as successes: a refused or failed call still shows what the same argv does where the path
// exists and is writable (on a node, through the host's /proc).
import path from 'node:path';
import { decodeCString, fdPath, type Syscall } from './strace-parse.js';

export type Rule = 'write-open' | 'file-change' | 'exec' | 'unix-socket' | 'read-outside' | 'outlived' | 'netlink-write';

export const RULE_TEXT: Record<Rule, string> = {
  'write-open': 'opens a file for writing (O_WRONLY/O_RDWR/O_CREAT/O_TRUNC)',
  'file-change': 'creates, truncates, renames, links or removes a file',
  exec: 'executes a program other than the tool itself',
  'unix-socket': 'connects to (or binds) a Unix socket',
  'read-outside': 'opens a file outside the allowed set',
  outlived: 'left a process behind that escaped its process group (a daemon outlives the capture)',
  'netlink-write': 'changes kernel network state (a netlink or ioctl write) although only the read-only policy allowed it',
};

export interface Finding {
  rule: Rule;
  /** the strace line (or, for "outlived", what was found) */
  line: string;
  /** the path or address concerned */
  target: string;
}

export interface VerdictContext {
  /** absolute path of the tool binary, the one program it may execute (strace's own execve of it) */
  toolPath: string;
  /** HOME the tool ran with: its own rc file there is configuration, not input */
  home: string;
  /**
   * The argv was allowed with allowMutating=false, so it must not change kernel network state
   * either (conntrack -D, tc qdisc replace, ip link set, ethtool -s, ss -K).
   */
  readOnly: boolean;
  /**
   * Files the runner named as the tool's own state (nstat's NSTAT_HISTORY, which nstat opens
   * read-write on every run, even with --noupdate): a path the runner chose, never one from the
   * argv. In a capture it lies in the sandbox's private /tmp.
   */
  stateFiles?: readonly string[];
  /** The tool's name (argv[0] of the capture), for the per-tool allowances below. */
  tool?: string;
}

/**
 * Files a tool may open for reading. Each entry is there because every run of some allowlisted
 * tool opens it while doing its normal work, and none of them names a file a SnoopyJob author
 * chooses or one that belongs to the node rather than the capture image.
 */
const READ_ALLOWED: ReadonlyArray<[RegExp, string]> = [
  // the dynamic loader, shared libraries, gconv modules, locales, tc's distribution tables, OpenSSL's configuration: code and read-only package data of the image
  [/^\/etc\/ld\.so\.(cache|preload)$/, 'dynamic loader'],
  [/^\/(usr\/)?lib(32|64|x32)?\//, 'shared libraries and package data'],
  [/^\/usr\/share\/(locale|i18n|zoneinfo|iproute2|terminfo|ca-certificates|dns|misc|tcpdump)\//, 'package data (messages, time zones, iproute2 tables, terminfo, CA certificates, DNS root key)'],
  // name service and resolver configuration: every tool that turns a name into an address or a port reads these
  [/^\/etc\/(hosts|resolv\.conf|nsswitch\.conf|services|protocols|host\.conf|gai\.conf|networks|ethers|localtime|passwd|group|inputrc|idn2\.conf|ld\.so\.conf)$/, 'name service and resolver configuration (passwd/group: user lookups by uid and by tcpdump\'s default -Z user)'],
  [/^\/etc\/ld\.so\.conf\.d\//, 'dynamic loader'],
  [/^\/etc\/locale\.alias$/, 'locale alias table (where /usr/share/locale/locale.alias points)'],
  [/^\/run\/systemd\/userdb\/?$/, 'nss-systemd looking for its user database during a user lookup, as nsswitch.conf says (its sockets are not allowed)'],
  [/^\/etc\/(iproute2|terminfo)\//, 'iproute2 name tables, terminfo'],
  [/^\/run\/netns(\/[^/]+)?$/, 'iproute2 naming namespace ids: it lists /run/netns and opens each entry read-only for a namespace handle, never content (in a capture, the capture container\'s own /run)'],
  [/^\/etc\/xtables\/connlabel\.conf$/, 'conntrack\'s label names (--label)'],
  [/^\/etc\/ssl\/(openssl\.cnf|certs\/.*|certs)$/, 'OpenSSL configuration and the public CA bundle (never /etc/ssl/private)'],
  [/^\/etc\/bind\/bind\.keys$/, 'dig\'s built-in trust anchors'],
  // the kernel's view of the tool itself and of its own network namespace
  [/^\/proc\/(self|thread-self)\/(net(\/.*)?|stat|status|maps|cmdline|comm|auxv|limits|cgroup|mountinfo|task\/\d+\/(comm|stat)|fd|ns\/net)$/, 'the process itself'],
  [/^\/proc\/net(\/.*)?$/, 'the network namespace (a link to /proc/self/net)'],
  [/^\/proc\/sys\/net\//, 'network sysctls of the namespace'],
  [/^\/proc\/sys\/kernel\/(ngroups_max|osrelease|hostname|random\/.*)$/, 'libc and libraries sizing themselves'],
  [/^\/proc\/sys\/vm\/overcommit_memory$/, 'the allocator sizing itself'],
  [/^\/proc\/(filesystems|cpuinfo|stat|meminfo)$/, 'libraries sizing themselves (libselinux, thread pools)'],
  [/^\/proc\/uptime$/, 'nstat dating its counters'],
  [/^\/sys\/class\/net(\/.*)?$/, 'interfaces of the namespace (sysfs as mounted for the namespace)'],
  [/^\/sys\/devices\/(virtual\/net\/.*|system\/cpu\/(online|possible|present))$/, 'interfaces of the namespace, CPU count'],
  [/^\/sys\/kernel\/mm\/transparent_hugepage\/.*$/, 'the allocator sizing itself'],
  [/^\/sys\/fs\/cgroup\/(cpu\.max|cgroup\.controllers)$/, 'thread pools sizing themselves'],
  [/^\/dev\/(null|urandom|random|zero|tty)$/, 'device files without state'],
  [/^\/dev\/?$/, 'the device directory, listed by libpcap looking for usbmon capture devices (names only)'],
];

/** Files a tool may open for writing: ones that are not files at all. */
const WRITE_ALLOWED: readonly RegExp[] = [
  /^\/dev\/(null|tty)$/, // the bit bucket; a terminal the tool already writes to
  /^\/proc\/(self|thread-self|\d+)\/(task\/\d+\/)?comm$/, // a thread naming itself (pthread_setname_np)
];

/**
 * Unix sockets a tool may connect to: glibc asks nscd (when it runs) before reading /etc/passwd,
 * /etc/group or /etc/hosts itself. The socket is the capture image's own path in the image's own
 * mount namespace and answers nothing but name lookups, so it is allowed; every other Unix socket
 * (a container runtime's, systemd's, a SOCKS or HTTP proxy on a path) is a finding.
 */
const UNIX_CONNECT_ALLOWED = new Set(['/var/run/nscd/socket', '/run/nscd/socket']);

/**
 * Abstract Unix sockets a given tool may connect to. Abstract names belong to the network
 * namespace, so these reach only a daemon of the target's own namespace: nstat asks a running
 * `nstat -d` there (@nstat0) for its counters before reading /proc/net itself.
 */
const ABSTRACT_CONNECT_ALLOWED: Readonly<Record<string, readonly string[]>> = { nstat: ['@nstat0'] };

function unixConnectAllowed(p: string, ctx: VerdictContext): boolean {
  if (UNIX_CONNECT_ALLOWED.has(p)) return true;
  return ctx.tool !== undefined && (ABSTRACT_CONNECT_ALLOWED[ctx.tool] ?? []).includes(p);
}

function readAllowed(p: string, ctx: VerdictContext, pids: ReadonlySet<number>): boolean {
  if (READ_ALLOWED.some(([re]) => re.test(p))) return true;
  // /proc/<pid>/… of one of the tool's own processes is the same as /proc/self/…
  const m = /^\/proc\/(\d+)(\/task\/\d+)?\/(.*)$/.exec(p);
  if (m && pids.has(Number(m[1]))) return readAllowed(`/proc/self/${m[3]}`, ctx, pids);
  // the tool's own rc file, by its fixed name, in HOME or in the user's passwd home (curl tries both)
  const home = ctx.home.replace(/\/$/, '');
  return [home, '/root'].some((h) => [`${h}/.curlrc`, `${h}/.digrc`, `${h}/.config/curlrc`].includes(p));
}

/**
 * Written only under the mutating policy: /dev/net/tun is the kernel's interface for creating
 * tun/tap devices (`ip tuntap add`), a network change that policy allows like `ip link add`. The
 * capture sandbox's /dev does not have it.
 */
const WRITE_ALLOWED_MUTATING: readonly RegExp[] = [/^\/dev\/net\/tun$/];

function writeAllowed(p: string, pids: ReadonlySet<number>, readOnly: boolean): boolean {
  if (!readOnly && WRITE_ALLOWED_MUTATING.some((re) => re.test(p))) return true;
  if (!WRITE_ALLOWED.some((re) => re.test(p))) return false;
  const m = /^\/proc\/(\d+)\//.exec(p);
  return !m || pids.has(Number(m[1]));
}

/** Where a path argument lands, given the descriptor it is relative to ("AT_FDCWD</cwd>", "5</etc>"). */
function resolveAt(dirTok: string | undefined, pathTok: string | undefined): string {
  const p = pathTok === undefined ? undefined : decodeCString(pathTok);
  if (p === undefined) return `<unknown path ${pathTok ?? ''}>`;
  if (p.startsWith('/')) return path.posix.normalize(p);
  const base = fdPath(dirTok);
  return base === undefined ? `<relative to ${dirTok ?? '?'}>/${p}` : path.posix.normalize(`${base}/${p}`);
}

const WRITE_FLAGS = /\b(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_TMPFILE)\b/;

/** The flags argument of an open-family call ("O_RDONLY|O_CLOEXEC"; openat2 prints "{flags=…, …}"). */
function openFlags(c: Syscall): string {
  if (c.name === 'open') return c.args[1] ?? '';
  if (c.name === 'openat') return c.args[2] ?? '';
  if (c.name === 'openat2') return /flags=([^,}]*)/.exec(c.args[2] ?? '')?.[1] ?? '';
  return '';
}

function unixPath(sockaddr: string | undefined): string | undefined {
  if (sockaddr === undefined || !sockaddr.includes('AF_UNIX')) return undefined;
  const m = /sun_path=(@?)("(?:[^"\\]|\\.)*")/.exec(sockaddr);
  if (!m) return '<unnamed>';
  return `${m[1]}${decodeCString(m[2]!) ?? m[2]}`;
}

/**
 * iperf3 backs each stream's buffer with a file it makes with mkstemp("/tmp/iperf3.XXXXXX") and
 * unlinks at once: a name the tool picks, never one the argv names, gone before any data is in
 * it. Both calls are allowed for exactly that pattern (created O_EXCL, then unlinked).
 */
const SCRATCH_FILE = /^\/tmp\/iperf3\.[A-Za-z0-9]{6}$/;

function scratchFiles(calls: readonly Syscall[]): Set<string> {
  const created = new Set<string>();
  const out = new Set<string>();
  for (const c of calls) {
    if (c.name === 'openat' && /\bO_EXCL\b/.test(c.args[2] ?? '') && /\bO_CREAT\b/.test(c.args[2] ?? '')) {
      const p = decodeCString(c.args[1] ?? '');
      if (p !== undefined && SCRATCH_FILE.test(p)) created.add(p);
    }
    if (c.name === 'unlink') {
      const p = decodeCString(c.args[0] ?? '');
      if (p !== undefined && created.has(p)) out.add(p);
    }
  }
  return out;
}

/** Applies the rules to one run's syscalls. */
export function judge(calls: readonly Syscall[], ctx: VerdictContext): Finding[] {
  const findings: Finding[] = [];
  const scratch = scratchFiles(calls);
  const pids = new Set(calls.map((c) => c.pid));
  let toolExecSeen = false;
  const add = (rule: Rule, c: Syscall, target: string): void => {
    if ((rule === 'write-open' || rule === 'file-change') && (scratch.has(target) || (ctx.stateFiles ?? []).includes(target))) return;
    findings.push({ rule, line: c.line, target });
  };
  for (const c of calls) {
    switch (c.name) {
      case 'execve':
      case 'execveat': {
        const target = c.name === 'execve' ? resolveAt(undefined, c.args[0]) : resolveAt(c.args[0], c.args[1]);
        if (!toolExecSeen && c.name === 'execve' && target === ctx.toolPath && c.result === '0') {
          toolExecSeen = true;
          break;
        }
        add('exec', c, target);
        break;
      }
      case 'open':
      case 'openat':
      case 'openat2':
      case 'creat': {
        const target = c.name === 'open' || c.name === 'creat' ? resolveAt(undefined, c.args[0]) : resolveAt(c.args[0], c.args[1]);
        const real = fdPath(c.result);
        const flags = openFlags(c);
        if (c.name === 'creat' || WRITE_FLAGS.test(flags)) {
          if (!writeAllowed(target, pids, ctx.readOnly) || (real !== undefined && !writeAllowed(real, pids, ctx.readOnly))) add('write-open', c, target);
          break;
        }
        // O_PATH yields a handle to walk from, not the file's content; what is opened through it is judged on its own
        if (/\bO_PATH\b/.test(flags)) break;
        if (!readAllowed(target, ctx, pids) || (real !== undefined && real !== target && !readAllowed(real, ctx, pids))) {
          add('read-outside', c, real !== undefined && real !== target ? `${target} (${real})` : target);
        }
        break;
      }
      case 'truncate':
      case 'unlink':
      case 'rmdir':
      case 'mkdir':
      case 'mknod':
        add('file-change', c, resolveAt(undefined, c.args[0]));
        break;
      case 'unlinkat':
      case 'mkdirat':
      case 'mknodat':
        add('file-change', c, resolveAt(c.args[0], c.args[1]));
        break;
      case 'rename':
      case 'link':
        add('file-change', c, `${resolveAt(undefined, c.args[0])} -> ${resolveAt(undefined, c.args[1])}`);
        break;
      case 'symlink':
        add('file-change', c, `${resolveAt(undefined, c.args[1])} -> ${decodeCString(c.args[0] ?? '') ?? '?'}`);
        break;
      case 'symlinkat':
        add('file-change', c, `${resolveAt(c.args[1], c.args[2])} -> ${decodeCString(c.args[0] ?? '') ?? '?'}`);
        break;
      case 'renameat':
      case 'renameat2':
      case 'linkat':
        add('file-change', c, `${resolveAt(c.args[0], c.args[1])} -> ${resolveAt(c.args[2], c.args[3])}`);
        break;
      case 'connect': {
        const p = unixPath(c.args[1]);
        if (p !== undefined && !unixConnectAllowed(p, ctx)) add('unix-socket', c, p);
        break;
      }
      case 'bind': {
        const p = unixPath(c.args[1]);
        if (p !== undefined) add('unix-socket', c, p);
        break;
      }
      case 'sendto':
      case 'sendmsg': {
        if (!ctx.readOnly) break;
        const w = netlinkWrite(c.name, c.argsText);
        if (w !== undefined) add('netlink-write', c, w);
        break;
      }
      case 'ioctl': {
        if (!ctx.readOnly) break;
        const m = IOCTL_WRITE.exec(c.argsText);
        if (m) add('netlink-write', c, m[0]);
        break;
      }
      default:
        break;
    }
  }
  return findings;
}

/** rtnetlink, ctnetlink, nftables and sock_diag requests that change state (GET and dump requests do not). */
const NETLINK_WRITE_TYPE = /^(RTM_(NEW|DEL|SET)\w+|NFNL_SUBSYS_CTNETLINK\w*<<8\|IPCTNL_MSG_CT_(NEW|DELETE|GET_CTRZERO)|NFNL_SUBSYS_CTNETLINK_EXP<<8\|IPCTNL_MSG_EXP_(NEW|DELETE)|NFNL_SUBSYS_NFTABLES<<8\|NFT_MSG_(NEW|DEL)\w+|SOCK_DESTROY)$/;
/** ethtool's generic netlink commands that set or act (ETHTOOL_MSG_*_SET / *_ACT numbers of linux/ethtool_netlink.h). */
const ETHTOOL_GENL_WRITES = new Set([3, 5, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 27, 30, 35, 37, 40, 43, 44]);
const IOCTL_WRITE = /\b(SIOCS\w+|SIOCADD\w*|SIOCDEL\w*|SIOCBR\w+|SIOCBOND\w+|TUNSETIFF|TUNSETPERSIST)\b|\bSIOCETHTOOL\b.*?\bcmd=ETHTOOL_(S[A-Z]+|FLASHDEV|RESET|PHYS_ID|TEST)\b/;

/** A netlink header as strace decodes it, and the payload string after it when strace left it undecoded. */
const NL_HEADER = /\{nlmsg_len=(\d+), nlmsg_type=([^,]+), nlmsg_flags=[^}]*\}(?:, ("(?:[^"\\]|\\.)*"))?/g;

/**
 * iproute2's probe for RTM_NEWLINK support (iplink_have_newlink, sent by `ip link help` and
 * others): a bare header and ifinfomsg naming no device (index 0) and no attribute, which the
 * kernel refuses without changing anything.
 */
function isNewlinkProbe(type: string, len: number, rest: string): boolean {
  return type === 'RTM_NEWLINK' && len === 32 && /^\s*\{ifi_family=AF_UNSPEC, [^}]*ifi_index=0, ifi_flags=0, ifi_change=0\}\]/.test(rest);
}

function writeType(type: string, payload: string | undefined): string | undefined {
  if (NETLINK_WRITE_TYPE.test(type)) return type;
  if (type === 'ethtool' && payload !== undefined) {
    const cmd = decodeCString(payload)?.charCodeAt(0);
    if (cmd !== undefined && ETHTOOL_GENL_WRITES.has(cmd)) return `ethtool netlink command ${cmd}`;
  }
  return undefined;
}

/**
 * The state-changing netlink request in a sendto/sendmsg, if any. strace decodes every iovec of a
 * sendmsg as if it began with a netlink header, but a message may continue over several iovecs
 * (iproute2 sends the header and the body apart): an iovec inside a message's length is body, not
 * a header. A header shorter than a header (nlmsg_len < 16) is such a misread, too.
 */
function netlinkWrite(name: string, args: string): string | undefined {
  if (name === 'sendmsg') {
    let remaining = 0;
    for (const iov of args.matchAll(/\{iov_base=(.*?), iov_len=(\d+)\}/gs)) {
      const len = Number(iov[2]);
      if (remaining > 0) {
        remaining -= len;
        continue;
      }
      const headers = [...iov[1]!.matchAll(NL_HEADER)];
      const first = headers[0];
      if (first === undefined) continue;
      remaining = Math.max(0, Number(first[1]) - len);
      for (const h of headers) {
        if (Number(h[1]) < 16) continue;
        const w = writeType(h[2]!.trim(), h[3]);
        if (w !== undefined) return w;
      }
    }
    return undefined;
  }
  for (const h of args.matchAll(NL_HEADER)) {
    if (Number(h[1]) < 16) continue;
    if (isNewlinkProbe(h[2]!.trim(), Number(h[1]), args.slice(h.index! + h[0].length).replace(/^,/, ''))) continue;
    const w = writeType(h[2]!.trim(), h[3]);
    if (w !== undefined) return w;
  }
  return undefined;
}

/** The syscalls strace must report for judge() to see everything it checks (plus chdir, to follow relative paths in -y output). */
export const TRACED_SYSCALLS = [
  'execve', 'execveat', 'open', 'openat', 'openat2', 'creat', 'truncate', 'unlink', 'unlinkat', 'rmdir', 'rename',
  'renameat', 'renameat2', 'mkdir', 'mkdirat', 'link', 'linkat', 'symlink', 'symlinkat', 'mknod', 'mknodat',
  'connect', 'bind', 'sendto', 'sendmsg', 'ioctl',
];
