// The sandbox every tool runs in, so that a hole in the tool policy is not a way onto the node.
// After nsenter joined the target's network namespace, the tool runs
//   - in a private mount namespace where every mount is read-only (per mount: nothing outside
//     changes), every procfs mount other than a fresh /proc — the host's /proc above all — is
//     covered by an empty read-only tmpfs, /dev holds only null, zero, full, random and urandom,
//     and /tmp is a small writable tmpfs (the scratch directory; the tool's output file is its
//     standard output, a descriptor podtracer opened, so no path of it needs to be writable);
//   - in a PID namespace of its own whose init is a fixed shell script: when the tool ends, or
//     podtracer (and so `unshare --kill-child`) dies, the kernel kills everything left in it,
//     daemons that forked and called setsid included;
//   - with the capability bounding set cut to what the tool needs (TOOL_CAPABILITIES),
//     no_new_privs, and the rlimits below.
// The chain is a fixed argv: nsenter → unshare → sh -c SANDBOX_SCRIPT (a constant; the tool's
// argv reaches it only as "$@", never as script text) → setpriv → prlimit → the tool. Pure.
import { randomInt } from 'node:crypto';
import { constants } from 'node:os';

/** Capabilities, as setpriv names them. */
export type Capability = 'net_raw' | 'net_admin' | 'setuid' | 'setgid';

/**
 * What each allowlisted tool needs, measured with the real tools under a cut bounding set.
 * Every tool gets NET_RAW; NET_ADMIN is added for every tool when mutating tools are allowed.
 *   - tcpdump: NET_RAW for its packet socket (promiscuous mode needs nothing more); SETUID and
 *     SETGID because Debian's tcpdump drops to the `tcpdump` user after opening the interface
 *     and refuses to run when it cannot ("Couldn't change to 'tcpdump' uid=…").
 *   - conntrack: NET_ADMIN even to read: ctnetlink refuses every request, dumps included, without
 *     it ("you must be root or get CAP_NET_ADMIN"). Its writes (-D -F -I -U) stay refused by the
 *     tool policy unless mutating tools are allowed.
 *   - ping, traceroute -I/-T: NET_RAW (ping carries file capabilities and will not even start
 *     under no_new_privs when NET_RAW is outside the bounding set).
 *   - ip, tc, ss: nothing to read through netlink; NET_ADMIN for writes, so only when mutating
 *     tools are allowed.
 *   - ethtool: plain queries need nothing; register, EEPROM, module and Wake-on-LAN reads
 *     (-d, -e, -m, the WoL part of a plain query) need NET_ADMIN and fail with "Operation not
 *     permitted" unless mutating tools are allowed (the rest of the output is still printed).
 *   - nft, iptables-save (run by the evidence snapshots, lib/evidence): NET_ADMIN even to list,
 *     like conntrack; their rules in the tool policy allow nothing but listing.
 *   - iperf3, iperf, curl, dig, nslookup, tracepath, nstat, sysctl (reading net.* keys, evidence
 *     only): nothing beyond the base.
 */
export const TOOL_CAPABILITIES: Readonly<Record<string, readonly Capability[]>> = Object.freeze({
  tcpdump: ['setuid', 'setgid'],
  conntrack: ['net_admin'],
  // like conntrack, nf_tables and the legacy iptables sockets refuse even a listing without
  // NET_ADMIN; their policy rules allow nothing but listing
  nft: ['net_admin'],
  'iptables-save': ['net_admin'],
});

/** The capabilities the tool keeps: NET_RAW, its own needs, NET_ADMIN when mutating tools are allowed. */
export function toolCapabilities(command: string, allowMutating: boolean): Capability[] {
  const caps = new Set<Capability>(['net_raw', ...(TOOL_CAPABILITIES[command] ?? [])]);
  if (allowMutating) caps.add('net_admin');
  return [...caps].sort();
}

/**
 * RLIMIT_NPROC: processes and threads of the tool's real uid. The limit is not enforced for the
 * root user of the initial user namespace whatever its capabilities (the kernel exempts
 * INIT_USER), so the tool runs with a real uid of its own (SANDBOX_UID_*) and keeps effective
 * uid 0: root's file access and its capabilities through exec stay as they were, while the count
 * is per capture. 256 leaves room for iperf3's thread per stream (-P is at most 128).
 */
