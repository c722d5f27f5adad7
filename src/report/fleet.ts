// The fleet report of `memaudit scan`: one row per container, most urgent first, as a terminal
// table, CSV, or the document of JSON/YAML (the HTML page is fleet-html.ts). Pure: rows in,
// text out.
//
// Urgency: leaks first, the soonest out of memory first (then leaks with no limit to hit); then
// containers whose limit is far from the recommendation (below it: OOM kills ahead; no limit;
// far above it: memory held for nothing), the farthest first; then the rest by verdict; the
// containers without enough data; last, those that could not be read, with the reason.
import { formatDuration, formatRate, GiB, KiB, MiB } from '../model/units.ts';
import type { AuditResult, Component, LeakSource, Verdict } from '../model/verdict.ts';
import { toJsonObject } from './json.ts';

export interface FleetRow {
  namespace: string;
  pod: string;
  container: string;
  /** null when the container's history could not be read (see error). */
  result: AuditResult | null;
  error: string | null;
  /** What the container's data lacked or the server warned of. */
  notes: string[];
  /** The newest limit and request in the history; null = none or unknown. */
  limitBytes: number | null;
  requestBytes: number | null;
  /** Restarts seen in the history. */
  restarts: number;
  /** For the HTML page: the history, reduced. */
  chart?: FleetChart;
}

/** A container's history reduced for a small chart: times (ms) and two lines. */
export interface FleetChart {
  timestampsMs: Float64Array;
  usageBytes: Float64Array;
  /** NaN where unknown. */
  nonReclaimableBytes: Float64Array;
}

/** How the limit compares with the recommendation. */
export type LimitFit = 'below' | 'none' | 'above' | 'close' | 'unknown';

/** A limit above the recommendation by more than this factor holds memory for nothing. */
export const FAR_ABOVE = 1.5;

export function limitFit(row: Pick<FleetRow, 'result' | 'limitBytes'>): LimitFit {
  const rec = row.result?.recommendation.memoryLimitBytes ?? null;
  if (!row.result || row.result.verdict === 'Leak' || rec === null) return 'unknown';
  if (row.limitBytes === null) return 'none';
  if (row.limitBytes < rec) return 'below';
  return row.limitBytes > FAR_ABOVE * rec ? 'above' : 'close';
}

const VERDICT_RANK: Record<Verdict, number> = { Leak: 0, CacheGrowth: 1, Plateau: 2, Stable: 3, InsufficientData: 4 };

/** Rows sorted by urgency (a new array). */
export function urgencyOrder(rows: readonly FleetRow[]): FleetRow[] {
  // [rank, order within the rank]: leaks by time to OOM, then without a limit by growth; limits
  // below the recommendation by how far; no limit by the memory it needs; far above by how far.
  const key = (r: FleetRow): [number, number] => {
    if (!r.result) return [7, 0];
    const res = r.result;
    if (res.verdict === 'Leak') return res.timeToLimitSeconds !== null ? [0, res.timeToLimitSeconds] : [1, -growthOf(res)];
    const fit = limitFit(r);
    const rec = res.recommendation.memoryLimitBytes ?? 1;
    if (fit === 'below') return [2, -Math.log(rec / r.limitBytes!)];
    if (fit === 'none') return [3, -rec];
    if (fit === 'above') return [4, -Math.log(r.limitBytes! / rec)];
    return [res.verdict === 'InsufficientData' ? 6 : 5, VERDICT_RANK[res.verdict]];
  };
  const name = (r: FleetRow) => `${r.namespace}/${r.pod}/${r.container}`;
  return rows
    .map((r) => ({ r, k: key(r) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || name(a.r).localeCompare(name(b.r)))
    .map((x) => x.r);
}

const LEAK_COMPONENT: Record<LeakSource, Component> = { heap: 'goHeap', offHeap: 'anon', anon: 'anon', shmem: 'shmem', kernel: 'kernel' };

/** The component that explains the verdict (the controller's Growth column does the same). */
export function decidingComponent(r: Pick<AuditResult, 'verdict' | 'leakSource'>): Component {
  if (r.verdict === 'CacheGrowth') return 'file';
  if (r.verdict === 'Leak') return LEAK_COMPONENT[r.leakSource ?? 'anon'];
  return 'usage';
}

function growthOf(r: AuditResult): number {
  const c = decidingComponent(r);
  return (r.growth[c] ?? (c === 'anon' ? r.growth.nonReclaimable : undefined) ?? r.growth.usage)?.slopeBytesPerHour ?? 0;
}

/** 512Mi, 1.5Gi, 300Ki: as a limit is written in a manifest. */
export function quantity(bytes: number | null): string {
  if (bytes === null) return '-';
  const fmt = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, ''));
  if (bytes >= GiB) return `${fmt(bytes / GiB)}Gi`;
  if (bytes >= MiB) return `${fmt(bytes / MiB)}Mi`;
  return `${fmt(bytes / KiB)}Ki`;
}

