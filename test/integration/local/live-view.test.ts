import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { styleText } from 'node:util';
import { blockLines, LiveView, plainLine } from '../../../src/report/live.ts';
import type { LiveStatus } from '../../../src/report/live.ts';
import type { Style } from '../../../src/report/style.ts';
import { MEMAUDIT, REPO } from './helpers.ts';

// The live view: in place on a terminal (checked on a real pseudo-terminal with script(1)),
// plain periodic lines elsewhere.

const MiB = 1024 * 1024;

/** Styles whatever the stream: what styleText does on a colour terminal. */
const ALWAYS: Style = (format, text) => styleText(format, text, { validateStream: false });

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const status = (elapsedSeconds: number, usageMiB: number): LiveStatus => ({
  title: 'node examples/file-writer.js',
  source: 'cgroup v1 /sys/fs/cgroup/memory/a/b/memaudit-run-1-ab12',
  elapsedSeconds,
  durationSeconds: 60,
  first: { timestampMs: 0, usageBytes: MiB, anonBytes: MiB, fileBytes: 0, shmemBytes: 0 },
  sample: { timestampMs: elapsedSeconds * 1000, usageBytes: usageMiB * MiB, anonBytes: 9 * MiB, fileBytes: (usageMiB - 9) * MiB, shmemBytes: 0 },
  verdict: elapsedSeconds < 30 ? { note: 'collecting: 12s of data (at least 30s needed)' } : { verdict: 'CacheGrowth', leakSource: null, explanation: 'Not a leak.' },
});

test('on a terminal: a three-line block redrawn in place; text written above it scrolls by', () => {
  const out = new Capture();
  const above = new Capture();
  const view = new LiveView(out, { tty: true, above, columns: () => 200, style: ALWAYS });
  view.update(status(1, 12));
  expect(out.text.split('\n')).toHaveLength(4);
  expect(out.text).toContain('usage \x1b[1m12.0 MiB');
  view.update(status(2, 14));
  // Cursor up three lines, clear to the end, then the new block.
  expect(out.text).toContain('\x1b[3A\r\x1b[J');
  view.write('partial ');
  expect(above.text).toBe('');
  view.write('line\nnext');
  expect(above.text).toBe('partial line\n');
  view.update(status(31, 70));
  expect(out.text).toContain('CacheGrowth');
  view.close();
  expect(above.text).toBe('partial line\nnext\n');
  // The block is erased at the end, so the report stands alone.
  expect(out.text.endsWith('\x1b[3A\r\x1b[J')).toBe(true);
});

test("a verdict in the verdict's colour, bold: a Leak red, CacheGrowth cyan; nothing styled with the plain style", () => {
  const leak = { ...status(40, 70), verdict: { verdict: 'Leak', leakSource: 'heap', explanation: 'Leak in the Go heap.' } } as const;
  expect(blockLines(leak, ALWAYS)[2]).toBe('  verdict so far: \x1b[31m\x1b[1mLeak/heap\x1b[22m\x1b[39m  \x1b[2mLeak in the Go heap.\x1b[22m');
  expect(blockLines(status(40, 70), ALWAYS)[2]).toContain('\x1b[36m\x1b[1mCacheGrowth');
  expect(blockLines(leak).join('\n')).not.toContain('\x1b');
});

test('lines are cut to the terminal width, colours dropped where cut', () => {
  const out = new Capture();
  const view = new LiveView(out, { tty: true, columns: () => 40, style: ALWAYS });
  view.update(status(1, 12));
  for (const line of out.text.split('\n').filter(Boolean)) expect(line.replace(/\x1b\[[0-9;]*[mAJ]|\r/g, '').length).toBeLessThanOrEqual(39); // eslint-disable-line no-control-regex
});

test('elsewhere: one plain line every period, and the last one', () => {
  const out = new Capture();
  const view = new LiveView(out, { tty: false, plainEverySeconds: 10 });
  for (let t = 0; t <= 60; t++) view.update(status(t, 10 + t));
  const lines = out.text.trim().split('\n');
  expect(lines).toHaveLength(7);
  expect(lines[0]).toBe('[0s/60s] usage=10.0MiB anon=9.0MiB cache=1.0MiB shmem=0B');
  expect(lines[6]).toBe('[60s/60s] usage=70.0MiB anon=9.0MiB cache=61.0MiB shmem=0B verdict=CacheGrowth');
  expect(out.text).not.toContain('\x1b');
});

test('per-process samples say "mapped", not "cache"', () => {
  const s = status(1, 12);
  s.sample = { timestampMs: 1000, usageBytes: 12 * MiB, rssBytes: 12 * MiB, anonBytes: 9 * MiB, fileBytes: 3 * MiB, shmemBytes: 0 };
  expect(plainLine(s)).toBe('[1s/60s] usage=12.0MiB anon=9.0MiB mapped=3.0MiB shmem=0B');
});

/** `memaudit run ARGS -- node examples/file-writer.js` on a real pseudo-terminal (script(1), util-linux). */
function onTerminal(args: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const base = { ...process.env };
  // Node's colour-depth guess (tty.WriteStream.getColorDepth) turns colours off for a terminal when
  // CI is set (as CI runners set it) and changes them under TMUX or TeamCity: this test decides the
  // environment itself, so it behaves the same on a developer's machine and in CI.
  for (const k of ['NO_COLOR', 'FORCE_COLOR', 'NODE_DISABLE_COLORS', 'CI', 'TEAMCITY_VERSION', 'TMUX', 'COLORTERM', 'TERM_PROGRAM']) delete base[k];
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', `${MEMAUDIT} run --duration 3s ${args} -- node examples/file-writer.js`, '/dev/null'], { cwd: REPO, encoding: 'utf8', timeout: 60_000, env: { ...base, TERM: 'xterm-256color', ...env } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

// Any SGR (colour, bold, dim): NO_COLOR takes them all away, as styleText does.
const SGR = /\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex

test('memaudit run on a real pseudo-terminal redraws in place and ends with the report alone; NO_COLOR and --no-color drop the colours', async () => {
  const [coloured, noColor, flag] = await Promise.all([onTerminal(''), onTerminal('', { NO_COLOR: '1' }), onTerminal('--no-color')]);
  for (const out of [coloured, noColor, flag]) {
    expect(out).toContain('\x1b[3A\r\x1b[J');
    expect(out).toContain('file-writer: saving');
    const afterBlock = out.slice(out.lastIndexOf('\x1b[J') + 3);
    expect(afterBlock).toMatch(/^memaudit: \d+ samples over/);
    expect(afterBlock).toMatch(/memaudit: process node examples\/file-writer.js: InsufficientData/);
  }
  expect(coloured).toMatch(/usage \x1b\[1m[\d.]+ MiB/); // eslint-disable-line no-control-regex
  expect(coloured).toMatch(/\x1b\[2mverdict so far: collecting/); // eslint-disable-line no-control-regex
  for (const out of [noColor, flag]) {
    expect(out).toMatch(/usage [\d.]+ MiB/);
    expect(out).not.toMatch(SGR);
  }
}, 90_000);
