// A one-line progress bar on stderr, drawn only when stderr is a terminal: piped or redirected
// output stays free of control characters.
export interface Progress {
  update(doneBytes: number, label?: string): void;
  done(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

const NONE: Progress = { update() {}, done() {} };

export function renderBar(done: number, total: number, width: number, label: string): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${label}`;
}

export function progressBar(stream: ProgressStream, total: number, title: string): Progress {
  if (!stream.isTTY) return NONE;
  let last = '';
  let lastDraw = 0;
  const draw = (done: number, label: string, force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return; // at most ten redraws a second
    lastDraw = now;
    const cols = Math.max(40, stream.columns || 80); // 0 when the terminal size is unknown
    const line = `${title} ${renderBar(done, total, 30, label)}`.slice(0, cols - 1);
    if (line !== last) stream.write(`\r\x1b[2K${line}`);
    last = line;
  };
  let label = '';
  let doneBytes = 0;
  return {
    update(d, l) {
      doneBytes = d;
      if (l !== undefined) label = l;
      draw(doneBytes, label, false);
    },
    done() {
      draw(total, label, true);
      stream.write('\n');
    },
  };
}
