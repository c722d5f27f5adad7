import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderHtml } from '../../../src/report/html.ts';
import { dockerStatsCase, traceCase, type Case } from '../../unit/report/cases.ts';

/**
 * The HTML report as a browser lays it out: Debian's headless Chromium (hack/install-deps.sh
 * installs it) opens the page-cache, heap-leak and OOM-restart reports at 1280 and 400 px and a
 * script measures the elements (not pixels): which chart is shown, that nothing overflows the page
 * or the chart, the smallest text, that the limit line is on top, the restart markers, the footer.
 *
 * The measuring script is added to a copy of each report here; the report itself has none. Each
 * copy runs in an iframe of the width under test, so the width is exact (a headless window is at
 * least 500 px wide), and one Chromium run measures all six.
 */
const WIDTHS = [1280, 400] as const;
/** Debian's package (apt-get install -y chromium). */
const CHROMIUM = '/usr/bin/chromium';
const CONTEXT = { version: '9.8.7', generatedAtMs: Date.UTC(2026, 10, 30, 12, 0, 0) };

// Runs inside each report's iframe; writes what it measured into the parent page, which
// `chromium --dump-dom` prints.
const MEASURE = `<script>
(() => {
  const box = (el) => { const b = el.getBoundingClientRect(); return { left: b.left, top: b.top, right: b.right, bottom: b.bottom, width: b.width, height: b.height }; };
  const shown = (el) => { const b = el.getBoundingClientRect(); return getComputedStyle(el).display !== 'none' && getComputedStyle(el).visibility !== 'hidden' && b.width > 0 && b.height > 0; };
  const svg = [...document.querySelectorAll('svg.chart')].filter((s) => shown(s));
  const chart = svg[0];
  const out = { width: innerWidth, pageOverflow: document.documentElement.scrollWidth - innerWidth, charts: svg.map((s) => s.getAttribute('class')) };
  // The smallest text a person has to read, in CSS px: SVG text scales with the drawing.
  const texts = [...document.body.querySelectorAll('h1, h2, p, li, td, th, code, span, time, strong')].filter((e) => shown(e) && e.textContent.trim() && !e.closest('svg'));
  out.minPageFontPx = Math.min(...texts.map((e) => parseFloat(getComputedStyle(e).fontSize)));
  out.verdict = { text: document.querySelector('h1 .v').textContent, box: box(document.querySelector('h1 .v')) };
  const footer = document.querySelector('footer');
  out.footer = { text: footer.textContent.replace(/\\s+/g, ' ').trim(), box: box(footer) };
  out.facts = [...document.querySelectorAll('.facts .card')].map((c) => ({ fact: c.dataset.fact, big: c.querySelector('.big').textContent, box: box(c) }));
  if (chart) {
    const scale = chart.getBoundingClientRect().width / chart.viewBox.baseVal.width;
    const svgBox = box(chart);
    const labels = [...chart.querySelectorAll('text')].filter((t) => t.textContent.trim());
    out.minChartFontPx = Math.min(...labels.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale));
    // Every label inside the drawing, and no two overlapping.
    const rects = labels.map((t) => ({ text: t.textContent, b: t.getBoundingClientRect() }));
    out.clipped = rects.filter(({ b }) => b.left < svgBox.left - 0.5 || b.right > svgBox.right + 0.5 || b.top < svgBox.top - 0.5 || b.bottom > svgBox.bottom + 0.5).map((r) => r.text);
    out.overlaps = [];
    for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i].b, c = rects[j].b;
        const w = Math.min(a.right, c.right) - Math.max(a.left, c.left), h = Math.min(a.bottom, c.bottom) - Math.max(a.top, c.top);
        if (w > 1 && h > 1) out.overlaps.push(rects[i].text + ' / ' + rects[j].text);
      }
    out.ticks = [...chart.querySelectorAll('text.tick')].map((t) => t.textContent);
    // The limit line: what a point on it shows, along its length (a dashed line shows what is
    // beneath it in its gaps, so most points, not all, must be the line itself).
    const limit = chart.querySelector('line[data-limit]');
    if (limit) {
      const b = limit.getBoundingClientRect();
      let onTop = 0;
      const n = 200;
      for (let k = 0; k < n; k++) {
        const e = document.elementFromPoint(b.left + ((k + 0.5) / n) * b.width, b.top + b.height / 2);
        if (e === limit) onTop++;
      }
      out.limit = { onTopShare: onTop / n, box: box(limit), insideChart: b.top >= svgBox.top && b.bottom <= svgBox.bottom };
    }
    out.restarts = [...chart.querySelectorAll('[data-restart]')].map((g) => ({ cause: g.dataset.restart, box: box(g) }));
    const run = chart.querySelector('[data-analysed-run]');
    out.analysedRun = run ? box(run) : null;
    const projection = chart.querySelector('[data-projection]');
    out.projection = projection ? { text: projection.textContent, box: box(projection) } : null;
  }
  parent.document.getElementById('out-' + frameElement.dataset.name).textContent = JSON.stringify(out);
})();
</script>`;

interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
  width: number;
  height: number;
}
interface Measured {
  width: number;
  pageOverflow: number;
  charts: string[];
  minPageFontPx: number;
  minChartFontPx: number;
  verdict: { text: string; box: Box };
  footer: { text: string; box: Box };
  facts: { fact: string; big: string; box: Box }[];
  clipped: string[];
  overlaps: string[];
  ticks: string[];
  limit?: { onTopShare: number; box: Box; insideChart: boolean };
  restarts: { cause: string; box: Box }[];
  analysedRun: Box | null;
  projection: { text: string; box: Box } | null;
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

function chromium(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${CHROMIUM} failed (hack/install-deps.sh installs it): ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

let measured: Record<string, Measured>;
const CASES: Record<string, () => Case | Promise<Case>> = {
  pagecache: () => dockerStatsCase('pagecache-limit64m'),
  'heap-leak': () => traceCase('heap-leak', { profiles: 3, limitMiB: 256 }),
  'oom-restart': () => traceCase('py-oom-restart'),
};

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'memaudit-layout-'));
  try {
    let frames = '';
    for (const [name, load] of Object.entries(CASES)) {
      const c = await load();
      const page = renderHtml(c.result, c.samples, c.target, { ...CONTEXT, argv: c.argv }).replace('</body>', `${MEASURE}</body>`);
      // Tall enough for the whole report: no scrollbar takes width, every element is in the viewport.
      for (const w of WIDTHS) frames += `<pre id="out-${name}-${w}"></pre><iframe data-name="${name}-${w}" style="width:${w}px;height:9000px;border:0;display:block" srcdoc="${attr(page)}"></iframe>\n`;
    }
    const harness = path.join(dir, 'harness.html');
    writeFileSync(harness, `<!doctype html><html><body style="margin:0">\n${frames}</body></html>`);
    const dom = await chromium([
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${path.join(dir, 'profile')}`,
      '--window-size=1400,1000',
      '--dump-dom',
      `file://${harness}`,
    ]);
    measured = {};
    for (const m of dom.matchAll(/<pre id="out-([\w-]+)">([^<]*)<\/pre>/g)) {
      if (m[2]) measured[m[1]!] = JSON.parse(m[2].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Measured;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

describe.each(WIDTHS)('the HTML report in Chromium at %i px', (width) => {
  const get = (name: string) => {
    const m = measured[`${name}-${width}`];
    if (!m) throw new Error(`no measurements for ${name} at ${width} px: ${Object.keys(measured).join(', ')}`);
    return m;
  };

  it.each(Object.keys(CASES))('%s: fits the width, one chart for it, text large enough, no label cut or overlapping', (name) => {
    const m = get(name);
    expect(m.width).toBe(width);
    expect(m.pageOverflow).toBeLessThanOrEqual(0);
    expect(m.charts).toEqual([`chart ${width >= 1000 ? 'wide' : 'narrow'}`]);
    expect(m.minPageFontPx).toBeGreaterThanOrEqual(11);
    expect(m.minChartFontPx).toBeGreaterThanOrEqual(11);
    expect(m.clipped).toEqual([]);
    expect(m.overlaps).toEqual([]);
    // The verdict and the numbers to act on are at the top, inside the width.
    expect(m.verdict.box.right).toBeLessThanOrEqual(width);
    expect(m.facts.map((f) => f.fact).slice(0, 2)).toEqual(['limit-now', 'recommended']);
    for (const f of m.facts) expect(f.box.right).toBeLessThanOrEqual(width);
    // Side by side: the limit now and the recommended one on one row, at both widths.
    expect(m.facts[1]!.box.top).toBe(m.facts[0]!.box.top);
    expect(m.footer.box.right).toBeLessThanOrEqual(width);
    expect(m.footer.text).toMatch(/^Made by memaudit 9\.8\.7 on 2026-11-30 12:00:00 UTC from: memaudit analyze --/);
  });

  it('page cache: CacheGrowth, the limit line on top of usage running along it, round ticks', () => {
    const m = get('pagecache');
    expect(m.verdict.text).toBe('CacheGrowth');
    expect(m.limit!.insideChart).toBe(true);
    expect(m.limit!.onTopShare).toBeGreaterThanOrEqual(0.5);
    expect(m.ticks).toEqual(expect.arrayContaining(['0', '20 MiB', '40 MiB', '60 MiB', '80 MiB', '1m', '2m', '3m']));
    expect(m.restarts).toEqual([]);
    expect(m.projection).toBeNull();
  });

  it('heap leak: the trend projected to the limit, with the time to OOM', () => {
    const m = get('heap-leak');
    expect(m.verdict.text).toBe('Leak (heap)');
    expect(m.limit!.onTopShare).toBeGreaterThanOrEqual(0.5);
    expect(m.projection!.text).toContain('OOM in about 3m');
    expect(m.facts.find((f) => f.fact === 'time-to-limit')!.big).toBe('about 3m');
  });

  it('OOM restarts: two restart markers inside the chart, the analysed run shaded, the limit on top', () => {
    const m = get('oom-restart');
    expect(m.verdict.text).toBe('Leak (anon)');
    expect(m.restarts.map((r) => r.cause)).toEqual(['atLimit', 'atLimit']);
    for (const r of m.restarts) {
      expect(r.box.height).toBeGreaterThan(100);
      expect(r.box.right).toBeLessThanOrEqual(width);
    }
    expect(m.analysedRun!.width).toBeGreaterThan(50);
    expect(m.limit!.onTopShare).toBeGreaterThanOrEqual(0.5);
    expect(m.facts.find((f) => f.fact === 'time-to-limit')!.big).toBe('reached in this window');
  });
});
