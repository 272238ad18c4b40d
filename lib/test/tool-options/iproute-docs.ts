// Reads what ip and tc document about themselves (their help output and man page option heads,
// captured by capture-iproute-dns.sh) into lists of options, objects and command word sequences.

import { readFileSync } from 'node:fs';
import { repoPath } from '../../repo-root.js';

export function toolOptionsText(file: string): string {
  return readFileSync(repoPath('lib', 'test', 'tool-options', file), 'utf8');
}

/** The "### title" sections of a captured file. */
export function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let title = '';
  for (const line of text.split('\n')) {
    const m = /^### (.*)$/.exec(line);
    if (m) {
      title = m[1]!;
      out.set(title, '');
    } else if (title !== '') {
      out.set(title, `${out.get(title)!}${line}\n`);
    }
  }
  return out;
}

/**
 * Every option a text names: "-s[tatistics]" is -s and -statistics, roff's "\-br" is -br.
 * Only words that start after a blank, a quote or a bracket count (not "human-readable").
 */
export function documentedOptions(text: string): Set<string> {
  const out = new Set<string>();
  const plain = text.replace(/\\-/g, '-');
  for (const m of plain.matchAll(/(?<=^|[\s"[{|,])-([A-Za-z0-9][\w-]*)(?:\[([\w-]+)\])?/gm)) {
    out.add(`-${m[1]!}`);
    if (m[2] !== undefined) out.add(`-${m[1]!}${m[2]}`);
  }
  return out;
}

/** The names listed in "NAME := { a | b | c }" (which may span lines). */
export function documentedList(text: string, name: string): string[] {
  const m = new RegExp(`(?:^|\\s)${name} :=\\s*(\\{[^}]*\\}|[^\\n]*(?:\\n\\s+[^\\n]*\\|[^\\n]*)*)`).exec(text);
  if (!m) throw new Error(`no "${name} :=" in the captured help`);
  return m[1]!.replace(/[{}]/g, ' ').split(/[|\s]+/).filter((w) => w !== '');
}

const WORD = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The command word sequences of the usage lines of one "TOOL OBJECT help" section: after
 * "TOOL WORD", plain lower-case words and groups of them ("{ add | del }", "[ list | flush ]")
 * up to the first argument placeholder. "ip address [ show [ dev …" gives "address" and
 * "address show"; "ip xfrm state { add | update } ID …" gives "xfrm state add" and "xfrm state update".
 */
export function documentedCommands(tool: string, section: string): Set<string> {
  const out = new Set<string>();
  for (const raw of section.split('\n')) {
    // "ip [-all] netns exec", "tc [-timestamp [-tshort] monitor": options before the object
    const line = raw.replace(/\[\s*-[\w-]+\s*\]\s*/g, '').replace(/\[\s*-[\w-]+\s+/g, '');
    const m = new RegExp(`(?:^|\\s)${tool} ([a-z][a-z0-9_-]*)(.*)$`).exec(line);
    if (!m) continue;
    const tokens = m[2]!.replace(/([{}[\]|])/g, ' $1 ').trim().split(/\s+/).filter((t) => t !== '');
    let paths: string[][] = [[m[1]!]];
    for (let i = 0; i < tokens.length; ) {
      const t = tokens[i]!;
      if (WORD.test(t)) {
        paths = paths.map((p) => [...p, t]);
        i++;
        continue;
      }
      if (t !== '{' && t !== '[') break;
      const close = t === '{' ? '}' : ']';
      const group: string[] = [];
      let j = i + 1;
      let simple = true;
      for (; j < tokens.length && tokens[j] !== close; j++) {
        const g = tokens[j]!;
        if (g === '|') continue;
        if (!WORD.test(g)) simple = false;
        group.push(g);
      }
      // "[ show [ dev IFNAME ] …": the first word of an optional group still names a command
      if (!simple) {
        if (t === '[' && WORD.test(tokens[i + 1] ?? '')) {
          for (const p of paths) out.add(p.join(' '));
          paths = paths.map((p) => [...p, tokens[i + 1]!]);
        }
        break;
      }
      if (t === '[') for (const p of paths) out.add(p.join(' '));
      paths = paths.flatMap((p) => group.map((g) => [...p, g]));
      i = j + 1;
    }
    for (const p of paths) out.add(p.join(' '));
  }
  return out;
}
