// Regression tests for the holes found in the tool policy (each was confirmed against the real
// tool), the usability fixes, and the cluster-level flood knobs.

import { describe, expect, test } from '@jest/globals';
import {
  DEFAULT_TOOL_POLICY,
  ToolPolicyError,
  parseToolInvocation,
  toolPolicyFromEnv,
  type ToolPolicy,
} from '../tool-policy.js';
import { toolPolicyEnv } from '../tool-policy/config.js';
import { curlGlobCount } from '../tool-policy/tools/curl.js';

const MUTATING: ToolPolicy = { ...DEFAULT_TOOL_POLICY, allowMutating: true };

function refusal(command: string, args: string, policy: ToolPolicy = DEFAULT_TOOL_POLICY): string {
  try {
    parseToolInvocation(command, args, policy);
  } catch (err) {
    if (err instanceof ToolPolicyError) return err.message;
    throw err;
  }
  throw new Error(`${command} ${args}: allowed, expected a refusal`);
}

describe('iperf3: --server is a plain flag', () => {
  const refused: Array<[string, RegExp]> = [
    ['--server -F /host/proc/1/root/etc/x -1', /"-F \/host\/proc\/1\/root\/etc\/x" reads or writes a file/],
    ['-c 10.0.0.1 -R --server -F /etc/shadow', /-F/],
    ['--server --pidfile /host/proc/1/root/etc/passwd', /pid file/],
    ['--server --logfile=/host/proc/1/root/etc/x', /log file/],
    ['--server --logf /x', /log file/],
    ['--server -D', /daemon/],
    ['--serv -D', /ambiguous/],
    ['-sD', /daemon/],
    ['-s --daemon', /daemon/],
    ['-s --rsa-private-key-path /k --authorized-users-path /u', /key file/],
    ['-c h --rsa-pub /k', /key file/],
    ['-c h --user bob', /key file/],
    ['-sF/x', /reads or writes a file/],
    ['10.0.0.1 -c 10.0.0.1 -F /x', /reads or writes a file/],
    ['--serve', /ambiguous/],
  ];
  test.each(refused)('iperf3 %s is refused', (args, why) => {
    expect(refusal('iperf3', args)).toMatch(why);
    // file rules never lift
    expect(refusal('iperf3', args, MUTATING)).toMatch(why);
  });
  test.each(['--server -1', '-s --server-bitrate-limit 10M', '-c 10.0.0.1 -t 5 -P 2 -R -J', '--server-b 1M -s', '-c h --debug=2', '-c h -d'])(
    'iperf3 %s is allowed',
    (args) => {
      expect(() => parseToolInvocation('iperf3', args)).not.toThrow();
    },
  );
  test('--server takes no value: "--server=x" is an error of iperf3 too', () => {
    expect(refusal('iperf3', '--server=x')).toMatch(/takes no value/);
  });
});

describe('conntrack: NAT filters and commands take the next word only when it is not an option', () => {
  test.each(['--dst-nat -D', '--src-nat -D', '--any-nat -D', '-g -D', '--dst-nat=1.2.3.4 -D', '-L --dst-nat -F', '-j -D -s 10.0.0.1'])(
    'conntrack %s deletes or flushes: refused without writes',
    (args) => {
      expect(refusal('conntrack', args)).toMatch(/SNOOPY_ALLOW_MUTATING_TOOLS/);
      expect(() => parseToolInvocation('conntrack', args, MUTATING)).not.toThrow();
    },
  );
  test.each(['-L --dst-nat 10.0.0.1', '-L --dst-nat', '-L -n', '-L conntrack', '-L expect', '-S', '-C'])('conntrack %s reads: allowed', (args) => {
    expect(() => parseToolInvocation('conntrack', args)).not.toThrow();
  });
  test('a table name that looks like a command is a table name, not a command', () => {
    // "-L D" lists the table "D" (an error of conntrack), it deletes nothing
    expect(() => parseToolInvocation('conntrack', '-L D')).not.toThrow();
  });
  test('-R/--load-file is refused even with writes allowed', () => {
    expect(refusal('conntrack', '-R /x', MUTATING)).toMatch(/reads commands from a file/);
    expect(refusal('conntrack', '--load /x', MUTATING)).toMatch(/reads commands from a file/);
  });
});

