// What the generated arguments may name: placeholders for the run's temporary directory and a
// network namespace name that never exists, and values that stay inside the throwaway network
// namespace. The generator draws every value from here, and assertContained() checks the result.

/** Replaced by the run's temporary directory (absolute, no trailing slash). */
export const TMP = '{{T}}';
/** Replaced by the name of a network namespace that does not exist (a decoy for `netns NAME`). */
export const DECOY_NS = '{{NS}}';

/** Files the runner creates in each run's temporary directory. */
export const TMP_FILES = {
  /** an ordinary file with content (what a tool must not read) */
  input: `${TMP}/in.txt`,
  /** a file whose name contains "=" (curl -b name=value looks for it) */
  withEquals: `${TMP}/c=v`,
  /** an executable script (what a tool must not run) */
  program: `${TMP}/prog.sh`,
  /** the fake host /proc: a host file as a capture pod would see it through /host/proc/1/root */
  hostFile: `${TMP}/hostproc/1/root/etc/crontab`,
  hostKeys: `${TMP}/hostproc/1/root/root/.ssh/authorized_keys`,
  hostProcStatus: `${TMP}/hostproc/1/status`,
  /** paths that do not exist yet (what a tool must not create) */
  output: `${TMP}/out.bin`,
  hostNew: `${TMP}/hostproc/1/root/etc/cron.d/snoopy`,
  /** a Unix socket path nobody listens on */
  socket: `${TMP}/sock`,
} as const;

export const PATHS: readonly string[] = [...Object.values(TMP_FILES), 'snpdiff-rel.out', '-'];
export const NUMS: readonly string[] = ['0', '1', '2', '3', '5', '10', '64', '100', '1000', '1500', '65535', '-1'];
export const ADDRS4: readonly string[] = ['127.0.0.1', '10.253.7.1', '10.253.7.2'];
export const ADDRS: readonly string[] = [...ADDRS4, '::1', 'localhost'];
export const IFACES: readonly string[] = ['lo', 'sd0', 'sd1'];
export const PORTS: readonly string[] = ['5201', '8080', '80', '53', '1'];
export const WORDS: readonly string[] = ['x', 'on', 'off', 'all', 'in', 'out', 'root', 'nobody', '-', 'snpdiff'];

/** Addresses in the throwaway namespace: the namespace's veth pair (sd0/sd1) and loopback. */
export const NETNS_V4 = { sd0: '10.253.7.1', sd1: '10.253.7.2', prefix: 24 } as const;
