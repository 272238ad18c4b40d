// iptables-save / ip6tables-save: reads the rules and prints them. -M/--modprobe runs a program
// and -f/--file writes one; only -c (counters) and -t TABLE are allowed.

import { refuseArg } from '../errors.js';
import { NONE, type ToolRule } from '../rule.js';

export const iptablesSaveRule =
  (tool: string): ToolRule =>
  (argv) => {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-c' || a === '--counters') continue;
      if (a === '-t' || a === '--table') {
        const table = argv[++i];
        if (table === undefined || !/^[a-z]+$/.test(table)) refuseArg(tool, `table "${table ?? ''}"`, 'is not a table name');
        continue;
      }
      refuseArg(tool, `"${a}"`, 'is not allowed (only -c and -t TABLE; -M runs a program, -f writes a file)');
    }
    return NONE;
  };
