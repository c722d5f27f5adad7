// A one-file HTML report (`memaudit analyze -o html > report.html`): the verdict and its
// explanation, the numbers that matter at a glance (the limit now and the one to set, the time to
// the limit), a chart of the components over the window, the growth table, the growing functions,
// the evidence, the limits to set, and a footer saying which memaudit made it, how and when.
// Self-contained (inline SVG and CSS, no script, nothing fetched), so it can be attached to a
// ticket or kept as a CI artifact; it reads at 1280 px and on a phone (docs/img/report-*.png).
import { counted } from '../analysis/explain.ts';
import type { MemorySample, TargetRef } from '../model/sample.ts';
import { formatBytes, formatDuration, formatRate } from '../model/units.ts';
import type { AuditResult, LeakSource, Verdict } from '../model/verdict.ts';
import { chartedSeries, NARROW, projection, renderChart, swatchFor, WIDE } from './chart.ts';
import { commandLine, html } from './escape.ts';
import { COMPONENT_LABEL, COMPONENT_ORDER } from './labels.ts';
import { analysedRun, growthColumns, growthNote, restartsText, targetTitle, timeToLimit, utcTime, verdictText } from './reading.ts';

/** What the report says about its own making (the footer). */
export interface ReportContext {
  /** memaudit's version (package.json), read once by the CLI. */
  version: string;
  /** The command line as given, without the program name: ['analyze', '--cgroup', 'r.jsonl', '-o', 'html']. */
  argv: readonly string[];
  /** When the report was made, ms since the epoch: the caller's clock (tests fix it). */
  generatedAtMs: number;
}

export function renderHtml(result: AuditResult, samples: readonly MemorySample[], target: TargetRef | undefined, context: ReportContext): string {
  const title = targetTitle(target);
  const verdict = verdictText(result);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>memaudit: ${html(title)}: ${html(verdict)}</title>
<style>
${CSS}
</style>
</head>
<body>
<header class="verdict-${result.verdict}">
<p class="kicker">memaudit report · ${html(title)}</p>
<h1><span class="v">${html(verdict)}</span> <span class="gloss">${html(gloss(result.verdict, result.leakSource))}</span></h1>
<p class="lead">${html(result.explanation)}</p>
</header>
${facts(result, samples)}
${chartSection(result, samples)}
${growthTable(result)}
${functions(result)}
${result.evidence.length ? `<section>\n<h2>Evidence</h2>\n<ul class="evidence">\n${result.evidence.map((e) => `<li>${html(e)}</li>`).join('\n')}\n</ul>\n</section>` : ''}
${limitsToSet(result)}
<footer>
<p>Made by <strong>memaudit ${html(context.version)}</strong> on <time datetime="${new Date(context.generatedAtMs).toISOString()}">${html(utcTime(context.generatedAtMs))}</time> from:</p>
<p><code class="command">memaudit ${html(commandLine(context.argv))}</code></p>
</footer>
</body>
</html>
`;
}

const VERDICT_GLOSS: Record<Exclude<Verdict, 'Leak'>, string> = {
  Stable: 'no memory grows',
  Plateau: 'growth stopped: not a leak',
  CacheGrowth: 'page cache the kernel reclaims: not a leak',
  InsufficientData: 'not enough data yet',
};
const LEAK_GLOSS: Record<LeakSource, string> = {
  heap: 'a leak in the Go heap',
  offHeap: 'a leak outside the Go heap',
  anon: 'a leak of anonymous memory',
  shmem: 'a leak in shared memory (tmpfs)',
  kernel: 'a leak of kernel memory',
};
const gloss = (v: Verdict, source: LeakSource | null) => (v === 'Leak' ? (source ? LEAK_GLOSS[source] : 'a leak') : VERDICT_GLOSS[v]);

function card(fact: string, heading: string, big: string, sub: string): string {
  return `<div class="card" data-fact="${fact}"><h2>${html(heading)}</h2><p class="big">${html(big)}</p><p class="sub">${html(sub)}</p></div>`;
}

/** The numbers to read first: the limit now beside the one to set, the time to the limit, the window. */
function facts(result: AuditResult, samples: readonly MemorySample[]): string {
  const r = result.recommendation;
  const limit = result.limitBytes;
  const last = [...samples].sort((a, b) => a.timestampMs - b.timestampMs).at(-1);
  const nowSub = limit === null ? 'no limit set' : last ? `usage ${formatBytes(last.usageBytes)} (${Math.round((last.usageBytes / limit) * 100)} %) at the last sample` : '';
  let recBig: string;
  let recSub: string;
  if (r.memoryLimitBytes === null) {
    recBig = 'none';
    recSub = result.verdict === 'Leak' ? 'fix the leak first: a limit only sets when it is killed' : 'not enough data yet';
  } else {
    recBig = formatBytes(r.memoryLimitBytes);
    recSub =
      result.verdict === 'Leak'
        ? r.memoryLimitBytes === limit
          ? 'kept: a higher limit only delays the OOM kill'
          : 'fits what was seen; fix the leak first'
        : `request ${formatBytes(r.memoryRequestBytes ?? 0)}${r.goMemLimit ? `, GOMEMLIMIT ${r.goMemLimit}` : ''}`;
  }
  const ttl = timeToLimit(result);
  const w = result.window;
  const run = analysedRun(result);
  const windowSub = `${counted(w.samples, 'sample')}${w.samples ? ` from ${utcTime(w.startMs)}` : ''}${run ? `; analysed: the run from ${formatDuration(run.fromSeconds)} to ${formatDuration(run.toSeconds)}` : ''}`;
  return `<section class="facts" aria-label="at a glance">
${card('limit-now', 'limit now', limit === null ? 'none' : formatBytes(limit), nowSub)}
${card('recommended', 'recommended limit', recBig, recSub)}
${ttl ? card('time-to-limit', 'time to limit', ttl.value, ttl.detail) : ''}
${card('window', 'window', formatDuration(w.durationSeconds), windowSub)}
</section>`;
}

function chartSection(result: AuditResult, samples: readonly MemorySample[]): string {
  if (samples.length < 2) return `<section><h2>Memory over the window</h2><p>${counted(samples.length, 'sample')}: nothing to draw.</p></section>`;
  const items: string[] = chartedSeries(samples).map((s) => legendItem(s.c, COMPONENT_LABEL[s.c] + (s.c === 'usage' ? ' (wide grey)' : '')));
  if (result.limitBytes !== null) items.push(legendItem('limit', 'limit now'));
  if (result.recommendation.memoryLimitBytes !== null && result.recommendation.memoryLimitBytes !== result.limitBytes) items.push(legendItem('recommended', 'recommended limit'));
  if (projection(result)) items.push(legendItem('projection', 'trend projected to the limit'));
  const restarts = restartsText(result);
  if (restarts) items.push(`<li><svg width="30" height="14" aria-hidden="true"><path d="M10,0 h10 l-5,7 z" fill="#5b2c6f"/><line x1="15" x2="15" y1="6" y2="14" stroke="#5b2c6f" stroke-width="1.5" stroke-dasharray="2 2"/></svg>${html(restarts)}</li>`);
  if (analysedRun(result)) items.push(`<li><svg width="30" height="14" aria-hidden="true"><rect width="30" height="14" fill="#fdf2d0" stroke="#e5d3a1"/></svg>analysed run</li>`);
  if (result.window.gaps?.length) items.push(`<li><svg width="30" height="14" aria-hidden="true"><rect width="30" height="14" fill="#eee" stroke="#c8c8c8" stroke-dasharray="3 2"/></svg>no samples (a gap: the lines break)</li>`);
  return `<section class="chart-box">
<h2>Memory over the window</h2>
${renderChart(result, samples, WIDE)}
${renderChart(result, samples, NARROW)}
<ul class="legend">
${items.join('\n')}
</ul>
</section>`;
}

function legendItem(what: string, text: string): string {
  const s = swatchFor(what);
  return `<li><svg width="30" height="14" aria-hidden="true"><line x1="1" x2="29" y1="7" y2="7" stroke="${s.color}" stroke-width="${Math.min(s.width, 5)}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} stroke-linecap="${s.cap}"/></svg>${html(text)}</li>`;
}

