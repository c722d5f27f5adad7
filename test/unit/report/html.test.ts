import { readFileSync } from 'node:fs';
import path from 'node:path';
import { audit } from '../../../src/analysis/audit.ts';
import { GiB, MiB } from '../../../src/model/units.ts';
import { renderHtml, type ReportContext } from '../../../src/report/html.ts';
import { parseCgroupRecording } from '../../../src/sources/cgroup-recording.ts';
import { dockerStatsCase, traceCase, type Case } from './cases.ts';

// A fixed clock and version: the footer is part of what is tested.
const context = (c: Case): ReportContext => ({ version: '9.8.7', argv: c.argv, generatedAtMs: Date.UTC(2026, 10, 30, 12, 0, 0) });
const render = (c: Case) => renderHtml(c.result, c.samples, c.target, context(c));

/** The two drawings of the chart (wide, narrow), each as its own string. */
const charts = (page: string) => [...page.matchAll(/<svg class="chart (wide|narrow)"[\s\S]*?<\/svg>/g)].map((m) => ({ layout: m[1]!, svg: m[0] }));
const attrs = (svg: string, name: string) => [...svg.matchAll(new RegExp(`${name}="([^"]*)"`, 'g'))].map((m) => m[1]!);
const tickLabels = (svg: string) => [...svg.matchAll(/class="tick">([^<]*)</g)].map((m) => m[1]!);

