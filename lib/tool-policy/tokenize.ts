// Arguments are tokenised like a POSIX shell but never evaluated: quoting and escapes work,
// while anything a shell would expand or interpret ($, backticks, globs, redirections, ; | &,
// newlines, ~) is refused with the offending text and its position, so the user is never
// surprised by a word that means something else than it seems.

import { ToolPolicyError } from './errors.js';

function refuseAt(pos: number, text: string, why: string): never {
  throw new ToolPolicyError(
    'args',
    `args: ${JSON.stringify(text)} at position ${pos + 1} ${why}; it is not evaluated (no shell runs), so it is refused — quote it in single quotes if it is meant literally`,
    pos + 1,
  );
}

const UNQUOTED_REFUSED: Record<string, string> = {
  $: 'would be a variable or command substitution',
  '`': 'would be a command substitution',
  '*': 'would be a glob',
  '?': 'would be a glob',
  '[': 'would be a glob',
  '<': 'would be a redirection',
  '>': 'would be a redirection',
  ';': 'would separate commands',
  '|': 'would be a pipe',
  '&': 'would run a command in the background or chain commands',
  '(': 'would start a subshell',
  ')': 'would end a subshell',
  '{': 'would be a brace expansion',
  '}': 'would be a brace expansion',
};

/** True for control characters other than a tab (which separates words like a space). */
export function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return (code < 0x20 && c !== '\t') || code === 0x7f;
}

function refuseControl(pos: number, c: string): never {
  if (c === '\n' || c === '\r') refuseAt(pos, c, 'is a line break, which would separate commands');
  refuseAt(pos, c, 'is a control character');
}

/**
 * Splits args like a POSIX shell does (single quotes, double quotes, backslash escapes) without
 * evaluating anything; throws ToolPolicyError on anything a shell would expand or interpret.
 */
export function tokenizeArgs(args: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = args.length;
  while (i < n) {
    const c = args[i]!;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (isControl(c)) refuseControl(i, c);
    if (c === "'") {
      const end = args.indexOf("'", i + 1);
      if (end < 0) refuseAt(i, args.slice(i, i + 20), 'opens a single quote that is never closed');
      const body = args.slice(i + 1, end);
      for (let j = 0; j < body.length; j++) if (isControl(body[j]!)) refuseControl(i + 1 + j, body[j]!);
      word += body;
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const start = i;
      i++;
      let closed = false;
      while (i < n) {
        const d = args[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (isControl(d)) refuseControl(i, d);
        if (d === '$') refuseAt(i, args.slice(i, i + 2), 'inside double quotes would be a substitution');
        if (d === '`') refuseAt(i, d, 'inside double quotes would be a command substitution');
        if (d === '\\') {
          const e = args[i + 1];
          // Inside double quotes a backslash escapes only $ ` " \ (POSIX); elsewhere it is literal.
          if (e !== undefined && '$`"\\'.includes(e)) {
            word += e;
            i += 2;
            continue;
          }
          if (e !== undefined && isControl(e)) refuseControl(i + 1, e);
          word += '\\';
          i++;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) refuseAt(start, args.slice(start, start + 20), 'opens a double quote that is never closed');
      inWord = true;
      continue;
    }
    if (c === '\\') {
      const e = args[i + 1];
      if (e === undefined) refuseAt(i, c, 'is a backslash with nothing after it');
      if (isControl(e)) refuseControl(i + 1, e);
      word += e;
      inWord = true;
      i += 2;
      continue;
    }
    const why = UNQUOTED_REFUSED[c];
    if (why) refuseAt(i, c === '$' && args[i + 1] === '(' ? '$(' : c, why);
    if (c === '~' && (!inWord || word.endsWith('=') || word.endsWith(':'))) {
      refuseAt(i, c, 'would be expanded to a home directory');
    }
    if (c === '#' && !inWord) refuseAt(i, c, 'would start a comment');
    word += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);
  return words;
}