function growthTable(result: AuditResult): string {
  const rows = COMPONENT_ORDER.filter((c) => result.growth[c]);
  if (!rows.length) return '';
  const cols = growthColumns(result);
  const body = rows
    .map((c) => {
      const t = result.growth[c]!;
      const change = t.lastBytes - t.firstBytes;
      return `<tr><td>${html(COMPONENT_LABEL[c])}</td><td>${html(formatRate(t.slopeBytesPerHour))}</td><td>${change > 0 ? '+' : ''}${html(formatBytes(change))}</td><td>${html(formatBytes(t.firstBytes))}</td><td>${html(formatBytes(t.lastBytes))}</td><td class="r2">${t.r2.toFixed(2)}</td></tr>`;
    })
    .join('\n');
  return `<section>
<h2>Growth per component</h2>
<p class="note">Over ${html(cols.span)}.</p>
<div class="scroll"><table class="growth">
<thead><tr><th>component</th><th>${html(cols.trend)}</th><th>first → last</th><th>first</th><th>last</th><th class="r2">R²</th></tr></thead>
<tbody>
${body}
</tbody>
</table></div>
<p class="note">${html(growthNote(analysedRun(result) ? 'run' : 'window').replace(' -> ', ' → '))}</p>
</section>`;
}

function functions(result: AuditResult): string {
  if (!result.topGrowingFunctions.length) return '';
  return `<section>
<h2>Growing in the Go heap</h2>
<p class="note">In-use bytes allocated by each function, first to last heap profile.</p>
<ul>
${result.topGrowingFunctions.map((f) => `<li><code>${html(f.function)}</code> +${html(formatBytes(f.growthBytes))} in use (${html(formatBytes(f.firstInuseBytes))} → ${html(formatBytes(f.lastInuseBytes))})</li>`).join('\n')}
</ul>
</section>`;
}