describe('the HTML report (analyze -o html)', () => {
  it('is one self-contained page: no script, nothing fetched, readable on a phone', () => {
    for (const c of [dockerStatsCase('pagecache-limit64m'), dockerStatsCase('shm-growth')]) {
      const page = render(c);
      expect(page).toMatch(/^<!doctype html>/);
      expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(page).not.toMatch(/<script|<link|<iframe|<img|<object|<embed|\ssrc=|\shref=|@import|https?:\/\//i);
      // url() only for the page's own patterns.
      for (const m of page.matchAll(/url\(([^)]*)\)/g)) expect(m[1]).toMatch(/^#[\w-]+$/);
    }
  });

  it('page cache: the verdict, the limit now beside the recommended one, the chart with the limit on top of the lines', () => {
    const page = render(dockerStatsCase('pagecache-limit64m'));
    expect(page).toContain('<title>memaudit: container memaudit-rec-pagecache-limit64m: CacheGrowth</title>');
    expect(page).toMatch(/<h1><span class="v">CacheGrowth<\/span> <span class="gloss">page cache the kernel reclaims: not a leak<\/span><\/h1>/);
    expect(page).toMatch(/<p class="lead">Not a leak: usage sits at the 64\.0 MiB limit/);
    expect(page).toMatch(
      /data-fact="limit-now"><h2>limit now<\/h2><p class="big">64\.0 MiB<\/p>[\s\S]*?<\/div>\n<div class="card" data-fact="recommended"><h2>recommended limit<\/h2><p class="big">16\.0 MiB<\/p>/,
    );
    expect(page).toMatch(/data-fact="time-to-limit"><h2>time to limit<\/h2><p class="big">none on this trend<\/p>/);

    const drawn = charts(page);
    expect(drawn.map((d) => d.layout)).toEqual(['wide', 'narrow']);
    for (const { svg } of drawn) {
      // usage, non-reclaimable, reclaimable cache, shmem (8 KiB at the end), kernel; no Go heap (no runtime data).
      expect([...new Set(attrs(svg, 'data-component'))]).toEqual(['usage', 'nonReclaimable', 'reclaimableFile', 'shmem', 'kernel']);
      // Usage drawn first and widest, so a line on top of it leaves it visible.
      expect(svg).toMatch(/<polyline data-component="usage" fill="none" stroke="#a3acb5" stroke-width="7"/);
      // The limit after every line (on top), and the recommended limit; round ticks with units.
      expect(attrs(svg, 'data-limit')).toEqual([String(64 * MiB)]);
      expect(svg.lastIndexOf('<polyline')).toBeLessThan(svg.indexOf('data-limit='));
      expect(attrs(svg, 'data-recommended')).toEqual([String(16 * MiB)]);
      expect(tickLabels(svg).slice(0, 5)).toEqual(['0', '20 MiB', '40 MiB', '60 MiB', '80 MiB']);
      expect(svg).toContain('>memory</text>');
      expect(svg).toContain('>time since the first sample (');
      // No restarts, no gaps, no projection (not a leak), the whole window analysed: nothing shaded.
      expect(svg).not.toMatch(/data-restart|data-gap|data-projection|data-analysed-run/);
    }
    // Minutes on the time axis of the wide chart.
    expect(tickLabels(drawn[0]!.svg).slice(5)).toEqual(['0', '30s', '1m', '1m30s', '2m', '2m30s', '3m', '3m30s']);
    // Names at the ends of the lines in the wide chart; the legend names everything in both.
    expect(drawn[0]!.svg).toMatch(/<g class="end-label">.*>limit 64 MiB<\/text><\/g>/);
    expect(page).toMatch(/<ul class="legend">[\s\S]*usage \(wide grey\)[\s\S]*limit now[\s\S]*recommended limit[\s\S]*<\/ul>/);
  });

  it('heap leak under a limit: the trend projected to the limit with the time to OOM, the growing function', async () => {
    const c = await traceCase('heap-leak', { profiles: 3, limitMiB: 256 });
    const page = render(c);
    expect(page).toMatch(/<span class="v">Leak \(heap\)<\/span> <span class="gloss">a leak in the Go heap<\/span>/);
    expect(page).toMatch(/data-fact="time-to-limit"><h2>time to limit<\/h2><p class="big">about 3m<\/p>/);
    for (const { svg } of charts(page)) {
      expect(attrs(svg, 'data-projection')).toHaveLength(1);
      expect(Number(attrs(svg, 'data-projection')[0])).toBeCloseTo(c.result.timeToLimitSeconds!, 0);
      // It reaches the limit inside the chart: an OOM mark, with the same time as the card.
      expect(svg).toContain('>OOM in about 3m</text>');
      expect(attrs(svg, 'data-limit')).toEqual([String(256 * MiB)]);
      expect(attrs(svg, 'data-component')).toContain('goHeap');
    }
    expect(page).toContain('<li><code>main.retainRequest</code> +60.4 MiB in use');
    expect(page).toMatch(/<p class="warning"><strong>Warning:<\/strong> Do not raise the limit: this is a leak \(limit reached in 3m\)/);
  });

  it('OOM restarts: the restarts marked, the analysed run shaded, the table says it is the run, the time to limit is "reached"', async () => {
    const c = await traceCase('py-oom-restart');
    const page = render(c);
    for (const { svg } of charts(page)) {
      expect(attrs(svg, 'data-restart')).toEqual(['atLimit', 'atLimit']);
      expect(svg.match(/>OOM kill<\/text>/g)).toHaveLength(2);
      expect(attrs(svg, 'data-analysed-run')).toEqual(['0.0-84.0']);
      expect(svg).toContain('>analysed run</text>');
      expect(attrs(svg, 'data-limit')).toEqual([String(96 * MiB)]);
      expect(svg).not.toContain('data-projection');
    }
    expect(page).toMatch(/data-fact="time-to-limit"><h2>time to limit<\/h2><p class="big">reached in this window<\/p><p class="sub">2 OOM kills at the limit<\/p>/);
    expect(page).toContain('<p class="note">Over the analysed run, 0s to 84s of the window.</p>');
    expect(page).toContain('<th>trend over the run</th>');
    expect(page).toContain('2 restarts at 86s and 3m (OOM kills at the limit)</li>');
    expect(page).not.toMatch(/restart\(s\)|limit reached in 1s/);
  });

  it('the footer: version, the command line as given (escaped), when it was made', () => {
    const c = dockerStatsCase('pagecache-limit64m');
    const page = renderHtml(c.result, c.samples, c.target, { version: '9.8.7', argv: ['analyze', '--docker-stats', "it's <here>.jsonl", '-o', 'html'], generatedAtMs: Date.UTC(2026, 10, 30, 12, 0, 0) });
    expect(page).toMatch(
      /<footer>\n<p>Made by <strong>memaudit 9\.8\.7<\/strong> on <time datetime="2026-11-30T12:00:00\.000Z">2026-11-30 12:00:00 UTC<\/time> from:<\/p>\n<p><code class="command">memaudit analyze --docker-stats &#39;it&#39;\\&#39;&#39;s &lt;here&gt;\.jsonl&#39; -o html<\/code><\/p>\n<\/footer>/,
    );
  });

  it('a gap in sampling breaks the lines and is marked', () => {
    const file = path.resolve(import.meta.dirname, '../../fixtures/traces/idle/trace.jsonl');
    const base = parseCgroupRecording(readFileSync(file, 'utf8'), file).samples;
    const half = Math.floor(base.length / 2);
    const samples = base.map((s, i) => (i < half ? s : { ...s, timestampMs: s.timestampMs + 20 * 60_000 }));
    const result = audit(samples);
    expect(result.window.gaps).toHaveLength(1);
    const page = renderHtml(result, samples, undefined, { version: '1', argv: [], generatedAtMs: 0 });
    for (const { svg } of charts(page)) {
      expect(attrs(svg, 'data-gap')).toHaveLength(1);
      // Two pieces of the usage line, one each side of the gap.
      expect(svg.match(/<polyline data-component="usage"/g)).toHaveLength(2);
    }
    expect(page).toContain('no samples for 20m</text>');
  });

  it('names each line at its end, beside it: labels crowded at the bottom do not push a lone one away from its line', async () => {
    // py-batch: four series end near 0, the recommended limit alone at 156 MiB.
    const c = await traceCase('py-batch');
    const wide = charts(render(c))[0]!.svg;
    const lineY = Number(/<line data-recommended="\d+" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/.exec(wide)![1]);
    const labelY = Number(/<text x="[\d.]+" y="([\d.]+)" dominant-baseline="middle" style="[^"]*">recommended 156 MiB<\/text>/.exec(wide)![1]);
    expect(labelY).toBeCloseTo(lineY, 0);
    const ends = [...wide.matchAll(/<g class="end-label">.*?<text x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1]));
    // No two closer than a line of text (13 px + 3).
    const sorted = [...ends].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(15.9);
  });

  it('a limit far above the data is still shown, off the scale', () => {
    const c = dockerStatsCase('pagecache-limit64m');
    const page = renderHtml({ ...c.result, limitBytes: 64 * GiB }, c.samples, c.target, context(c));
    for (const { svg } of charts(page)) {
      expect(svg).toContain('data-limit="off-scale"');
      expect(svg).toContain('limit 64.00 GiB, far above the scale</text>');
    }
  });

  it('draws at most 900 points a line, whatever the window', () => {
    const file = path.resolve(import.meta.dirname, '../../fixtures/traces/idle/trace.jsonl');
    const base = parseCgroupRecording(readFileSync(file, 'utf8'), file).samples;
    const many = Array.from({ length: 20 }, (_, k) => base.map((s) => ({ ...s, timestampMs: s.timestampMs + k * 1_000_000 }))).flat();
    const page = renderHtml(audit(many), many, undefined, { version: '1', argv: [], generatedAtMs: 0 });
    expect(many.length).toBeGreaterThan(1800);
    for (const m of page.matchAll(/<polyline data-component="usage"[^>]* points="([^"]*)"/g)) expect(m[1]!.split(' ').length).toBeLessThanOrEqual(901);
  });

  it('escapes what comes from the data, control characters included', () => {
    const c = dockerStatsCase('pagecache-limit64m');
    const evil = { ...c.result, evidence: ['<img src=x onerror=alert(1)> & "quotes"'], topGrowingFunctions: [{ function: 'main.<lambda>\x1b[31m', firstInuseBytes: 0, lastInuseBytes: 1, growthBytes: 1, cumulativeGrowthBytes: 1 }] };
    const page = renderHtml(evil, c.samples, { kind: 'file', name: '<b>evil</b>\u202e.jsonl' }, context(c));
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;');
    expect(page).toContain('file &lt;b&gt;evil&lt;/b&gt;\\u{202e}.jsonl');
    expect(page).toContain('<code>main.&lt;lambda&gt;\\x1b[31m</code>');
    expect(page).not.toMatch(/<img|<b>/);
    expect(page).not.toContain('\x1b');
    expect(page).not.toContain('\u202e');
  });

  it('InsufficientData: no chart to draw, no time to limit, still the footer', async () => {
    const c = await traceCase('idle', { first: 1 });
    const page = render(c);
    expect(charts(page)).toEqual([]);
    expect(page).toContain('<p>1 sample: nothing to draw.</p>');
    expect(page).not.toContain('<div class="card" data-fact="time-to-limit"');
    expect(page).toContain('memaudit 9.8.7');
  });
});
