// What /proc says about a process. stat is read the one safe way: "pid (comm) state ppid …"
// where comm may itself hold spaces and parentheses, so the fields are split after the last ')'.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The fields after "pid (comm)": index 0 is the state (field 3 in proc(5)), 1 the parent PID. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The fields of a process's stat file, or undefined when it is gone. */
export function readStatFields(pid: number, procRoot = '/proc'): string[] | undefined {
  try {
    return statFields(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Start time (field 22, in clock ticks since boot): tells a process from a later one with its PID. */
export function processStartTime(pid: number, procRoot = '/proc'): string | undefined {
  return readStatFields(pid, procRoot)?.[19];
}

/** CPU seconds (user + system, fields 14 and 15) a process has used; 0 once it is gone. Linux clock ticks are 1/100 s. */
export function cpuSeconds(pid: number): number {
  const f = readStatFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : 0;
}

/** A memory figure of /proc/PID/status in KiB (VmRSS now, VmHWM the peak); 0 once the process is gone. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