function limitsToSet(result: AuditResult): string {
  const r = result.recommendation;
  const settings: string[] = [];
  if (r.kubernetes) settings.push(`<li>Kubernetes: <code>resources.limits.memory: ${html(r.kubernetes.limits?.memory ?? '')}</code> <code>resources.requests.memory: ${html(r.kubernetes.requests?.memory ?? '')}</code></li>`);
  if (r.compose) settings.push(`<li>Compose: <code>mem_limit: ${html(r.compose.mem_limit)}</code> <code>mem_reservation: ${html(r.compose.mem_reservation)}</code></li>`);
  if (r.dockerUpdate) settings.push(`<li>Docker: <code>${html(r.dockerUpdate)}</code></li>`);
  if (r.goMemLimit) settings.push(`<li>Go: <code>GOMEMLIMIT=${html(r.goMemLimit)}</code></li>`);
  const why = r.rationale.join(', ');
  return `<section class="limits">
<h2>Limits to set</h2>
${r.warning ? `<p class="warning"><strong>Warning:</strong> ${html(r.warning)}</p>` : ''}
<p>${r.memoryLimitBytes !== null ? `Recommended limit <strong>${html(formatBytes(r.memoryLimitBytes))}</strong>: ${html(why)}.` : `No limit recommended (${html(why || 'no data')}).`}</p>
${settings.length ? `<ul>\n${settings.join('\n')}\n</ul>` : ''}
</section>`;
}

const CSS = `*, *::before, *::after { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 64rem; margin: 0 auto; padding: 1.5rem 1.25rem 2rem; color: #1d1f21; background: #fff; }
h1 { font-size: 1.6rem; line-height: 1.3; margin: .2rem 0 .6rem; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 .5rem; }
.kicker { margin: 0; color: #555; font-size: .95rem; overflow-wrap: anywhere; }
.v { display: inline-block; padding: .05rem .5rem; border-radius: 5px; color: #fff; background: #666; }
.verdict-Leak .v { background: #b03a2e; } .verdict-CacheGrowth .v, .verdict-Plateau .v { background: #1f618d; } .verdict-Stable .v { background: #1e8449; }
.gloss { font-weight: 600; }
.lead { font-size: 1.05rem; margin: .4rem 0 1rem; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(10.5rem, 1fr)); gap: .6rem; }
.card { border: 1px solid #d9dde1; border-radius: 8px; padding: .55rem .75rem; background: #fafbfc; }
.card h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #555; margin: 0; }
.card .big { font-size: 1.45rem; font-weight: 700; margin: .1rem 0; line-height: 1.25; }
.card .sub { font-size: .88rem; color: #444; margin: 0; }
.verdict-Leak ~ .facts [data-fact="time-to-limit"] .big { color: #a93226; }
[data-fact="recommended"] { border-color: #117a65; background: #f0f8f5; }
.chart { display: block; width: 100%; height: auto; margin: .25rem 0; }
.chart.narrow { display: none; }
@media (max-width: 760px) { .chart.wide { display: none; } .chart.narrow { display: block; } body { padding: 1rem .9rem 2rem; } h1 { font-size: 1.35rem; } .card .big { font-size: 1.2rem; } }
.chart text { fill: #333; }
.chart .grid { stroke: #e3e6e8; } .chart .axis { stroke: #777; }
.chart .tick { fill: #444; } .chart .title { fill: #222; font-weight: 600; }
.chart .note { fill: #6e5a1e; font-style: italic; } .chart .mark { fill: #5b2c6f; font-weight: 600; } .chart .oom { fill: #a93226; }
.chart .note, .chart .mark, .chart .label, .chart .end-label text { paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
.chart .label, .chart .end-label text { font-weight: 600; }
.legend { list-style: none; padding: 0; margin: .3rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem 1.1rem; font-size: .92rem; }
.legend li { display: flex; align-items: center; gap: .35rem; }
.legend svg { flex: none; }
.scroll { overflow-x: auto; }
.growth td:first-child, .growth th:first-child { position: sticky; left: 0; background: #fff; }
@media (max-width: 560px) { .growth { font-size: .88rem; } .growth td, .growth th { padding: .2rem .45rem; } .growth td:first-child, .growth th { white-space: normal; } .growth td:first-child { min-width: 6.5rem; } .growth .r2 { display: none; } }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: .2rem .7rem; text-align: right; border-bottom: 1px solid #e1e4e6; white-space: nowrap; }
td:first-child, th:first-child { text-align: left; padding-left: 0; }
th { font-size: .9rem; }
.note { color: #555; font-size: .9rem; }
.evidence li { margin: .2rem 0; }
code { background: #f1f3f4; padding: 0 .25rem; border-radius: 3px; overflow-wrap: anywhere; font-size: .92em; }
.warning { border-left: 4px solid #b03a2e; background: #fdf0ee; padding: .4rem .7rem; }
footer { margin-top: 2.5rem; padding-top: .8rem; border-top: 1px solid #d9dde1; color: #444; font-size: .9rem; }
footer p { margin: .2rem 0; }
li, p { overflow-wrap: anywhere; }`;
