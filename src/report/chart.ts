// The HTML report's chart, an inline SVG drawn by hand: a charting library would bring a script and
// a bundle for six lines on one pair of axes.
//
// What it must show at a glance: usage and the memory the kernel cannot reclaim (the split that
// decides the verdict), the limit (always on top, never hidden by a line at the limit), the
// recommended limit, restarts and the run the verdict comes from, gaps in sampling (the lines break
// there), and for a leak the trend projected to the limit. Series differ in width and dash as well
// as colour, and carry their names at their ends, so the chart reads without colour.
//
// One chart is drawn per layout (wide, narrow) and the page shows the one that fits (CSS media
// query): an SVG scales its text with its width, so one drawing cannot keep 13 px text from 1280 px
// down to a phone.
import { componentsOf } from '../analysis/components.ts';
import type { MemorySample } from '../model/sample.ts';
import { formatBytes, formatDuration } from '../model/units.ts';
import type { AuditResult, Component } from '../model/verdict.ts';
import { html } from './escape.ts';
import { COMPONENT_LABEL } from './labels.ts';
import { analysedRun, utcTime } from './reading.ts';
import { byteTicks, timeTicks } from './ticks.ts';

export interface ChartLayout {
  /** Prefix of the SVG's ids and its CSS class ("wide", "narrow"). */
  name: string;
  width: number;
  height: number;
  /** Least margins; left and right grow to fit the tick and end labels. */
  pad: { left: number; right: number; top: number; bottom: number };
  fontPx: number;
  maxYIntervals: number;
  maxXIntervals: number;
  /** Names at the right end of the lines (the right margin widens to fit them); else the legend alone names them. */
  endLabels: boolean;
  /** Points per line at most: more cannot be seen at this width. */
  maxPoints: number;
}

export const WIDE: ChartLayout = { name: 'wide', width: 960, height: 420, pad: { left: 64, right: 140, top: 34, bottom: 58 }, fontPx: 13, maxYIntervals: 5, maxXIntervals: 8, endLabels: true, maxPoints: 900 };
export const NARROW: ChartLayout = { name: 'narrow', width: 400, height: 340, pad: { left: 52, right: 18, top: 34, bottom: 58 }, fontPx: 13, maxYIntervals: 5, maxXIntervals: 4, endLabels: false, maxPoints: 400 };

/** Names at the ends of the lines: short, the legend has the full ones. */
const END_LABEL: Partial<Record<Component, string>> = { reclaimableFile: 'reclaimable cache', goHeap: 'Go heap', shmem: 'shmem / tmpfs' };

/** How each charted component is drawn: width and dash tell them apart without colour. */
export interface SeriesStyle {
  c: Component;
  color: string;
  /** A darker shade for text on white. */
  text: string;
  width: number;
  dash: string | null;
  /** Filled down to 0 (usage, non-reclaimable): the band between them is what the kernel can reclaim. */
  fill: string | null;
}

export const SERIES: readonly SeriesStyle[] = [
  // Usage is wide and light, drawn first: a line drawn exactly on top of it (non-reclaimable, when
  // there is no cache) still leaves it visible on both sides.
  { c: 'usage', color: '#a3acb5', text: '#56606a', width: 7, dash: null, fill: '#eef1f4' },
  { c: 'nonReclaimable', color: '#c0392b', text: '#a93226', width: 2.5, dash: null, fill: 'rgba(192,57,43,0.13)' },
  { c: 'reclaimableFile', color: '#2471a3', text: '#1f618d', width: 2.5, dash: '9 5', fill: null },
  { c: 'shmem', color: '#7d3c98', text: '#6c3483', width: 2.5, dash: '12 4 2 4', fill: null },
  { c: 'goHeap', color: '#b9770e', text: '#9c640c', width: 3, dash: '0.5 5', fill: null },
  { c: 'kernel', color: '#1e8449', text: '#196f3d', width: 1.5, dash: '3 3', fill: null },
];

const LIMIT = { color: '#111', width: 2.5, dash: '12 6' };
const RECOMMENDED = { color: '#117a65', width: 2, dash: '4 3' };
/** The limit is drawn to scale up to this many times the data's peak; above, it is marked off the scale. */
const LIMIT_SCALE_MAX = 4;
/**
 * The projection to the limit runs on to the limit when that is at most one window away (the axis
 * at most doubles); a farther limit gets this share of the axis and an arrow.
 */
