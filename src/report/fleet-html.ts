// The fleet report as one self-contained HTML page (`memaudit scan -o html > fleet.html`): the
// summary, the table most urgent first, and per container a small chart of usage and
// non-reclaimable memory over the history with its limit, the verdict's sentence and the
// recommendation. Inline CSS and SVG only: no script, nothing fetched, so it opens from a CI
// artifact or a ticket. (The single-target page is html.ts; this one shares nothing with it but
// the vocabulary.)
import { formatBytes, formatDuration } from '../model/units.ts';
import type { Verdict } from '../model/verdict.ts';
import { limitFit, quantity, summaryLine, urgencyOrder, type FleetChart, type FleetRow, type FleetSummary } from './fleet.ts';

const COLOR: Record<Verdict | 'Error', string> = { Leak: '#c0392b', CacheGrowth: '#2e86c1', Plateau: '#7d3c98', Stable: '#27ae60', InsufficientData: '#7f8c8d', Error: '#555' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderFleetHtml(rows: readonly FleetRow[], summary: FleetSummary): string {
  const ordered = urgencyOrder(rows);
  const id = (i: number) => `c${i}`;
  const tableRows = ordered
    .map((r, i) => {
      const res = r.result;
      const v = res?.verdict ?? 'Error';
      const verdict = res ? `${v}${res.leakSource ? `/${res.leakSource}` : ''}` : 'Error';
      const rec = res && res.verdict !== 'Leak' ? quantity(res.recommendation.memoryLimitBytes) : res ? 'fix leak' : '-';
      const fit = limitFit(r);
      return `<tr><td><span class="v" style="background:${COLOR[v]}">${esc(verdict)}</span></td><td>${res?.timeToLimitSeconds != null ? esc(formatDuration(res.timeToLimitSeconds)) : ''}</td><td class="l"><a href="#${id(i)}">${esc(`${r.namespace}/${r.pod}/${r.container}`)}</a></td><td>${esc(r.limitBytes !== null ? quantity(r.limitBytes) : 'none')}</td><td>${esc(rec)}</td><td>${fit === 'unknown' || fit === 'close' ? '' : esc(fit === 'none' ? 'no limit' : fit === 'below' ? 'too low' : 'too high')}</td><td>${esc(quantity(r.requestBytes))}</td><td>${r.restarts}</td></tr>`;
    })
    .join('\n');
  const sections = ordered
    .map((r, i) => {
      const res = r.result;
      const v = res?.verdict ?? 'Error';
      const head = `<h3 id="${id(i)}"><span class="v" style="background:${COLOR[v]}">${esc(res ? `${v}${res.leakSource ? `/${res.leakSource}` : ''}` : 'Error')}</span> ${esc(`${r.namespace}/${r.pod}/${r.container}`)}</h3>`;
      if (!res) return `<section>${head}<p>${esc(r.error ?? 'not read')}</p></section>`;
      const rec = res.recommendation;
      const what = res.verdict === 'Leak' ? esc(rec.warning ?? 'Leak: fix it rather than raising the limit.') : rec.memoryLimitBytes !== null ? `Recommended limit <b>${esc(quantity(rec.memoryLimitBytes))}</b>${rec.memoryRequestBytes !== null ? `, request ${esc(quantity(rec.memoryRequestBytes))}` : ''} (now: limit ${esc(r.limitBytes !== null ? quantity(r.limitBytes) : 'none')}, request ${esc(quantity(r.requestBytes))}).` : '';
      const notes = r.notes.length ? `<p class="n">${esc(r.notes.join('; '))}</p>` : '';
      return `<section>${head}${r.chart ? chart(r.chart, r.limitBytes) : ''}<p>${esc(res.explanation)}</p><p>${what}</p>${notes}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>memaudit scan: ${esc(summary.source)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; max-width: 80rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; } td, th { padding: .1rem .6rem; text-align: right; border-bottom: 1px solid #e3e3e3; white-space: nowrap; }
td.l, th.l { text-align: left; } .v { color: #fff; padding: 0 .35rem; border-radius: 3px; font-size: .9em; }
section { margin: 1.2rem 0; padding-top: .4rem; border-top: 1px solid #eee; } h3 { font-size: 1rem; margin: .2rem 0; }
.n { color: #7a5b00; } svg text { font-size: 10px; fill: #666; } .k i { display: inline-block; width: 1rem; height: 3px; vertical-align: middle; margin: 0 .3rem 0 .8rem; }
</style>
</head>
<body>
<h1>memaudit scan</h1>
<p>${esc(summaryLine(rows, summary))}.</p>
${summary.warnings.length ? `<ul>${summary.warnings.map((w) => `<li class="n">${esc(w)}</li>`).join('')}</ul>` : ''}
<p class="k">Charts:<i style="background:#888"></i>usage<i style="background:#c0392b"></i>non-reclaimable (what the limit must hold)<i style="background:#000;height:1px"></i>limit</p>
<table>
<tr><th class="l">verdict</th><th>time to OOM</th><th class="l">namespace/pod/container</th><th>limit</th><th>recommended</th><th>fit</th><th>request</th><th>restarts</th></tr>
${tableRows}
</table>
${sections}
</body>
</html>
`;
}

const W = 560;
const H = 110;
const PAD = 40;

/** Usage and non-reclaimable memory over time, with the limit: two polylines on shared axes. */
function chart(c: FleetChart, limitBytes: number | null): string {
  const n = c.timestampsMs.length;
  if (n < 2) return '';
  const t0 = c.timestampsMs[0]!;
  const t1 = c.timestampsMs[n - 1]!;
  let max = limitBytes ?? 0;
  for (let i = 0; i < n; i++) max = Math.max(max, c.usageBytes[i]!, Number.isFinite(c.nonReclaimableBytes[i]!) ? c.nonReclaimableBytes[i]! : 0);
  if (max <= 0) return '';
  const x = (t: number) => (PAD + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD - 4)).toFixed(1);
  const y = (v: number) => (H - 14 - (v / max) * (H - 20)).toFixed(1);
  const line = (vs: Float64Array, color: string) => {
    const pts: string[] = [];
    for (let i = 0; i < n; i++) if (Number.isFinite(vs[i]!)) pts.push(`${x(c.timestampsMs[i]!)},${y(vs[i]!)}`);
    return pts.length > 1 ? `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${pts.join(' ')}"/>` : '';
  };
  const limit = limitBytes !== null ? `<line x1="${PAD}" x2="${W - 4}" y1="${y(limitBytes)}" y2="${y(limitBytes)}" stroke="#000" stroke-dasharray="4 3"/>` : '';
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="memory over ${esc(formatDuration((t1 - t0) / 1000))}"><text x="2" y="10">${esc(formatBytes(max))}</text><text x="2" y="${H - 14}">0</text><text x="${PAD}" y="${H - 2}">${esc(new Date(t0).toISOString().slice(0, 16))}</text><text x="${W - 4}" y="${H - 2}" text-anchor="end">${esc(new Date(t1).toISOString().slice(0, 16))}</text><line x1="${PAD}" x2="${PAD}" y1="4" y2="${H - 14}" stroke="#ccc"/>${line(c.usageBytes, '#888')}${line(c.nonReclaimableBytes, '#c0392b')}${limit}</svg>`;
}

