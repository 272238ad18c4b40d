// Makes a generated argv concrete for one run, and checks, before anything runs, that it names no
// file outside the run's temporary directory and no address outside loopback and the throwaway
// namespace. The generator is written to keep to this; the check makes sure of it.
import { DECOY_NS, NETNS_V4, TMP } from './values.js';

export interface RunPlaces {
  /** the run's temporary directory (absolute, no trailing slash) */
  tmp: string;
  /** a network namespace name that does not exist */
  decoyNs: string;
}

export function substitute(argv: readonly string[], places: RunPlaces): string[] {
  return argv.map((w) => w.split(TMP).join(places.tmp).split(DECOY_NS).join(places.decoyNs));
}

const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', NETNS_V4.sd0, NETNS_V4.sd1, '']);

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Throws when a concrete argv could reach a file outside `places.tmp` or an address outside the namespace. */
export function assertContained(tool: string, argv: readonly string[], places: RunPlaces): void {
  const fail = (w: string, why: string): never => {
    throw new Error(`policy-diff: refusing to run ${tool} ${JSON.stringify(argv)}: ${JSON.stringify(w)} ${why}`);
  };
  const tmpRe = new RegExp(`${escapeRe(places.tmp)}(/[^\\s,;=@]*)?`, 'g');
  for (const w of argv) {
    if (w.includes('{{')) fail(w, 'still holds a placeholder');
    if (/(^|\/)\.\.(\/|$)/.test(w)) fail(w, 'holds a ".." path segment');
    // URLs: the host must be loopback or the namespace's; a SOCKS proxy's path is a Unix socket path
    let rest = w;
    for (const m of w.matchAll(/([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#\s]*)([^\s]*)/g)) {
      const scheme = m[1]!.toLowerCase();
      const authority = m[2]!.replace(/^[^@]*@/, '');
      const hosts = authority.startsWith('{') ? authority.replace(/[{}]/g, '').replace(/:\d+$/, '').split(',') : [authority.replace(/:\d+$/, '')];
      for (const h of hosts) if (!ALLOWED_HOSTS.has(h)) fail(w, `names host "${h}", which is neither loopback nor in the throwaway namespace`);
      const after = m[3] ?? '';
      if (scheme === 'file') {
        rest = rest.replace(`${m[1]}://${m[2]}`, ''); // its path is checked below with the rest
        continue;
      }
      if (/^socks/.test(scheme) && after !== '' && after !== '/' && !after.startsWith(places.tmp)) fail(w, 'names a Unix socket outside the temporary directory');
      rest = rest.replace(m[0], '');
    }
    // every address-looking word must be loopback or the namespace's
    for (const m of rest.matchAll(/\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/g)) {
      const a = m[0];
      if (!(a.startsWith('127.') || a.startsWith('10.253.7.') || a.startsWith('10.253.8.') || a === '0.0.0.0' || a.startsWith('255.'))) fail(w, `names address ${a}`);
    }
    // paths: whatever is left after removing the temporary directory's paths and address prefixes may not hold a "/"
    // a scheme-less URL ("localhost:8080/x") is a URL as long as it names a port
    rest = rest.replace(/^(127\.0\.0\.1|localhost|\[::1\]|10\.253\.7\.[12]):\d+(\/\S*)?$/, '');
    const leftover = rest.replace(tmpRe, '').replace(/\b\d+(\/\d+)+\b/g, '').replace(/\b[0-9A-Fa-f:.]+\/\d{1,3}\b/g, '').replace(/%\{[^}]*\}/g, '');
    // curl -o /dev/null: only curl's output goes there (no other tool is given /dev/null: iperf3 would unlink a pid file)
    const checked = tool === 'curl' ? leftover.replace(/\/dev\/null$/, '') : leftover;
    if (checked.includes('/')) fail(w, 'names a path outside the temporary directory');
  }
  if (tool === 'ip' || tool === 'tc') {
    // `ip -all netns del` would remove every namespace on the machine; `netns 1` would move an interface to the host's
    for (const [i, w] of argv.entries()) {
      if (/^--?a(l(l)?)?$/.test(w) && tool === 'ip') fail(w, 'is ip -all');
      if (/^n(e(t(n(s)?)?)?)?$/.test(w) && /^\d+$/.test(argv[i + 1] ?? '')) fail(w, 'names a namespace by process id');
    }
    const words = argv.filter((w) => !w.startsWith('-'));
    if (tool === 'ip' && words[0] !== undefined && words[0].length >= 3 && 'netns'.startsWith(words[0])) {
      for (const w of words.slice(2)) {
        if (w !== places.decoyNs && !w.startsWith(places.tmp) && !/^\d+$/.test(w) && !['exec', 'e', 'ex', 'exe'].includes(w)) fail(w, 'is a namespace name other than the decoy');
      }
    }
  }
}
