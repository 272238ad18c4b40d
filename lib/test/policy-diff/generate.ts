// The generator: a pure function of (tool, count, seed) that returns argument lists written as an
// attacker would, with placeholders for the run's temporary directory and a decoy namespace
// name (see values.ts). Nothing here touches the system.
import { genGetopt, type GetoptSpec } from './getopt-gen.js';
import { createRng, toolSeed, type Rng } from './prng.js';
import { CONNTRACK, CURL, IPERF2, IPERF3, NSTAT, PING, SS, TCPDUMP, TRACEPATH, TRACEROUTE } from './tools-getopt.js';
import { genDig, genEthtool, genIp, genNslookup, genTc } from './tools-custom.js';

export const DIFF_TOOLS = [
  'tcpdump', 'iperf3', 'iperf', 'ip', 'ss', 'ping', 'tracepath', 'traceroute', 'nstat', 'tc', 'ethtool', 'conntrack', 'dig',
  'nslookup', 'curl',
] as const;
export type DiffTool = (typeof DIFF_TOOLS)[number];

const GETOPT: Partial<Record<DiffTool, GetoptSpec>> = {
  tcpdump: TCPDUMP, iperf3: IPERF3, iperf: IPERF2, ss: SS, ping: PING, tracepath: TRACEPATH, traceroute: TRACEROUTE,
  nstat: NSTAT, conntrack: CONNTRACK, curl: CURL,
};
const CUSTOM: Partial<Record<DiffTool, (rng: Rng) => string[]>> = {
  ip: genIp, tc: genTc, dig: genDig, nslookup: genNslookup, ethtool: genEthtool,
};

export interface GeneratedArgv {
  tool: DiffTool;
  /** position in this tool's list (with the seed, it names the argv) */
  index: number;
  /** with placeholders ({{T}}, {{NS}}) */
  argv: string[];
}

function genOne(tool: DiffTool, rng: Rng): string[] {
  const spec = GETOPT[tool];
  if (spec) return genGetopt(rng, spec);
  return CUSTOM[tool]!(rng);
}

/** `count` distinct argument lists for `tool` (duplicates are redrawn, within a bounded number of tries). */
export function generateArgvs(tool: DiffTool, count: number, seed: number): GeneratedArgv[] {
  const rng = createRng(toolSeed(seed, tool));
  const seen = new Set<string>();
  const out: GeneratedArgv[] = [];
  for (let tries = 0; out.length < count && tries < count * 20; tries++) {
    const argv = genOne(tool, rng);
    const key = JSON.stringify(argv);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ tool, index: out.length, argv });
  }
  return out;
}