const PROJECTION_SHARE = 0.3;

/** Which of SERIES have data in these samples: a line of zeros is left out (and out of the legend). */
export function chartedSeries(samples: readonly MemorySample[]): SeriesStyle[] {
  const rows = samples.map(componentsOf);
  return SERIES.filter(({ c }) => rows.some((r) => (r[c] ?? 0) > 0));
}

/** Whether the chart projects the trend to the limit, and where it would meet it. */
export function projection(result: AuditResult): { fromMs: number; fromBytes: number; toMs: number; limitBytes: number } | null {
  const ttl = result.timeToLimitSeconds;
  const limit = result.limitBytes;
  const run = result.window.analysed;
  // Only from the end of the window: a projection over later samples would contradict them.
  if (ttl === null || ttl <= 0 || limit === null || (run && run.endMs !== result.window.endMs)) return null;
  const g = result.growth.nonReclaimable ?? result.growth.anon ?? result.growth.usage;
  if (!g) return null;
  return { fromMs: result.window.endMs, fromBytes: g.lastBytes, toMs: result.window.endMs + ttl * 1000, limitBytes: limit };
}

export function renderChart(result: AuditResult, samples: readonly MemorySample[], layout: ChartLayout): string {
  const sorted = [...samples].sort((a, b) => a.timestampMs - b.timestampMs);
  if (sorted.length < 2) return '';
  const L = layout;
  const series = chartedSeries(sorted);
  const step = Math.max(1, Math.ceil(sorted.length / L.maxPoints));
  const picked = sorted.filter((_, i) => i % step === 0 || i === sorted.length - 1);
  const rows = picked.map((s) => ({ t: s.timestampMs, v: componentsOf(s) }));

  // Sizes: the data (every sample, not only the drawn ones), the limit and the recommended limit,
  // unless a limit dwarfs the data.
  let dataMax = 0;
  for (const s of sorted) {
    const v = componentsOf(s);
    for (const { c } of series) dataMax = Math.max(dataMax, v[c] ?? 0);
  }
  const limit = result.limitBytes;
  const recommended = result.recommendation.memoryLimitBytes;
  const onScale = (b: number | null): b is number => b !== null && b > 0 && b <= LIMIT_SCALE_MAX * Math.max(dataMax, 1);
  let yMax = dataMax;
  if (onScale(limit)) yMax = Math.max(yMax, limit);
  if (onScale(recommended)) yMax = Math.max(yMax, recommended);
  const yTicks = byteTicks(yMax, L.maxYIntervals);
  const yTop = yTicks.end;
  const limitLabel = limit !== null && onScale(limit) ? `limit ${shortBytes(limit)}` : null;
  const recommendedLabel = onScale(recommended) && recommended !== limit ? `recommended ${shortBytes(recommended)}` : null;

  // Margins wide enough for the longest tick label and end label (estimated from their length: no
  // script measures text here).
  const textWidth = (text: string, bold = false) => text.length * L.fontPx * (bold ? 0.68 : 0.62);
  const endLabels = L.endLabels ? [...series.map((s) => END_LABEL[s.c] ?? COMPONENT_LABEL[s.c]), limitLabel ?? '', recommendedLabel ?? ''] : [];
  const x0 = Math.max(L.pad.left, Math.ceil(14 + Math.max(...yTicks.labels.map((t) => textWidth(t)))));
  const x1 = L.width - (L.endLabels ? Math.max(L.pad.right, Math.ceil(42 + Math.max(...endLabels.map((t) => textWidth(t, true))))) : L.pad.right);
  const y0 = L.pad.top;
  const y1 = L.height - L.pad.bottom;

  // Time: from the first sample to the last, plus room for the projection to the limit.
  const t0 = sorted[0]!.timestampMs;
  const tData = Math.max(t0 + 1000, sorted[sorted.length - 1]!.timestampMs);
  const proj = projection(result);
  const spanMs = tData - t0;
  const tEnd = !proj ? tData : proj.toMs - tData <= spanMs ? proj.toMs + 0.04 * (proj.toMs - t0) : tData + (spanMs * PROJECTION_SHARE) / (1 - PROJECTION_SHARE);
  const xTicks = timeTicks((tEnd - t0) / 1000, L.maxXIntervals);
  const X = (t: number) => x0 + ((t - t0) / (tEnd - t0)) * (x1 - x0);
  const Y = (v: number) => y1 - (Math.min(Math.max(v, 0), yTop) / yTop) * (y1 - y0);
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  /** Text drawn after the lines, so no fill or line hides it. */
  const onTop: string[] = [];
  const id = (s: string) => `${L.name}-${s}`;
  parts.push(
    `<defs><pattern id="${id('hatch')}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fafafa"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c8c8c8" stroke-width="2"/></pattern><clipPath id="${id('plot')}"><rect x="${x0}" y="${y0 - 4}" width="${x1 - x0}" height="${y1 - y0 + 4}"/></clipPath></defs>`,
  );

  // The analysed run, shaded, when restarts left only part of the window to analyse.
  const run = analysedRun(result);
  if (run && result.window.analysed) {
    const a = result.window.analysed;
    const ax0 = X(a.startMs);
    const ax1 = Math.max(X(a.endMs), ax0 + 2);
    parts.push(
      `<g data-analysed-run="${f((a.startMs - t0) / 1000)}-${f((a.endMs - t0) / 1000)}"><rect x="${f(ax0)}" y="${y0}" width="${f(ax1 - ax0)}" height="${y1 - y0}" fill="#fdf2d0"/></g>`,
    );
    onTop.push(`<text x="${f(ax0 + 6)}" y="${y1 - 8}" class="note">analysed run</text>`);
  }

  // Gaps in sampling: hatched, and the lines break there.
  const gaps = (result.window.gaps ?? []).map((g) => ({ from: g.startMs, to: g.startMs + g.seconds * 1000, seconds: g.seconds }));
  for (const g of gaps) {
    const gx0 = X(g.from);
    const gx1 = X(g.to);
    parts.push(`<g data-gap="${f(g.seconds)}"><rect x="${f(gx0)}" y="${y0}" width="${f(Math.max(gx1 - gx0, 2))}" height="${y1 - y0}" fill="url(#${id('hatch')})"/></g>`);
    if (gx1 - gx0 > 8 * L.fontPx) onTop.push(`<text x="${f((gx0 + gx1) / 2)}" y="${y0 + L.fontPx + 6}" text-anchor="middle" class="note">no samples for ${html(formatDuration(g.seconds))}</text>`);
  }

  // Grid and axes.
  for (let i = 0; i < yTicks.values.length; i++) {
    const y = f(Y(yTicks.values[i]!));
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" class="grid"/><text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" class="tick">${html(yTicks.labels[i]!)}</text>`);
  }
  for (let i = 0; i < xTicks.values.length; i++) {
    const x = f(X(t0 + xTicks.values[i]! * 1000));
    parts.push(`<line x1="${x}" x2="${x}" y1="${y1}" y2="${y1 + 5}" class="axis"/><text x="${x}" y="${y1 + 8 + L.fontPx}" text-anchor="middle" class="tick">${html(xTicks.labels[i]!)}</text>`);
  }
  parts.push(`<line x1="${x0}" x2="${x1}" y1="${y1}" y2="${y1}" class="axis"/><line x1="${x0}" x2="${x0}" y1="${y0}" y2="${y1}" class="axis"/>`);
  parts.push(`<text x="4" y="${y0 - 14}" class="title">memory</text>`);
  const startText = L.endLabels ? utcTime(t0) : utcTime(t0).slice(11);
  parts.push(`<text x="${f((x0 + x1) / 2)}" y="${L.height - 10}" text-anchor="middle" class="title">time since the first sample (${html(startText)})</text>`);

  // Lines, split at gaps; usage and non-reclaimable filled down to 0 first.
  const inGap = (a: number, b: number) => gaps.some((g) => g.from >= a && g.from < b);
  const segmentsOf = (c: Component) => {
    const segs: { t: number; v: number }[][] = [];
    let cur: { t: number; v: number }[] = [];
    let prevT = -Infinity;
    for (const r of rows) {
      const v = r.v[c];
      if (v === undefined || (cur.length && inGap(prevT, r.t))) {
        if (cur.length) segs.push(cur);
        cur = [];
      }
      if (v !== undefined) cur.push({ t: r.t, v });
      prevT = r.t;
    }
    if (cur.length) segs.push(cur);
    return segs;
  };
  const pts = (seg: { t: number; v: number }[]) => seg.map((p) => `${f(X(p.t))},${f(Y(p.v))}`).join(' ');
  const drawn = series.map((s) => ({ s, segs: segmentsOf(s.c) }));
  for (const { s, segs } of drawn) {
    if (!s.fill) continue;
    for (const seg of segs) parts.push(`<polygon data-area="${s.c}" fill="${s.fill}" points="${f(X(seg[0]!.t))},${f(y1)} ${pts(seg)} ${f(X(seg[seg.length - 1]!.t))},${f(y1)}"/>`);
  }
  for (const { s, segs } of drawn) {
    const style = `fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} stroke-linejoin="round" stroke-linecap="${s.c === 'goHeap' ? 'round' : 'butt'}"`;
    for (const seg of segs) parts.push(`<polyline data-component="${s.c}" ${style} points="${pts(seg)}"><title>${html(COMPONENT_LABEL[s.c])}</title></polyline>`);
  }

  // Restarts: a marker at each, named by its cause.
  let lastLabelX = -Infinity;
  for (const r of result.restarts ?? []) {
    const i = sorted.findIndex((s) => s.timestampMs >= r.atMs);
    const before = i > 0 ? sorted[i - 1]!.timestampMs : r.atMs;
    const x = X((before + r.atMs) / 2);
    const name = r.cause === 'atLimit' ? 'OOM kill' : 'restart';
    const labelled = x - lastLabelX > 5.5 * L.fontPx;
    if (labelled) lastLabelX = x;
    // Kept inside the drawing: a label centred on a restart at the edge would be cut.
    const half = 0.32 * L.fontPx * name.length;
    const lx = Math.min(Math.max(x, half + 2), L.width - half - 2);
    parts.push(
      `<g data-restart="${r.cause}"><line x1="${f(x)}" x2="${f(x)}" y1="${y0}" y2="${y1}" stroke="#5b2c6f" stroke-width="1.5" stroke-dasharray="2 3"/><path d="M${f(x - 5)},${y0 - 9} h10 l-5,8 z" fill="#5b2c6f"/>${labelled ? `<text x="${f(lx)}" y="${y0 - 13}" text-anchor="middle" class="mark">${name}</text>` : ''}<title>${name} at ${html(formatDuration((r.atMs - t0) / 1000))}</title></g>`,
    );
  }

  // The trend projected to the limit.
  if (proj) {
    const reach = proj.toMs <= tEnd;
    const endT = reach ? proj.toMs : tEnd;
    const endV = proj.fromBytes + ((proj.limitBytes - proj.fromBytes) * (endT - proj.fromMs)) / (proj.toMs - proj.fromMs);
    const ex = X(endT);
    const ey = Y(endV);
    const ttlText = formatDuration((proj.toMs - proj.fromMs) / 1000);
    parts.push(
      `<g data-projection="${f((proj.toMs - proj.fromMs) / 1000)}"><rect x="${f(X(tData))}" y="${y0}" width="${f(x1 - X(tData))}" height="${y1 - y0}" fill="#f6f6f6"/><line x1="${f(X(proj.fromMs))}" y1="${f(Y(proj.fromBytes))}" x2="${f(ex)}" y2="${f(ey)}" stroke="#c0392b" stroke-width="2.5" stroke-dasharray="2 4" stroke-linecap="round"/>` +
        (reach
          ? `<path d="M${f(ex - 6)},${f(ey - 6)} l12,12 m0,-12 l-12,12" stroke="#c0392b" stroke-width="3"/><text x="${f(ex - 8)}" y="${f(ey + 8 + L.fontPx)}" text-anchor="end" class="mark oom">OOM in about ${html(ttlText)}</text>`
          : `<text x="${f(ex - 4)}" y="${f(ey - 8)}" text-anchor="end" class="mark oom">limit in about ${html(ttlText)} →</text>`) +
        `<text x="${f(X(tData) + 4)}" y="${y1 - 8}" class="note">projection</text></g>`,
    );
  }

  parts.push(...onTop);

  // The limits last, on top of everything: a line at the limit must not hide it.
  const labels: { y: number; text: string; color: string; what: string }[] = [];
  const hLine = (bytes: number, style: { color: string; width: number; dash: string }, what: string, text: string) => {
    const y = f(Y(bytes));
    parts.push(`<line data-${what}="${bytes}" x1="${x0}" x2="${x1}" y1="${y}" y2="${y}" stroke="${style.color}" stroke-width="${style.width}" stroke-dasharray="${style.dash}"/>`);
    if (L.endLabels) labels.push({ y: Y(bytes), text, color: style.color, what });
    else parts.push(`<text x="${x0 + 6}" y="${f(Y(bytes) - 6)}" class="label" style="fill:${style.color}">${html(text)}</text>`);
  };
  if (recommendedLabel) hLine(recommended!, RECOMMENDED, 'recommended', recommendedLabel);
  if (limitLabel) hLine(limit!, LIMIT, 'limit', limitLabel);
  else if (limit !== null) {
    parts.push(`<g data-limit="off-scale"><path d="M${x1 - 10},${y0 + 2} l6,-8 l6,8 z" fill="${LIMIT.color}"/><text x="${x1 - 14}" y="${y0 + 2}" text-anchor="end" class="label" style="fill:${LIMIT.color}">limit ${html(formatBytes(limit))}, far above the scale</text></g>`);
  }

  // Names at the ends of the lines (wide layout), pushed apart so they never overlap.
  if (L.endLabels) {
    for (const { s, segs } of drawn) {
      const lastSeg = segs[segs.length - 1];
      const last = lastSeg?.[lastSeg.length - 1];
      if (last) labels.push({ y: Y(last.v), text: END_LABEL[s.c] ?? COMPONENT_LABEL[s.c], color: s.text, what: s.c });
    }
    labels.sort((a, b) => a.y - b.y);
    const gap = L.fontPx + 3;
    for (let i = 1; i < labels.length; i++) labels[i]!.y = Math.max(labels[i]!.y, labels[i - 1]!.y + gap);
    // Then up from the bottom, moving only the labels crowded there (not one far above its line).
    const last = labels[labels.length - 1];
    if (last) last.y = Math.min(last.y, y1 + 2 * L.fontPx);
    for (let i = labels.length - 2; i >= 0; i--) labels[i]!.y = Math.min(labels[i]!.y, labels[i + 1]!.y - gap);
    for (const l of labels) {
      const sw = swatchFor(l.what);
      parts.push(
        `<g class="end-label"><line x1="${x1 + 12}" x2="${x1 + 30}" y1="${f(l.y)}" y2="${f(l.y)}" stroke="${sw.color}" stroke-width="${Math.min(sw.width, 4)}"${sw.dash ? ` stroke-dasharray="${sw.dash}"` : ''} stroke-linecap="${sw.cap}"/><text x="${x1 + 34}" y="${f(l.y)}" dominant-baseline="middle" style="fill:${l.color}">${html(l.text)}</text></g>`,
      );
    }
  }

  const label = `memory over ${formatDuration((tData - t0) / 1000)}: ${series.map((s) => COMPONENT_LABEL[s.c]).join(', ')}${limit !== null ? `; limit ${formatBytes(limit)}` : ''}`;
  return `<svg class="chart ${L.name}" viewBox="0 0 ${L.width} ${L.height}" role="img" aria-label="${html(label)}" style="font-size:${L.fontPx}px">
${parts.join('\n')}
</svg>`;
}

/** "64 MiB" rather than "64.0 MiB" where room is short. */
const shortBytes = (b: number) => formatBytes(b).replace(/\.0 /, ' ');

/** How a legend or end label draws the line it names. */
export function swatchFor(what: string): { color: string; width: number; dash: string | null; cap: 'round' | 'butt' } {
  if (what === 'limit') return { ...LIMIT, dash: '8 4', cap: 'butt' };
  if (what === 'recommended') return { ...RECOMMENDED, cap: 'butt' };
  if (what === 'projection') return { color: '#c0392b', width: 2.5, dash: '2 4', cap: 'round' };
  const s = SERIES.find((x) => x.c === what)!;
  return { color: s.color, width: s.width, dash: s.dash, cap: s.c === 'goHeap' ? 'round' : 'butt' };
}