const verdictText = (r: FleetRow) => (r.result ? (r.result.leakSource ? `${r.result.verdict}/${r.result.leakSource}` : r.result.verdict) : 'Error');

/** The cells of a row, shared by the table and CSV. */
function cells(r: FleetRow): Record<Column, string> {
  const res = r.result;
  const rec = res?.recommendation;
  const leak = res?.verdict === 'Leak';
  const fit = limitFit(r);
  return {
    verdict: verdictText(r),
    ttl: res?.timeToLimitSeconds !== null && res?.timeToLimitSeconds !== undefined ? formatDuration(res.timeToLimitSeconds) : '-',
    container: `${r.namespace}/${r.pod}/${r.container}`,
    limit: r.limitBytes !== null ? quantity(r.limitBytes) : 'none',
    recommended: leak ? 'fix leak' : rec?.memoryLimitBytes != null ? quantity(rec.memoryLimitBytes) : '-',
    fit: fit === 'unknown' ? '' : fit === 'close' ? 'ok' : fit === 'none' ? 'no limit' : fit === 'below' ? 'too low' : 'too high',
    request: quantity(r.requestBytes),
    recommendedRequest: leak ? '-' : rec?.memoryRequestBytes != null ? quantity(rec.memoryRequestBytes) : '-',
    growth: res && res.verdict !== 'InsufficientData' ? formatRate(growthOf(res)) : '-',
    restarts: String(r.restarts),
    note: r.error ?? (res?.verdict === 'InsufficientData' ? res.explanation : '') + (r.notes.length ? `${res?.verdict === 'InsufficientData' ? ' ' : ''}${r.notes.join('; ')}` : ''),
  };
}

type Column = 'verdict' | 'ttl' | 'container' | 'limit' | 'recommended' | 'fit' | 'request' | 'recommendedRequest' | 'growth' | 'restarts' | 'note';
const COLUMNS: readonly [Column, string][] = [
  ['verdict', 'VERDICT'],
  ['ttl', 'TIME TO OOM'],
  ['container', 'NAMESPACE/POD/CONTAINER'],
  ['limit', 'LIMIT'],
  ['recommended', 'RECOMMENDED'],
  ['fit', 'FIT'],
  ['request', 'REQUEST'],
  ['recommendedRequest', 'REC. REQUEST'],
  ['growth', 'GROWTH'],
  ['restarts', 'RESTARTS'],
  ['note', 'NOTE'],
];

export interface FleetSummary {
  source: string;
  startMs: number;
  endMs: number;
  stepSeconds: number;
  queries: number;
  /** Scan-wide notes (metrics absent everywhere, namespaces that could not be listed). */
  warnings: string[];
}