export const SANDBOX_NPROC = 256;
/**
 * Tools that change behaviour when their real uid is not 0, and so keep real uid 0 (RLIMIT_NPROC
 * is then not enforced for them; the PID namespace still bounds their lifetime):
 *   - ping: iputils allows intervals under 2 ms (and -f) only to real uid 0 ("cannot flood;
 *     minimal interval allowed for user is 2ms");
 *   - tshark (not allowlisted by default, the usual pcapng tool when configured): Wireshark takes
 *     differing real and effective uids for a setuid start and drops to the real uid, after which
 *     dumpcap cannot capture;
 *   - nstat: it refuses a history file whose owner is not its real uid ("something is so wrong
 *     with history file"), and the file it creates is owned by its effective uid 0. The file lies
 *     in the sandbox's private /tmp and is gone with the capture.
 *   - nft (nftables 1.0.6, run by the evidence snapshots): with a real uid other than its effective
 *     one it exits 111 at once, printing nothing (measured); its policy rule allows only listing.
 *   - iptables-save (iptables 1.8.9, the nf_tables backend Debian installs by default, run by the
 *     evidence snapshots): the same, exit 111 and nothing printed (measured); listing only.
 */
export const TOOLS_WITH_REAL_ROOT: ReadonlySet<string> = new Set(['ping', 'tshark', 'nstat', 'nft', 'iptables-save']);

/** Range of the per-capture real uid: above the ranges clusters hand out to pods. */
export const SANDBOX_UID_MIN = 2_000_000_000;
export const SANDBOX_UID_MAX = 2_147_000_000;
/**
 * RLIMIT_FSIZE above --max-bytes. The tool's output file is its stdout: its offset grows with
 * everything the tool ever wrote (confirmed ranges are punched out, the offset stays), so without
 * --max-bytes it is not limited — anything else the tool could write lands on the scratch tmpfs,
 * bounded by its size. With --max-bytes the kernel enforces that bound too, this much above it so
 * that the tool is normally stopped by SIGINT first (tcpdump then prints its statistics); a tool
 * that outruns podtracer's reading by more dies of SIGXFSZ, which counts as reaching --max-bytes.
 */
export const FSIZE_SLACK_BYTES = 64 * 1024 * 1024;
/** Size of the writable /tmp: iperf3 keeps each stream's buffer in a temporary file there (128 streams × 1 MiB at most). */
export const SCRATCH_BYTES = 256 * 1024 * 1024;
/** Exit code of the sandbox script when it could not set the sandbox up (nothing was run). */
export const SANDBOX_SETUP_FAILED = 125;
export const SANDBOX_ERROR_PREFIX = 'podtracer-sandbox:';
/** What the sandbox prints on stderr once it is set up, right before the tool starts. */
export const SANDBOX_READY_LINE = `${SANDBOX_ERROR_PREFIX} ready\n`;

/**
 * Runs as init (PID 1) of the tool's PID namespace, in its mount namespace, with full
 * capabilities; it never evaluates its arguments. As init it ignores SIGINT and SIGTERM (no
 * handlers), which reach the tool through the process group; it runs the tool as a child so that
 * a tool without a SIGINT handler still dies of it, and exits with the tool's status (128 + N for
 * a signal, as shells report it: init cannot die of a signal it sends itself).
 * Arguments: uid, bounding set, nproc, fsize, scratch size, procRoot, then the tool's argv.
 */