describe('curl: cookie files, Unix sockets, abbreviations', () => {
  const refused: Array<[string, RegExp]> = [
    ['-b @/etc/x=y http://h/', /cookie file/],
    ['-b /etc/cookies http://h/', /cookie file/],
    ['--cook /etc/cookies http://h/', /ambiguous/],
    ['--cookie /etc/cookies http://h/', /cookie file/],
    ['-x socks5h://localhost/run/x.sock http://h/', /Unix socket/],
    ['-x socks5://localhost/run/x.sock http://h/', /Unix socket/],
    ['--proxy socks5h://localhost/run/x.sock http://h/', /Unix socket/],
    ['--preproxy socks5://localhost/run/x.sock -x http://p:3128 http://h/', /Unix socket/],
    ['--socks5 localhost/run/x.sock http://h/', /Unix socket/],
    ['--socks5-hostname localhost/run/x.sock http://h/', /Unix socket/],
    ['--socks4a localhost/run/x.sock http://h/', /Unix socket/],
    ['--unix-socket /run/x.sock http://h/', /Unix socket/],
    ['--unix /run/x.sock http://h/', /Unix socket/],
    ['--OUTPUT /etc/x http://h/', /only "\/dev\/null"/],
    ['--outp /etc/x http://h/', /ambiguous/],
    ['--outpu /etc/x http://h/', /ambiguous/],
    ['--output /etc/x http://h/', /only "\/dev\/null"/],
    ['-so/etc/x http://h/', /only "\/dev\/null"/],
    ['http://h/ -o /etc/x', /only "\/dev\/null"/],
    ['--out /etc/x http://h/', /ambiguous/],
    ['--output=/etc/x http://h/', /not an option curl knows/],
    ['-K /etc/x http://h/', /reads options from a file/],
    ['--conf /etc/x http://h/', /reads options from a file/],
    ['-w @/etc/x http://h/', /reads the format from a file/],
    ["-w '%{stderr}' http://h/", /%\{stderr\}/],
    ["-w '%output{/tmp/x}' http://h/", /%output/],
    ['-F a=@/etc/passwd http://h/', /reads a local file/],
    ["-F 'a=</etc/passwd' http://h/", /reads a local file/],
    ['--form a=@/etc/passwd http://h/', /reads a local file/],
    ["-F 'a=b;headers=@/etc/x' http://h/", /reads a local file/],
    ['-d @/etc/passwd http://h/', /reads a local file/],
    ['--data-urlencode a@/etc/passwd http://h/', /reads a local file/],
    ['--url-query @/etc/passwd http://h/', /reads a local file/],
    ['--url-query q@/etc/passwd http://h/', /reads a local file/],
    ['-H @/etc/x http://h/', /reads a local file/],
    ['--proto-redir all -L http://h/', /other than http/],
    ['--proto =file http://h/', /other than http/],
    ['file:///etc/passwd', /only http and https/],
    ['-- -o', /has no scheme/],
  ];
  test.each(refused)('curl %s is refused', (args, why) => {
    expect(refusal('curl', args)).toMatch(why);
    expect(refusal('curl', args, MUTATING)).toMatch(why);
  });
  test.each([
    "-o /dev/null -w '%{http_code}' http://svc.ns:8080/healthz",
    "-s -o /dev/null -w '%{http_code}\\n' https://10.0.0.1/",
    '-sSo /dev/null http://h/',
    '-F name=value http://h/',
    '-F a=b -F c=d --form e=f http://h/',
    '-b a=b http://h/',
    '-x http://proxy:3128 http://h/',
    '--socks5 proxy:1080 http://h/',
    '--VERBOSE http://h/',
    '--no-buffer --verb http://h/',
    '--no-remote-name http://h/',
    '--proto =https,http http://h/',
  ])('curl %s is allowed', (args) => {
    expect(() => parseToolInvocation('curl', args)).not.toThrow();
  });
});

