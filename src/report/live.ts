// The terminal view of a running audit. On a TTY it is a small block redrawn in place at every
// sample (usage, anon, cache, shmem, the verdict so far), and text written "above" it (the
// command's own output, warnings) scrolls by without tearing it. Elsewhere (a pipe, CI logs) it
// prints one plain line every `plainEverySeconds`.
import type { MemorySample } from '../model/sample.ts';
import type { LeakSource, Verdict } from '../model/verdict.ts';
import { formatBytes, formatDuration } from '../model/units.ts';
import { PLAIN_STYLE, type Style, type StyleName } from './style.ts';

export interface LiveStatus {
  /** What runs or is watched, e.g. "node examples/file-writer.js". */
  title: string;
  /** Where the numbers come from, e.g. "cgroup v1 /sys/fs/cgroup/memory/.../memaudit-run-1-ab12". */
  source: string;
  elapsedSeconds: number;
  durationSeconds: number;
  sample: MemorySample;
  first: MemorySample;
  /** The verdict on the samples so far, or why there is none yet. */
  verdict?: { verdict: Verdict; leakSource: LeakSource | null; explanation: string } | { note: string };
}

export interface LiveViewOptions {
  tty: boolean;
  plainEverySeconds?: number;
  /** Where text written "above" the block goes (default: the block's stream), e.g. stderr. */
  above?: NodeJS.WritableStream;
  /** Terminal width; lines are cut to it so the block never wraps (wrapping breaks the redraw). */
  columns?: () => number | undefined;
  /** Colours and emphasis of the block (style.ts); default none. */
  style?: Style;
}

export class LiveView {
  readonly #out: NodeJS.WritableStream;
  readonly #above: NodeJS.WritableStream;
  readonly #tty: boolean;
  readonly #plainEverySeconds: number;
  readonly #columns: () => number | undefined;
  readonly #style: Style;
  #drawnLines = 0;
  #last: LiveStatus | undefined;
  #lastPlainSeconds = -Infinity;
  #partial = '';
  #closed = false;

  constructor(out: NodeJS.WritableStream, options: LiveViewOptions) {
    this.#out = out;
    this.#above = options.above ?? out;
    this.#tty = options.tty;
    this.#plainEverySeconds = options.plainEverySeconds ?? 10;
    this.#columns = options.columns ?? (() => undefined);
    this.#style = options.style ?? PLAIN_STYLE;
  }

