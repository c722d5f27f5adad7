import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderText } from '../../../src/report/text.ts';
import { dockerStatsCase, traceCase, type Case } from './cases.ts';

// Whole text reports compared with golden files. They change only on purpose:
//   UPDATE_GOLDEN=1 npx jest test/unit/report/text.test.ts
// rewrites them; review the diff like code.
const GOLDEN = path.join(import.meta.dirname, 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

const CASES: [string, () => Case | Promise<Case>][] = [
  ['pagecache-limit64m', () => dockerStatsCase('pagecache-limit64m')],
  ['heap-leak-limit256m', () => traceCase('heap-leak', { profiles: 3, limitMiB: 256 })],
  ['py-oom-restart', () => traceCase('py-oom-restart')],
  ['py-batch', () => traceCase('py-batch')],
  ['warmup-plateau', () => traceCase('warmup-plateau')],
  ['tmpfs-growth', () => traceCase('tmpfs-growth')],
  ['idle-5-samples', () => traceCase('idle', { first: 5 })],
  ['idle-1-sample', () => traceCase('idle', { first: 1 })],
];

describe('the text report, whole (golden files)', () => {
  it.each(CASES)('%s', async (name, load) => {
    const c = await load();
    const text = renderText(c.result, c.target);
    const file = path.join(GOLDEN, `${name}.txt`);
    if (update) writeFileSync(file, text);
    else if (!existsSync(file)) throw new Error(`no golden file ${file}: run with UPDATE_GOLDEN=1 and review it`);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });
});

describe('the text report reads its numbers', () => {
  it('labels the trend and the change apart, says when growth is within noise, and agrees with itself on the time to limit', async () => {
    const page = renderText(dockerStatsCase('pagecache-limit64m').result);
    expect(page).toMatch(/component +first +last +first -> last +trend over the window +R²/);
    // The usage row: +55.3 MiB from first to last, a robust trend of +1.2 MiB/h over the window.
    expect(page).toMatch(/usage +8\.7 MiB +63\.9 MiB +\+55\.3 MiB +\+1\.2 MiB\/h/);
    expect(page).toContain('non-reclaimable memory: flat within noise: +15.3 MiB/h since 54s into the window');
    expect(page).not.toMatch(/: flat, [+-]/);

    const oom = renderText((await traceCase('py-oom-restart')).result);
    expect(oom).toContain('time to limit: reached in this window (2 OOM kills at the limit)');
    expect(oom).toContain('(limit reached in this window)');
    expect(oom).not.toMatch(/time to limit: 0s|reached in 1s|restart\(s\)/);
    expect(oom).toContain('analysed: the run from 0s to 84s (43 samples); 2 restarts at 86s and 3m (OOM kills at the limit)');
    expect(oom).toMatch(/component +first +last +first -> last +trend over the run/);
  });

  it('counts in words: 1 sample, 2 restarts', async () => {
    const one = renderText((await traceCase('idle', { first: 1 })).result);
    expect(one).toContain('1 sample;');
    expect(one).toContain('Not enough data for a verdict yet: 1 sample (at least 10 needed).');
    expect(one).not.toMatch(/\b1 samples\b/);
  });

  it('names the container from the data, and prints control characters from the input as escapes', () => {
    const c = dockerStatsCase('pagecache-limit64m');
    expect(renderText(c.result, c.target)).toMatch(/^memaudit: container memaudit-rec-pagecache-limit64m: CacheGrowth\n/);
    const evil = renderText({ ...c.result, evidence: ['a\x1b[2Jb'] }, { kind: 'container', name: 'web\x1b]0;pwned\x07' });
    expect(evil).toContain('container web\\x1b]0;pwned\\x07');
    expect(evil).toContain('a\\x1b[2Jb');
    expect(evil).not.toContain('\x1b');
  });
});