/** The terminal table, most urgent first, with a one-line summary above it. */
export function renderFleetTable(rows: readonly FleetRow[], summary: FleetSummary): string {
  const ordered = urgencyOrder(rows);
  const table = ordered.map(cells);
  const width = (c: Column, title: string) => Math.min(c === 'container' ? 70 : c === 'note' ? 1000 : 24, Math.max(title.length, ...table.map((t) => t[c].length)));
  const widths = COLUMNS.map(([c, t]) => width(c, t));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}~` : v).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [summaryLine(rows, summary), ...summary.warnings.map((w) => `warning: ${w}`), '', line(COLUMNS.map(([, t]) => t)), ...table.map((t) => line(COLUMNS.map(([c]) => t[c])))];
  return out.join('\n') + '\n';
}

export function summaryLine(rows: readonly FleetRow[], s: FleetSummary): string {
  const count = (p: (r: FleetRow) => boolean) => rows.filter(p).length;
  const leaks = count((r) => r.result?.verdict === 'Leak');
  const far = count((r) => ['below', 'above'].includes(limitFit(r)));
  const none = count((r) => limitFit(r) === 'none');
  const errors = count((r) => r.result === null);
  return `memaudit scan: ${rows.length} containers from ${s.source}, ${new Date(s.startMs).toISOString()} to ${new Date(s.endMs).toISOString()} at ${formatDuration(s.stepSeconds)} (${s.queries} queries): ${leaks} leaking, ${far} with a limit far from the recommendation, ${none} without a limit${errors ? `, ${errors} not read` : ''}`;
}

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** CSV with raw numbers (bytes, seconds) next to the verdict, most urgent first. */
export function renderFleetCsv(rows: readonly FleetRow[]): string {
  const header = ['namespace', 'pod', 'container', 'verdict', 'leak_source', 'time_to_limit_seconds', 'limit_bytes', 'recommended_limit_bytes', 'limit_fit', 'request_bytes', 'recommended_request_bytes', 'growth_bytes_per_hour', 'restarts', 'samples', 'error', 'note'];
  const lines = [header.join(',')];
  for (const r of urgencyOrder(rows)) {
    const res = r.result;
    const num = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v)));
    lines.push(
      [
        r.namespace,
        r.pod,
        r.container,
        res?.verdict ?? 'Error',
        res?.leakSource ?? '',
        num(res?.timeToLimitSeconds),
        num(r.limitBytes),
        num(res?.verdict === 'Leak' ? null : res?.recommendation.memoryLimitBytes),
        limitFit(r),
        num(r.requestBytes),
        num(res?.verdict === 'Leak' ? null : res?.recommendation.memoryRequestBytes),
        num(res && res.verdict !== 'InsufficientData' ? growthOf(res) : null),
        String(r.restarts),
        num(res?.window.samples),
        r.error ?? '',
        r.notes.join('; '),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** The JSON/YAML document: the scan, then one object per container (analyze's result contract), most urgent first. */
export function fleetDocument(rows: readonly FleetRow[], s: FleetSummary): Record<string, unknown> {
  return {
    scan: { source: s.source, start: new Date(s.startMs).toISOString(), end: new Date(s.endMs).toISOString(), stepSeconds: s.stepSeconds, queries: s.queries, containers: rows.length, warnings: s.warnings },
    containers: urgencyOrder(rows).map((r) => ({
      namespace: r.namespace,
      pod: r.pod,
      container: r.container,
      limitBytes: r.limitBytes,
      requestBytes: r.requestBytes,
      limitFit: limitFit(r),
      restarts: r.restarts,
      notes: r.notes,
      ...(r.result ? toJsonObject(r.result) : { verdict: null, error: r.error }),
    })),
  };
}

/** One line of progress for a terminal: `[#####.....] 12/50 batches, 1200 containers, 156 queries`. */
export function progressLine(done: number, total: number, containers: number, queries: number, width = 30): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  return `memaudit scan [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} batches, ${containers} containers, ${queries} queries`;
}