  update(status: LiveStatus): void {
    if (this.#closed) return;
    this.#last = status;
    if (this.#tty) {
      this.#erase();
      this.#draw();
      return;
    }
    const due = status.elapsedSeconds - this.#lastPlainSeconds >= this.#plainEverySeconds || status.elapsedSeconds >= status.durationSeconds;
    if (due) {
      this.#lastPlainSeconds = status.elapsedSeconds;
      this.#out.write(plainLine(status) + '\n');
    }
  }

  /** Writes text above the block (whole lines; a partial line waits for its end). */
  write(text: string): void {
    if (!this.#tty || this.#closed) {
      this.#above.write(text);
      return;
    }
    const all = this.#partial + text;
    const cut = all.lastIndexOf('\n');
    if (cut < 0) {
      this.#partial = all;
      return;
    }
    this.#partial = all.slice(cut + 1);
    this.#erase();
    this.#above.write(all.slice(0, cut + 1));
    this.#draw();
  }

  /** Removes the block (on a TTY) so the final report stands alone; flushes a partial line. */
  close(): void {
    if (this.#closed) return;
    if (this.#tty) this.#erase();
    if (this.#partial !== '') this.#above.write(this.#partial + '\n');
    this.#partial = '';
    this.#closed = true;
  }

  #erase(): void {
    if (this.#drawnLines > 0) this.#out.write(`\x1b[${this.#drawnLines}A\r\x1b[J`);
    this.#drawnLines = 0;
  }

  #draw(): void {
    if (!this.#last) return;
    const width = this.#columns();
    const lines = blockLines(this.#last, this.#style).map((l) => fitLine(l, width));
    this.#out.write(lines.join('\n') + '\n');
    this.#drawnLines = lines.length;
  }
}

// Built from a string: a control character in a regex literal is a lint error, and rightly rare.
const ANSI_SGR = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g');
const COLOUR: Record<Verdict, StyleName> = {
  Stable: 'green',
  Plateau: 'green',
  CacheGrowth: 'cyan',
  Leak: 'red',
  InsufficientData: 'yellow',
};

/** Cuts a line to the terminal width, counting visible characters only (colours dropped if cut). */
function fitLine(line: string, width: number | undefined): string {
  if (!width) return line;
  const plain = line.replace(ANSI_SGR, '');
  return plain.length <= width - 1 ? line : plain.slice(0, Math.max(1, width - 2)) + '…';
}

export function blockLines(s: LiveStatus, style: Style = PLAIN_STYLE): string[] {
  const x = s.sample;
  const dim = (t: string) => style('dim', t);
  const bold = (t: string) => style('bold', t);
  const delta = (now: number | undefined, then: number | undefined) =>
    now === undefined || then === undefined || Math.abs(now - then) < 64 * 1024 ? '' : ` ${dim(`(${now > then ? '+' : ''}${formatBytes(now - then)})`)}`;
  const parts = [
    `usage ${bold(formatBytes(x.usageBytes))}${x.limitBytes !== undefined ? ` / ${formatBytes(x.limitBytes)}` : ''}${delta(x.usageBytes, s.first.usageBytes)}`,
  ];
  if (x.anonBytes !== undefined) parts.push(`anon ${formatBytes(x.anonBytes)}${delta(x.anonBytes, s.first.anonBytes)}`);
  // A per-process sample (it has rssBytes) sees mapped files only, not the page cache.
  const files = x.rssBytes !== undefined ? 'mapped files' : 'cache';
  if (x.fileBytes !== undefined) parts.push(`${files} ${formatBytes(x.fileBytes)}${delta(x.fileBytes, s.first.fileBytes)}`);
  if (x.shmemBytes !== undefined) parts.push(`shmem ${formatBytes(x.shmemBytes)}${delta(x.shmemBytes, s.first.shmemBytes)}`);
  if (x.go) parts.push(`go heap ${formatBytes(x.go.heapInuseBytes)}${delta(x.go.heapInuseBytes, s.first.go?.heapInuseBytes)}`);
  let verdictLine: string;
  const v = s.verdict;
  if (v === undefined) verdictLine = dim('verdict so far: (waiting for samples)');
  else if ('note' in v) verdictLine = dim(`verdict so far: ${v.note}`);
  else verdictLine = `verdict so far: ${style([COLOUR[v.verdict], 'bold'], `${v.verdict}${v.leakSource ? `/${v.leakSource}` : ''}`)}  ${dim(v.explanation)}`;
  return [
    `${bold('memaudit')} ${s.title}  ${formatDuration(s.elapsedSeconds)} / ${formatDuration(s.durationSeconds)}  ${dim(shortenPaths(s.source))}`,
    '  ' + parts.join('   '),
    '  ' + verdictLine,
  ];
}

/** "/sys/fs/cgroup/memory/a/b/memaudit-run-1-ab" -> "…/memaudit-run-1-ab": the block has one line per item. */
function shortenPaths(text: string): string {
  return text.replace(/\/[^\s()]*\/([^\s/()]+)/g, (whole, last: string) => (whole.length > 40 ? `…/${last}` : whole));
}

export function plainLine(s: LiveStatus): string {
  const x = s.sample;
  const f = (b: number) => formatBytes(b).replace(' ', '');
  const parts = [`[${formatDuration(s.elapsedSeconds)}/${formatDuration(s.durationSeconds)}]`, `usage=${f(x.usageBytes)}`];
  if (x.limitBytes !== undefined) parts.push(`limit=${f(x.limitBytes)}`);
  if (x.anonBytes !== undefined) parts.push(`anon=${f(x.anonBytes)}`);
  if (x.fileBytes !== undefined) parts.push(`${x.rssBytes !== undefined ? 'mapped' : 'cache'}=${f(x.fileBytes)}`);
  if (x.shmemBytes !== undefined) parts.push(`shmem=${f(x.shmemBytes)}`);
  if (x.go) parts.push(`goheap=${f(x.go.heapInuseBytes)}`);
  const v = s.verdict;
  if (v && !('note' in v)) parts.push(`verdict=${v.verdict}${v.leakSource ? `/${v.leakSource}` : ''}`);
  return parts.join(' ');
}
