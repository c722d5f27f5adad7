// A one-file HTML report (`memaudit analyze -o html > report.html`): the verdict and its
// explanation, a chart of the components over the window, the growth table, the growing
// functions, the evidence and the limits to set. Self-contained (inline SVG and CSS, no script,
// nothing fetched), so it can be attached to a ticket or opened from a CI artifact.
//
// The chart is drawn by hand as SVG polylines: a charting library would bring a script and a
// bundle for five lines on one pair of axes.
import { componentsOf } from '../analysis/components.ts';
import type { MemorySample, TargetRef } from '../model/sample.ts';
import { formatBytes, formatDuration, formatRate } from '../model/units.ts';
import type { AuditResult, Component } from '../model/verdict.ts';
import { COMPONENT_LABEL, COMPONENT_ORDER } from './labels.ts';

export function renderHtml(result: AuditResult, samples: readonly MemorySample[], target?: TargetRef): string {
  const what = target ? `${target.kind} ${target.name}` : 'target';
  const verdict = result.leakSource ? `${result.verdict} (${result.leakSource})` : result.verdict;
  const r = result.recommendation;
  const rows = COMPONENT_ORDER.filter((c) => result.growth[c])
    .map((c) => {
      const t = result.growth[c]!;
      return `<tr><td>${esc(COMPONENT_LABEL[c])}</td><td>${esc(formatBytes(t.firstBytes))}</td><td>${esc(formatBytes(t.lastBytes))}</td><td>${esc(formatRate(t.slopeBytesPerHour))}</td><td>${t.r2.toFixed(2)}</td></tr>`;
    })
    .join('\n');
  const limits: string[] = [];
  if (r.kubernetes) limits.push(`Kubernetes: <code>resources.limits.memory: ${esc(r.kubernetes.limits?.memory ?? '')}</code>, <code>resources.requests.memory: ${esc(r.kubernetes.requests?.memory ?? '')}</code>`);
  if (r.compose) limits.push(`Compose: <code>mem_limit: ${esc(r.compose.mem_limit)}</code>, <code>mem_reservation: ${esc(r.compose.mem_reservation)}</code>`);
  if (r.dockerUpdate) limits.push(`Docker: <code>${esc(r.dockerUpdate)}</code>`);
  if (r.goMemLimit) limits.push(`Go: <code>GOMEMLIMIT=${esc(r.goMemLimit)}</code>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>memaudit: ${esc(what)}: ${esc(verdict)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; } h1 .v { padding: 0 .4rem; border-radius: 4px; background: ${VERDICT_COLOR[result.verdict]}; color: #fff; }
table { border-collapse: collapse; } td, th { padding: .15rem .7rem; text-align: right; border-bottom: 1px solid #ddd; }
td:first-child, th:first-child { text-align: left; } code { background: #f3f3f3; padding: 0 .25rem; }
.legend span { margin-right: 1rem; white-space: nowrap; } .legend i { display: inline-block; width: 1.2rem; height: 3px; vertical-align: middle; margin-right: .3rem; }
svg text { font-size: 11px; fill: #555; }
</style>
</head>
<body>
<h1>memaudit: ${esc(what)}: <span class="v">${esc(verdict)}</span></h1>
<p>${esc(result.explanation)}</p>
<p>Window ${esc(formatDuration(result.window.durationSeconds))} (${esc(new Date(result.window.startMs).toISOString())} to ${esc(new Date(result.window.endMs).toISOString())}), ${result.window.samples} samples; limit ${result.limitBytes !== null ? esc(formatBytes(result.limitBytes)) : 'none'}${result.reclaimableShare !== null ? `; reclaimable page cache ${Math.round(result.reclaimableShare * 100)} % of usage` : ''}${result.timeToLimitSeconds !== null ? `; time to limit ${esc(formatDuration(result.timeToLimitSeconds))}` : ''}.</p>
${chart(samples, result.limitBytes)}
${rows ? `<h2>Growth per component</h2>\n<table>\n<tr><th>component</th><th>first</th><th>last</th><th>growth</th><th>R²</th></tr>\n${rows}\n</table>` : ''}
${result.topGrowingFunctions.length ? `<h2>Growing in the Go heap</h2>\n<ul>\n${result.topGrowingFunctions.map((f) => `<li><code>${esc(f.function)}</code> +${esc(formatBytes(f.growthBytes))} in use</li>`).join('\n')}\n</ul>` : ''}
${result.evidence.length ? `<h2>Evidence</h2>\n<ul>\n${result.evidence.map((e) => `<li>${esc(e)}</li>`).join('\n')}\n</ul>` : ''}
<h2>Limits</h2>
${r.warning ? `<p><strong>Warning:</strong> ${esc(r.warning)}</p>` : ''}
<p>${r.memoryLimitBytes !== null ? `Recommended limit ${esc(formatBytes(r.memoryLimitBytes))} (${esc(r.rationale.join(', '))}).` : `No limit recommended (${esc(r.rationale.join(', ') || 'no data')}).`}</p>
${limits.length ? `<ul>\n${limits.map((l) => `<li>${l}</li>`).join('\n')}\n</ul>` : ''}
</body>
</html>
`;
}

/** What the chart draws: the split that decides the verdict. */
const CHARTED: { c: Component; color: string }[] = [
  { c: 'usage', color: '#555' },
  { c: 'nonReclaimable', color: '#c0392b' },
  { c: 'reclaimableFile', color: '#2e86c1' },
  { c: 'shmem', color: '#8e44ad' },
  { c: 'goHeap', color: '#d68910' },
  { c: 'kernel', color: '#1e8449' },
];
const VERDICT_COLOR: Record<AuditResult['verdict'], string> = { Stable: '#1e8449', Plateau: '#2e86c1', CacheGrowth: '#2e86c1', Leak: '#c0392b', InsufficientData: '#777' };
const W = 900;
const H = 300;
const PAD = { left: 84, right: 10, top: 18, bottom: 30 };
/** Points per line at most: more cannot be seen at this width. */
const MAX_POINTS = 900;

function chart(samples: readonly MemorySample[], limitBytes: number | null): string {
  if (samples.length < 2) return '';
  const step = Math.max(1, Math.ceil(samples.length / MAX_POINTS));
  const picked = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  const rows = picked.map((s) => ({ t: s.timestampMs, v: componentsOf(s) }));
  const lines = CHARTED.filter(({ c }) => rows.some((r) => (r.v[c] ?? 0) > 0));
  const t0 = rows[0]!.t;
  const t1 = Math.max(t0 + 1, rows[rows.length - 1]!.t);
  let yMax = Math.max(1, ...rows.flatMap((r) => lines.map(({ c }) => r.v[c] ?? 0)));
  if (limitBytes !== null && limitBytes < 4 * yMax) yMax = Math.max(yMax, limitBytes);
  yMax *= 1.05;
  const x = (t: number) => (PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right)).toFixed(1);
  const y = (v: number) => (H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom)).toFixed(1);
  const polylines = lines
    .map(({ c, color }) => {
      const pts = rows.filter((r) => r.v[c] !== undefined).map((r) => `${x(r.t)},${y(r.v[c]!)}`);
      return `<polyline data-component="${c}" fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>`;
    })
    .join('\n');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${PAD.left - 6}" y="${y(f * yMax)}" text-anchor="end" dominant-baseline="middle">${esc(formatBytes(f * yMax))}</text><line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(f * yMax)}" y2="${y(f * yMax)}" stroke="#eee"/>`).join('\n');
  const limit = limitBytes !== null && limitBytes <= yMax ? `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(limitBytes)}" y2="${y(limitBytes)}" stroke="#c0392b" stroke-dasharray="6 4"/><text x="${W - PAD.right}" y="${Number(y(limitBytes)) - 4}" text-anchor="end">limit ${esc(formatBytes(limitBytes))}</text>` : '';
  const axis = `<text x="${PAD.left}" y="${H - 8}">0</text><text x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${esc(formatDuration((t1 - t0) / 1000))}</text>`;
  const legend = lines.map(({ c, color }) => `<span><i style="background:${color}"></i>${esc(COMPONENT_LABEL[c])}</span>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="memory components over the window">
${ticks}
${limit}
${polylines}
${axis}
</svg>
<p class="legend">${legend}</p>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
