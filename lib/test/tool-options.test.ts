// Every option the installed tools document (their --help and man page text, checked in under
// lib/test/tool-options/ with the list parsed from it) must have a verdict in the policy's model
// of that tool, and the verdicts of the ones that are not simply allowed are listed here, so a
// new tool version that documents a new option, or a model change that lets a refused option
// through, fails this test.

import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { resolveLong, specFor, type OptionModel, type OptionSpec } from '../tool-policy/getopt.js';
import { CONNTRACK_MODEL } from '../tool-policy/tools/conntrack.js';
import { CURL_MODEL } from '../tool-policy/tools/curl.js';
import { ETHTOOL_FLAGS, ETHTOOL_MODES } from '../tool-policy/tools/ethtool.js';
import { IPERF_MODEL } from '../tool-policy/tools/iperf.js';
import { IPERF3_MODEL } from '../tool-policy/tools/iperf3.js';
import { NSTAT_MODEL } from '../tool-policy/tools/nstat.js';
import { PING_MODEL } from '../tool-policy/tools/ping.js';
import { SS_MODEL } from '../tool-policy/tools/ss.js';
import { TCPDUMP_MODEL } from '../tool-policy/tools/tcpdump.js';
import { TRACEPATH_MODEL } from '../tool-policy/tools/tracepath.js';
import { TRACEROUTE_MODEL } from '../tool-policy/tools/traceroute.js';
import { parseToolInvocation, ToolPolicyError } from '../tool-policy.js';

interface ToolOptions {
  tool: string;
  source: string;
  options: string[];
  /** documented, but the installed tool rejects them as unknown */
  notAccepted?: string[];
}

function load(tool: string): ToolOptions {
  return JSON.parse(readFileSync(new URL(`../../../lib/test/tool-options/${tool}.json`, import.meta.url), 'utf8')) as ToolOptions;
}

type Kind = 'allow' | 'check' | 'refuse' | 'mutating';

const r = (names: string): Record<string, Kind> => Object.fromEntries(names.split(' ').map((n) => [n, 'refuse']));
const m = (names: string): Record<string, Kind> => Object.fromEntries(names.split(' ').map((n) => [n, 'mutating']));
const c = (names: string): Record<string, Kind> => Object.fromEntries(names.split(' ').map((n) => [n, 'check']));

/** Documented options whose verdict is not "allow". */
const EXPECTED: Record<string, { models: OptionModel[]; notAllowed: Record<string, Kind> }> = {
  tcpdump: { models: [TCPDUMP_MODEL], notAllowed: { ...r('-C -G -W -E -F -m -r -V -z -Z --relinquish-privileges'), ...c('-w') } },
  iperf3: {
    models: [IPERF3_MODEL],
    notAllowed: {
      ...r('-I --pidfile -F --file --logfile -D --daemon --rsa-private-key-path --authorized-users-path --username --rsa-public-key-path'),
      ...c('-c --client'),
    },
  },
  iperf: { models: [IPERF_MODEL], notAllowed: { ...r('-o --output -F -I --stdin -D --daemon --tap-dev'), ...c('-c --client') } },
  ss: { models: [SS_MODEL], notAllowed: { ...m('-K --kill'), ...r('-D --diag -F --filter -N --net -p --processes -T --threads -Z --context -z --contexts -r --resolve') } },
  ping: { models: [PING_MODEL], notAllowed: c('-f -A -i -l') },
  tracepath: { models: [TRACEPATH_MODEL], notAllowed: {} },
  traceroute: { models: [TRACEROUTE_MODEL], notAllowed: {} },
  nstat: { models: [NSTAT_MODEL], notAllowed: r('-d --scan -r --reset -n --nooutput') },
  ethtool: {
    models: [ETHTOOL_FLAGS, ETHTOOL_MODES],
    notAllowed: {
      ...m('-s --change -A --pause -C --coalesce -G --set-ring -K --features --offload -E --change-eeprom -r --negotiate'),
      ...m('-p --identify -t --test -N --config-nfc --config-ntuple -U -X --set-rxfh-indir --rxfh -W --set-dump'),
      ...m('-L --set-channels --set-priv-flags --set-eee --set-tunable --set-phy-tunable --reset --set-fec'),
      ...m('--cable-test --cable-test-tdr --set-module'),
      ...r('-f --flash'),
    },
  },
  conntrack: {
    models: [CONNTRACK_MODEL],
    notAllowed: { ...m('-I --create -A --add -D --delete -U --update -F --flush -z --zero'), ...r('-R --load-file') },
  },
  curl: {
    models: [CURL_MODEL],
    notAllowed: {
      ...r('--abstract-unix-socket --alt-svc --append -a --cacert --capath --cert -E --config -K --continue-at -C'),
      ...r('--cookie-jar -c --create-dirs --create-file-mode --crlfile --egd-file --engine --etag-compare --etag-save'),
      ...r('--ftp-create-dirs --hostpubmd5 --hostpubsha256 --hsts --key --libcurl --metalink --netrc -n --netrc-file'),
      ...r('--netrc-optional --output-dir --proxy-cacert --proxy-capath --proxy-cert --proxy-crlfile --proxy-key --pubkey'),
      ...r('--quote -Q --random-file --remote-header-name -J --remote-name -O --remote-name-all --remote-time -R'),
      ...r('--remove-on-error --stderr --trace --trace-ascii --unix-socket --upload-file -T --xattr'),
      ...c('--cookie -b --data -d --data-ascii --data-binary --data-urlencode --doh-url --dump-header -D --form -F'),
      ...c('--header -H --json --output -o --pinnedpubkey --preproxy --proto --proto-default --proto-redir --proxy -x'),
      ...c('--proxy-header --proxy-pinnedpubkey --proxy1.0 --resolve --connect-to --socks4 --socks4a --socks5'),
      ...c('--socks5-hostname --url --url-query --write-out -w'),
    },
  },
};

/** Finds the spec a documented spelling means, the way the tool resolves it. */
function resolve(models: OptionModel[], spelled: string): OptionSpec | undefined {
  for (const model of models) {
    const exact = specFor(model, spelled) ?? (model === CURL_MODEL && spelled.startsWith('--no-') ? specFor(model, `--${spelled.slice(5)}`) : undefined);
    if (exact) return exact;
    if (model.abbreviate && spelled.startsWith('--')) {
      try {
        return resolveLong(model, spelled.slice(2), spelled);
      } catch {
        // not this model's
      }
    }
  }
  return undefined;
}

describe.each(Object.keys(EXPECTED))('%s: every documented option is classified', (tool) => {
  const data = load(tool);
  const { models, notAllowed } = EXPECTED[tool]!;

  test(`the data documents options of ${tool} (${data.source})`, () => {
    expect(data.tool).toBe(tool);
    expect(data.options.length).toBeGreaterThan(5);
  });

  test.each(data.options)('%s', (spelled) => {
    const spec = resolve(models, spelled);
    if (!spec) throw new Error(`${tool} documents ${spelled}, which the policy's model of ${tool} does not classify`);
    expect(spec.verdict.kind).toBe(notAllowed[spelled] ?? 'allow');
  });

  test('every expected verdict names a documented option', () => {
    for (const name of Object.keys(notAllowed)) expect(data.options).toContain(name);
  });

  if (data.notAccepted) {
    test.each(data.notAccepted)('%s is documented but unknown to the installed tool: refused', (spelled) => {
      expect(() => parseToolInvocation(tool, [spelled])).toThrow(ToolPolicyError);
      expect(resolve(models, spelled)).toBeUndefined();
    });
  }
});
