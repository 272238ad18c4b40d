// Parses the output of `strace -f -qq -y -e signal=none -o FILE` into syscall records. With -y,
// strace prints the path behind every file descriptor argument (`5</etc>`, `AT_FDCWD</tmp/x>`)
// and behind a returned descriptor (`= 3</usr/lib/libc.so.6>`), which is what lets a relative
// openat be placed without tracking descriptors ourselves. With -f, a call interrupted by another
// thread's is printed as `… <unfinished ...>` and later `<... NAME resumed>…`; the two halves are
// joined here.

export interface Syscall {
  pid: number;
  name: string;
  /** the raw argument text as strace printed it */
  argsText: string;
  /** top-level arguments, split on commas outside quotes, brackets and braces */
  args: string[];
  /** the raw text after " = " ("3</etc/hosts>", "-1 ENOENT (No such file or directory)", "?") */
  result: string;
  /** the exact (joined) line, for reports */
  line: string;
}

const LINE = /^(\d+)\s+(.*)$/;
const CALL = /^([a-z_0-9]+)\((.*)\)\s+=\s+(.*)$/s;
const UNFINISHED = /^([a-z_0-9]+)\((.*?)\s*<unfinished \.\.\.>$/s;
const RESUMED = /^<\.\.\. ([a-z_0-9]+) resumed>\s?(.*)$/s;

/** Splits strace's argument text at top-level commas. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inStr) {
      cur += c;
      if (c === '\\' && i + 1 < text.length) {
        cur += text[++i]!;
      } else if (c === '"') {
        inStr = false;
      }
      continue;
    }
    if (c === '"') {
      inStr = true;
      cur += c;
      continue;
    }
    if (c === '(' || c === '[' || c === '{' || c === '<') depth++;
    if (c === ')' || c === ']' || c === '}' || c === '>') depth = Math.max(0, depth - 1);
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Decodes a C string as strace prints it ("…", with \n \t \" \\ \xNN \NNN escapes; a trailing "..." when cut). */
export function decodeCString(token: string): string | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"(\.\.\.)?$/s.exec(token.trim());
  if (!m) return undefined;
  const body = m[1]!;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const e = body[++i]!;
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, '\\': 92, a: 7, b: 8 };
    if (e in simple) bytes.push(simple[e]!);
    else if (e === 'x') {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      let oct = e;
      while (oct.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) oct += body[++i]!;
      bytes.push(parseInt(oct, 8));
    } else bytes.push(...Buffer.from(e, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The path strace printed behind a descriptor argument or result ("5</etc>" → "/etc"). */
export function fdPath(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const m = /^(?:AT_FDCWD|-?\d+)<(.*)>(?:\s.*)?$/s.exec(token.trim());
  return m ? m[1] : undefined;
}

/** Parses a whole strace output file's text. Lines that are not syscalls (there should be none with -qq) are returned apart. */
export function parseStrace(text: string): { calls: Syscall[]; unparsed: string[] } {
  const calls: Syscall[] = [];
  const unparsed: string[] = [];
  const pending = new Map<string, { head: string; name: string; lineHead: string }>();
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const lm = LINE.exec(raw);
    if (!lm) {
      unparsed.push(raw);
      continue;
    }
    const pid = Number(lm[1]);
    let body = lm[2]!;
    if (body.startsWith('+++') || body.startsWith('---')) continue;
    // a tracee the runner's SIGKILL took from strace while it sat at a syscall stop: strace no
    // longer knows which call it was ("???"), and the process dies with the kill
    if (/^\?\?\?\(\s*<detached \.\.\.>$/.test(body)) continue;
    const un = UNFINISHED.exec(body);
    if (un) {
      pending.set(`${pid}:${un[1]}`, { head: un[2]!, name: un[1]!, lineHead: body.replace(/\s*<unfinished \.\.\.>$/, '') });
      continue;
    }
    const re = RESUMED.exec(body);
    if (re) {
      const p = pending.get(`${pid}:${re[1]}`);
      pending.delete(`${pid}:${re[1]}`);
      const tail = re[2]!;
      // the head ends inside the argument list; the resumed tail holds the rest of it and ") = result"
      const head = p ? p.lineHead : `${re[1]}(`;
      const sep = head.endsWith('(') || tail.startsWith(')') || tail.startsWith(',') ? '' : head.endsWith(',') ? ' ' : ', ';
      body = `${head}${sep}${tail}`;
    }
    const cm = CALL.exec(body);
    if (!cm) {
      // e.g. "exit_group(0) = ?" forms are matched above; a call killed mid-way ends in "= ?" too
      const killed = /^([a-z_0-9]+)\((.*)\)\s*\?$/s.exec(body) ?? /^([a-z_0-9]+)\((.*)$/s.exec(body);
      if (killed) {
        calls.push({ pid, name: killed[1]!, argsText: killed[2]!, args: splitArgs(killed[2]!), result: '?', line: `${pid} ${body}` });
      } else unparsed.push(raw);
      continue;
    }
    calls.push({ pid, name: cm[1]!, argsText: cm[2]!, args: splitArgs(cm[2]!), result: cm[3]!.trim(), line: `${pid} ${body}` });
  }
  // calls left unfinished (the process was killed inside them) still happened as far as intent goes
  for (const [key, p] of pending) {
    const pid = Number(key.split(':')[0]);
    calls.push({ pid, name: p.name, argsText: p.head, args: splitArgs(p.head), result: '?', line: `${pid} ${p.lineHead} <unfinished ...>` });
  }
  return { calls, unparsed };
}