export const SANDBOX_SCRIPT = `set -eu
# sh -c catches SIGINT and would exit 130 at once, or once its child ended whatever the child's
# status; a trap keeps the setup going and the child's status (and, unlike an ignored signal, it
# is not inherited by the tool). A SIGINT that arrives before the tool runs means: do not run it.
trap 'stopped=1' INT
die() { echo "${SANDBOX_ERROR_PREFIX} $*" >&2; exit ${SANDBOX_SETUP_FAILED}; }
uid=$1 caps=$2 nproc=$3 fsize=$4 scratch=$5 proc_root=$6
shift 6
# the scratch directory first: the lists below are written there, and whatever was mounted under
# /tmp (podtracer's spool directory) is covered
mount -n -t tmpfs -o nosuid,nodev,noexec,mode=1777,size="$scratch" podtracer-scratch /tmp || die "cannot mount /tmp"
# Every mount read-only, in one mount(8) run: remount,bind changes the mount, never the
# filesystem, so nothing outside this mount namespace is touched. Skipped: what is already
# read-only, and what is covered below (/proc, below /dev, /tmp, the host's /proc). A second list
# mounts the fresh /proc, hides every other procfs mount (views of other PID namespaces) and the
# host's /proc under an empty read-only tmpfs, and builds the new /dev. Both lists keep
# mountinfo's escapes, which fstab shares.
awk -v pr="$proc_root" '
  function under(p, d) { return p == d || index(p, d "/") == 1 }
  BEGIN { hide[pr] = 1 }
  { mp = $5; split($0, halves, " - "); split(halves[2], post, " ")
    if (post[1] == "proc") hide[mp] = 1
    if (mp == "/" || under(mp, "/proc") || index(mp, "/dev/") == 1 || under(mp, "/tmp") || under(mp, pr)) next
    if ($6 ~ /^ro(,|$)/) next
    print "none", mp, "none", "remount,bind,ro", 0, 0 > "/tmp/.fstab" }
  END {
    print "podtracer-proc /proc proc ro,nosuid,nodev,noexec 0 0" > "/tmp/.fstab2"
    for (mp in hide) {
      if (under(mp, "/proc")) continue
      # what lies below another hidden mount is hidden with it (and has no mount point any more)
      nested = 0; for (h in hide) if (h != mp && under(mp, h)) nested = 1
      if (!nested) print "podtracer-hidden", mp, "tmpfs", "ro,nosuid,nodev,noexec,size=4k,mode=0555", 0, 0 > "/tmp/.fstab2"
    }
    n = split("null zero full random urandom", devs, " ")
    for (i = 1; i <= n; i++) print "/dev/" devs[i], "/tmp/.dev/" devs[i], "none", "bind", 0, 0 > "/tmp/.fstab2"
  }' /proc/self/mountinfo
mount -n -o remount,bind,ro / || die "cannot make / read-only"
[ ! -s /tmp/.fstab ] || mount -n -a -T /tmp/.fstab 2>/dev/null || :
# what mount -a left writable: gone meanwhile (a network namespace deleted elsewhere), covered by
# another mount, or an error
while read -r _ _ _ _ mp opts _; do
  case $opts in ro|ro,*) continue ;; esac
  case $mp in /proc|/proc/*|/dev/*|/tmp|/tmp/*) continue ;; esac
  case $mp in "$proc_root"|"$proc_root"/*) continue ;; esac
  mp=$(printf '%b.' "$mp"); mp=\${mp%.}
  mount -n -o remount,bind,ro -- "$mp" 2>/dev/null && continue
  [ -e "$mp" ] || continue
  case $(findmnt -n -o VFS-OPTIONS -T "$mp") in ro|ro,*) ;; *) die "cannot make $mp read-only" ;; esac
done < /proc/self/mountinfo
# /dev: the harmless devices only, bound from the read-only /dev (a privileged pod's /dev holds the node's disks)
mkdir /tmp/.dev
mount -n -t tmpfs -o nosuid,noexec,mode=0755,size=64k podtracer-dev /tmp/.dev || die "cannot mount /dev"
for d in null zero full random urandom; do : > "/tmp/.dev/$d"; done
mount -n -a -T /tmp/.fstab2 || die "cannot mount /proc, hide the host's /proc or build /dev"
ln -s /proc/self/fd /tmp/.dev/fd
mount -n --move /tmp/.dev /dev || die "cannot move /dev"
mount -n -o remount,bind,ro /dev || die "cannot make /dev read-only"
rm -rf /tmp/.dev /tmp/.fstab /tmp/.fstab2
cd /
echo "${SANDBOX_ERROR_PREFIX} ready" >&2
[ -z "\${stopped-}" ] || exit 130
set +e
setpriv --ruid="$uid" --bounding-set="$caps" --inh-caps=-all --ambient-caps=-all --no-new-privs -- \\
  prlimit --nproc="$nproc" --fsize="$fsize" --core=0 -- "$@"
exit $?
`;

export interface SandboxOptions {
  /** where the host's /proc is mounted (hidden from the tool) */
  procRoot: string;
  /** the target's network namespace file */
  netnsPath: string;
  command: string;
  argv: readonly string[];
  allowMutating: boolean;
  maxBytes?: number;
  /** the real uid (default: a random one in the sandbox range) */
  uid?: number;
}

/** The argv that runs the tool in the target's network namespace, in the sandbox. */
export function sandboxArgv(o: SandboxOptions): string[] {
  const uid = TOOLS_WITH_REAL_ROOT.has(o.command) ? 0 : (o.uid ?? randomInt(SANDBOX_UID_MIN, SANDBOX_UID_MAX));
  const caps = ['-all', ...toolCapabilities(o.command, o.allowMutating).map((c) => `+${c}`)].join(',');
  const fsize = o.maxBytes === undefined ? 'unlimited' : String(o.maxBytes + FSIZE_SLACK_BYTES);
  return [
    'nsenter', `--net=${o.netnsPath}`, '--',
    // --kill-child: the PID namespace's init (and so everything in it) dies with unshare
    'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--',
    'sh', '-c', SANDBOX_SCRIPT, 'podtracer-sandbox',
    String(uid), caps, String(SANDBOX_NPROC), fsize, String(SCRATCH_BYTES), o.procRoot,
    o.command, ...o.argv,
  ];
}

/** The tool's end as the sandbox reports it: 128 + N from its init is the tool dying of signal N. */
export function toolEnd(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (signal !== null || code === null || code <= 128) return { code, signal };
  const name = (Object.keys(constants.signals) as NodeJS.Signals[]).find((s) => constants.signals[s] === code - 128);
  return name ? { code: null, signal: name } : { code, signal };
}