describe('tcpdump and iperf parse like getopt_long', () => {
  test.each(['-ieth0 -w/etc/x', '-nvw /etc/x', 'port 80 -w /etc/x', '--relinq=nobody', '--relinquish nobody', '-i eth0 -Z root'])(
    'tcpdump %s is refused',
    (args) => {
      expect(() => parseToolInvocation('tcpdump', args)).toThrow(ToolPolicyError);
    },
  );
  test('tcpdump -i takes the next word whatever it looks like', () => {
    expect(parseToolInvocation('tcpdump', '-i -w -n').writesPcapToStdout).toBe(false);
    expect(parseToolInvocation('tcpdump', '-nUi eth0 -w -').writesPcapToStdout).toBe(true);
  });
  test.each(['-s -o /x', '-s --out=/x', '-s -D', '-c h -F /x', '-c h --stdin', '--tap-dev=x -s'])('iperf %s is refused', (args) => {
    expect(() => parseToolInvocation('iperf', args, MUTATING)).toThrow(ToolPolicyError);
  });
});

describe('flood knobs', () => {
  const paced = toolPolicyFromEnv({ SNOOPY_MIN_PING_INTERVAL: '0.2' });
  test.each(['-f 10.0.0.1', '-i 0.01 10.0.0.1', '-fc1 10.0.0.1', '-i0.1 10.0.0.1', '-A 10.0.0.1', '-l 100 10.0.0.1', '10.0.0.1 -f'])(
    'ping %s is refused with SNOOPY_MIN_PING_INTERVAL=0.2',
    (args) => {
      expect(refusal('ping', args, paced)).toMatch(/SNOOPY_MIN_PING_INTERVAL/);
      expect(() => parseToolInvocation('ping', args)).not.toThrow();
    },
  );
  test.each(['-i 0.2 10.0.0.1', '-i 1 -c 3 10.0.0.1', '-l 3 10.0.0.1'])('ping %s is allowed with SNOOPY_MIN_PING_INTERVAL=0.2', (args) => {
    expect(() => parseToolInvocation('ping', args, paced)).not.toThrow();
  });

  const cidrs = toolPolicyFromEnv({ SNOOPY_TRAFFIC_CIDRS: '10.0.0.0/8, fd00::/8' });
  test.each<[string, string]>([
    ['iperf3', '-c 8.8.8.8'],
    ['iperf3', '-c example.com'],
    ['iperf', '-c 192.168.1.1 -u'],
    ['ping', '1.1.1.1'],
    ['traceroute', '1.1.1.1'],
    ['tracepath', '1.1.1.1'],
    ['curl', 'http://1.1.1.1/'],
    ['curl', 'http://example.com/'],
    ['curl', '--resolve h:80:1.1.1.1 http://10.0.0.1/'],
    ['curl', '--connect-to ::1.1.1.1: http://10.0.0.1/'],
    ['curl', '-x http://1.1.1.1:3128 http://10.0.0.1/'],
    ['curl', "'http://10.0.0.{1,2}/'"],
  ])('%s %s is refused with SNOOPY_TRAFFIC_CIDRS', (tool, args) => {
    expect(refusal(tool, args, cidrs)).toMatch(/SNOOPY_TRAFFIC_CIDRS/);
  });
  test.each<[string, string]>([
    ['iperf3', '-c 10.1.2.3 -t 5'],
    ['iperf3', '-c 10.1.2.3%eth0'],
    ['iperf3', '-s'],
    ['iperf', '-c fd00::1 -V'],
    ['ping', '-c 3 10.0.0.1'],
    ['traceroute', '-n 10.0.0.1 60'],
    ['curl', 'http://10.0.0.1:8080/x'],
    ['curl', "'http://[fd00::1]/'"],
  ])('%s %s is allowed with SNOOPY_TRAFFIC_CIDRS', (tool, args) => {
    expect(() => parseToolInvocation(tool, args, cidrs)).not.toThrow();
  });

  test('curl URL globbing is capped (100 by default, SNOOPY_MAX_CURL_URLS) unless -g', () => {
    expect(curlGlobCount('http://h/[1-100]')).toBe(100);
    expect(curlGlobCount('http://h/{a,b}/[1-10:2]')).toBe(10);
    expect(curlGlobCount('http://[::1]/')).toBe(1);
    expect(() => parseToolInvocation('curl', "'http://h/[1-100]'")).not.toThrow();
    expect(refusal('curl', "'http://h/[1-101]'")).toMatch(/expands to 101 URLs/);
    expect(refusal('curl', "'http://h/[1-1000000]' '--url' 'http://h/'")).toMatch(/SNOOPY_MAX_CURL_URLS/);
    expect(() => parseToolInvocation('curl', "-g 'http://h/[1-1000000]'")).not.toThrow();
    expect(() => parseToolInvocation('curl', "'http://h/[1-1000000]' --no-globoff -g")).not.toThrow();
    expect(refusal('curl', "-g 'http://h/[1-1000000]' -g --globoff --no-globoff")).toMatch(/expands to 1000000 URLs/);
    expect(refusal('curl', "-g http://a/ --next 'http://h/[1-1000000]'")).toMatch(/expands to 1000000 URLs/);
    const small = toolPolicyFromEnv({ SNOOPY_MAX_CURL_URLS: '5' });
    expect(refusal('curl', "'http://h/{a,b,c}/[1-2]'", small)).toMatch(/expands to 6 URLs/);
  });

  test('the knobs round-trip through the environment the operator gives capture Jobs', () => {
    const env = {
      SNOOPY_ALLOWED_TOOLS: 'ping curl',
      SNOOPY_ALLOW_MUTATING_TOOLS: 'true',
      SNOOPY_MIN_PING_INTERVAL: '0.5',
      SNOOPY_TRAFFIC_CIDRS: '10.0.0.0/8,fd00::/8',
      SNOOPY_MAX_CURL_URLS: '20',
    };
    const policy = toolPolicyFromEnv(env);
    expect(policy).toEqual({
      allowedTools: ['ping', 'curl'],
      allowMutating: true,
      minPingIntervalSeconds: 0.5,
      trafficCidrs: ['10.0.0.0/8', 'fd00::/8'],
      maxCurlUrls: 20,
    });
    const again = toolPolicyFromEnv(Object.fromEntries(toolPolicyEnv(policy).map((e) => [e.name, e.value])));
    expect(again).toEqual(policy);
    expect(toolPolicyEnv(DEFAULT_TOOL_POLICY).map((e) => e.name)).toEqual(['SNOOPY_ALLOWED_TOOLS', 'SNOOPY_ALLOW_MUTATING_TOOLS']);
  });

  test.each<[Record<string, string>, RegExp]>([
    [{ SNOOPY_MIN_PING_INTERVAL: 'fast' }, /SNOOPY_MIN_PING_INTERVAL: "fast"/],
    [{ SNOOPY_TRAFFIC_CIDRS: '10.0.0.0/33' }, /SNOOPY_TRAFFIC_CIDRS: "10.0.0.0\/33"/],
    [{ SNOOPY_TRAFFIC_CIDRS: 'cluster' }, /not a CIDR/],
    [{ SNOOPY_MAX_CURL_URLS: '0' }, /SNOOPY_MAX_CURL_URLS/],
  ])('a malformed knob %j is an error, not a silently different policy', (env, why) => {
    expect(() => toolPolicyFromEnv(env)).toThrow(why);
  });
});
