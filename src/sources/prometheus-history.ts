// A batch's Prometheus history -> one downsampled series of MemorySamples per container (pure).
//
// The query results of one batch (src/sources/promql.ts: the moving metrics at the step, the slow
// ones at a coarse step) are laid on the step's grid in typed arrays, one column per field, and a
// sample is made for every step that has container_memory_usage_bytes. The slow metrics fill the
// steps their max_over_time window covers (the limit, mapped_file's peak, counters).
//
// Restarts: the cgroup `id` of the usage series names the container's incarnation (a restarted
// container gets a new cgroup) and becomes the sample's `instance`, as the kubelet reader does.
// Where the id label was dropped, kube-state-metrics' restarts counter stands in: it is read at
// the coarse step, so its rise is placed at the largest fall of usage within the coarse bucket.
// A restart with last_terminated_reason OOMKilled counts as an OOM kill (memoryEvents.oomKill),
// as does cAdvisor's container_oom_events_total.
//
// Downsampling (memory stays bounded whatever the range): time is cut into at most `maxBuckets`
// equal buckets of steps; each keeps its sample of lowest usage and its sample of highest usage,
// whole (fields of one instant: the engine derives components from them), and the first and last
// samples and both sides of a restart are always kept. The lower envelope the engine fits, the
// falls it looks for and the peaks survive. (src/model/series.ts on the inputs branch holds a
// streaming version of the same rule for the file readers; this one works on the grid it has.)
import type { MemorySample } from '../model/sample.ts';
import { containerKeyFromLabels, containerKeyString, limitBytesFromSpec, type ContainerKey } from './cadvisor.ts';
import type { MatrixSeries } from './prometheus-json.ts';
import { coarseRange, HISTORY_METRICS, pointsOf, type HistoryField, type HistoryMetric, type HistoryRange } from './promql.ts';

export interface ContainerHistory {
  key: ContainerKey;
  /** Sorted by time, downsampled. */
  samples: MemorySample[];
  /** Steps with usage before downsampling. */
  points: number;
  /** The newest memory limit (cAdvisor's, else kube-state-metrics'); null = none or unknown. */
  limitBytes: number | null;
  /** The newest memory request (kube-state-metrics); null = none or unknown. */
  requestBytes: number | null;
  /** Restarts seen in the range (new cgroup ids, or the restarts counter's rise). */
  restarts: number;
  /** Metrics the verdict leans on that this container has no series of, while others in the batch do. */
  missing: string[];
}

type FineField = 'usageBytes' | 'workingSetBytes' | 'fileBytes' | 'anonBytes';
type CoarseField = Exclude<HistoryField, FineField>;
const FINE_FIELDS: readonly FineField[] = ['usageBytes', 'workingSetBytes', 'fileBytes', 'anonBytes'];

interface Column {
  key: ContainerKey;
  fine: Partial<Record<FineField, Float64Array>>;
  /** Index into ids of the usage series' cgroup id at each step; -1 = none. */
  idAt: Int32Array | null;
  ids: string[];
  coarse: Partial<Record<CoarseField, Float64Array>>;
}

export const DEFAULT_MAX_BUCKETS = 300;

export class HistoryAssembler {
  readonly #range: HistoryRange;
  readonly #coarse: HistoryRange;
  readonly #steps: number;
  readonly #coarseSteps: number;
  readonly #maxBuckets: number;
  readonly #columns = new Map<string, Column>();
  readonly #seen = new Set<HistoryField>();

  constructor(range: HistoryRange, options: { maxBuckets?: number } = {}) {
    this.#range = range;
    this.#coarse = coarseRange(range);
    this.#steps = pointsOf(range);
    this.#coarseSteps = pointsOf(this.#coarse);
    this.#maxBuckets = Math.max(1, options.maxBuckets ?? DEFAULT_MAX_BUCKETS);
  }

  /** The metrics of which at least one series arrived. */
  get seen(): ReadonlySet<HistoryField> {
    return this.#seen;
  }

  #column(key: ContainerKey): Column {
    const ks = containerKeyString(key);
    let c = this.#columns.get(ks);
    if (!c) this.#columns.set(ks, (c = { key, fine: {}, idAt: null, ids: [], coarse: {} }));
    return c;
  }

  /** Lays one query's series on the grid. Series that are not a container's (pod cgroup, pause) are skipped. */
  add(metric: HistoryMetric, series: readonly MatrixSeries[]): void {
    // A restarted container's new cgroup wins where the two overlap (Prometheus' lookback can
    // return the old one for a few minutes): series are laid in the order they start.
    const ordered = [...series].sort((a, b) => (a.timestampsMs[0] ?? 0) - (b.timestampsMs[0] ?? 0));
    for (const s of ordered) {
      const key = containerKeyFromLabels(s.labels);
      if (!key || s.timestampsMs.length === 0) continue;
      this.#seen.add(metric.field);
      const col = this.#column(key);
      if (metric.resolution === 'fine') this.#addFine(col, metric.field as FineField, s);
      else this.#addCoarse(col, metric.field as CoarseField, s);
    }
  }

  /** Drops what arrived of a metric (one of its time chunks failed: half a series misleads). */
  forget(field: HistoryField): void {
    this.#seen.delete(field);
    for (const col of this.#columns.values()) {
      if (field === 'usageBytes') {
        col.idAt = null;
        col.ids = [];
      }
      delete col.fine[field as FineField];
      delete col.coarse[field as CoarseField];
    }
  }

  #addFine(col: Column, field: FineField, s: MatrixSeries): void {
    const { startMs, stepMs } = this.#range;
    let arr = col.fine[field];
    if (!arr) col.fine[field] = arr = new Float64Array(this.#steps).fill(NaN);
    let idIndex = -1;
    let idAt: Int32Array | null = null;
    if (field === 'usageBytes') {
      idAt = col.idAt ??= new Int32Array(this.#steps).fill(-1);
      const id = s.labels.id;
      if (id) {
        idIndex = col.ids.indexOf(id);
        if (idIndex < 0) idIndex = col.ids.push(id) - 1;
      }
    }
    const ts = s.timestampsMs;
    const vs = s.values;
    for (let i = 0; i < ts.length; i++) {
      const k = Math.round((ts[i]! - startMs) / stepMs);
      const v = vs[i]!;
      if (k < 0 || k >= this.#steps || !Number.isFinite(v) || v < 0) continue;
      arr[k] = v;
      if (idAt) idAt[k] = idIndex;
    }
  }

  #addCoarse(col: Column, field: CoarseField, s: MatrixSeries): void {
    const { startMs, stepMs } = this.#coarse;
    let arr = col.coarse[field];
    if (!arr) col.coarse[field] = arr = new Float64Array(this.#coarseSteps).fill(NaN);
    const ts = s.timestampsMs;
    const vs = s.values;
    for (let i = 0; i < ts.length; i++) {
      const k = Math.round((ts[i]! - startMs) / stepMs);
      let v = vs[i]!;
      if (field === 'limitBytes') v = limitBytesFromSpec(v) ?? NaN;
      if (k < 0 || k >= this.#coarseSteps || Number.isNaN(v)) continue;
      // Several series of one container (two scrape jobs, two cgroups): the largest.
      if (!(arr[k]! >= v)) arr[k] = v;
    }
  }

  /** Every container with usage in the range, sorted by namespace/pod/container. */
  containers(): ContainerHistory[] {
    const out: ContainerHistory[] = [];
    for (const col of [...this.#columns.values()].sort((a, b) => containerKeyString(a.key).localeCompare(containerKeyString(b.key)))) {
      const h = this.#history(col);
      if (h) out.push(h);
    }
    return out;
  }

  #history(col: Column): ContainerHistory | null {
    const usage = col.fine.usageBytes;
    if (!usage) return null;
    const n = this.#steps;
    const { startMs, stepMs } = this.#range;
    const coarse = this.#coarse;
    // The coarse point whose window covers a step: the first at or after it.
    const coarseIndex = new Int32Array(n);
    for (let k = 0; k < n; k++) coarseIndex[k] = Math.min(this.#coarseSteps - 1, Math.max(0, Math.ceil((startMs + k * stepMs - coarse.startMs) / coarse.stepMs)));
    const filled: Partial<Record<CoarseField, Float64Array>> = {};
    for (const [f, arr] of Object.entries(col.coarse) as [CoarseField, Float64Array][]) filled[f] = fillGaps(arr);

    const instance = this.#instances(col, usage, coarseIndex, filled.restarts);
    const oomKills = oomKillCounts(filled, coarseIndex, instance.restartAt, n);

    const keep = envelopeIndices(usage, instance.boundaries, this.#maxBuckets);
    const samples: MemorySample[] = [];
    let points = 0;
    for (let k = 0; k < n; k++) if (Number.isFinite(usage[k]!)) points++;
    for (const k of keep) {
      const s: MemorySample = { timestampMs: startMs + k * stepMs, usageBytes: usage[k]! };
      for (const f of FINE_FIELDS) {
        if (f === 'usageBytes') continue;
        const v = col.fine[f]?.[k];
        if (v !== undefined && Number.isFinite(v)) s[f] = v;
      }
      const c = coarseIndex[k]!;
      const at = (f: CoarseField): number | undefined => {
        const v = filled[f]?.[c];
        return v !== undefined && Number.isFinite(v) ? v : undefined;
      };
      const limit = at('limitBytes') ?? (at('ksmLimitBytes') !== undefined ? limitBytesFromSpec(at('ksmLimitBytes')!) : undefined);
      if (limit !== undefined) s.limitBytes = limit;
      const mapped = at('mappedFileBytes');
      if (mapped !== undefined) s.mappedFileBytes = mapped;
      const failCount = at('failCount');
      if (failCount !== undefined) s.failCount = failCount;
      const majorFaults = at('majorFaultCount');
      if (majorFaults !== undefined) s.majorFaultCount = majorFaults;
      if (oomKills) s.memoryEvents = { oomKill: oomKills[k]! };
      const inst = instance.names[k];
      if (inst !== undefined) s.instance = inst;
      samples.push(s);
    }
    const newest = (f: CoarseField): number | null => {
      const arr = filled[f];
      const v = arr?.[arr.length - 1];
      return v !== undefined && Number.isFinite(v) ? v : null;
    };
    const cadvisorLimit = newest('limitBytes');
    const ksmLimit = newest('ksmLimitBytes');
    const ksmRequest = newest('ksmRequestBytes');
    const missing = FINE_FIELDS.filter((f) => !col.fine[f] && this.#seen.has(f)).map((f) => HISTORY_METRICS.find((m) => m.field === f)!.metric);
    if (!col.coarse.limitBytes && !col.coarse.ksmLimitBytes && (this.#seen.has('limitBytes') || this.#seen.has('ksmLimitBytes'))) missing.push('container_spec_memory_limit_bytes');
    return {
      key: col.key,
      samples,
      points,
      limitBytes: cadvisorLimit ?? (ksmLimit !== null ? (limitBytesFromSpec(ksmLimit) ?? null) : null),
      requestBytes: ksmRequest !== null && ksmRequest > 0 ? ksmRequest : null,
      restarts: instance.boundaries.length,
      missing,
    };
  }

  /** The instance of each step, and where it changes. */
  #instances(col: Column, usage: Float64Array, coarseIndex: Int32Array, restarts: Float64Array | undefined): { names: (string | undefined)[]; boundaries: number[]; restartAt: Set<number> } {
    const n = this.#steps;
    const names: (string | undefined)[] = new Array(n);
    const boundaries: number[] = [];
    const restartAt = new Set<number>();
    if (col.ids.length > 0 && col.idAt) {
      let prev = -1;
      for (let k = 0; k < n; k++) {
        if (!Number.isFinite(usage[k]!)) continue;
        const id = col.idAt[k]!;
        if (id >= 0) names[k] = col.ids[id];
        if (prev >= 0 && id >= 0 && id !== prev) {
          boundaries.push(k);
          restartAt.add(k);
        }
        if (id >= 0) prev = id;
      }
      return { names, boundaries, restartAt };
    }
    if (!restarts) return { names, boundaries, restartAt };
    // No cgroup ids: the restarts counter, its rise placed at the largest fall within its bucket.
    let count = restarts[coarseIndex[0]!]!;
    let bucketStart = 0;
    for (let k = 0; k <= n; k++) {
      if (k < n && coarseIndex[k] === coarseIndex[bucketStart]) continue;
      const value = restarts[coarseIndex[bucketStart]!]!;
      let at = bucketStart;
      if (Number.isFinite(value) && Number.isFinite(count) && value > count) {
        let biggest = -Infinity;
        for (let j = Math.max(1, bucketStart); j < k; j++) {
          const drop = usage[j - 1]! - usage[j]!;
          if (drop > biggest) {
            biggest = drop;
            at = j;
          }
        }
        for (let j = bucketStart; j < at; j++) names[j] = `restarts=${count}`;
        boundaries.push(at);
        restartAt.add(at);
        count = value;
        for (let j = at; j < k; j++) names[j] = `restarts=${count}`;
      } else {
        if (Number.isFinite(value) && value < count) count = value; // a new pod of the same name
        for (let j = bucketStart; j < k; j++) names[j] = Number.isFinite(count) ? `restarts=${count}` : undefined;
      }
      bucketStart = k;
    }
    for (let k = 0; k < n; k++) if (!Number.isFinite(usage[k]!)) names[k] = undefined;
    return { names, boundaries: boundaries.filter((k) => Number.isFinite(usage[k]!)), restartAt };
  }
}

/** NaNs take the next known value (a coarse point's window reaches back over them), trailing ones the last. */
function fillGaps(arr: Float64Array): Float64Array {
  const out = Float64Array.from(arr);
  let next = NaN;
  for (let i = out.length - 1; i >= 0; i--) {
    if (Number.isNaN(out[i]!)) out[i] = next;
    else next = out[i]!;
  }
  let prev = NaN;
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i]!)) out[i] = prev;
    else prev = out[i]!;
  }
  return out;
}

/**
 * Cumulative OOM kills at each step: cAdvisor's container_oom_events_total where it exists, else
 * the restarts whose coarse bucket (or the next) says the last termination was OOMKilled.
 * Null when neither source is there.
 */
function oomKillCounts(filled: Partial<Record<CoarseField, Float64Array>>, coarseIndex: Int32Array, restartAt: ReadonlySet<number>, n: number): Float64Array | null {
  if (filled.oomEvents) {
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = Number.isFinite(filled.oomEvents[coarseIndex[k]!]!) ? filled.oomEvents[coarseIndex[k]!]! : 0;
    return out;
  }
  const reason = filled.oomKilledReason;
  if (!reason) return null;
  const out = new Float64Array(n);
  let kills = 0;
  for (let k = 0; k < n; k++) {
    if (restartAt.has(k)) {
      const c = coarseIndex[k]!;
      if (reason[c] === 1 || reason[Math.min(reason.length - 1, c + 1)] === 1) kills++;
    }
    out[k] = kills;
  }
  return out;
}

/**
 * Indices to keep: the span from the first to the last finite step (a container that lived for
 * an hour of the week keeps its hour's detail) cut into at most maxBuckets buckets, each keeping
 * its lowest and its highest value; plus the first and last finite steps and both sides of every
 * boundary. Sorted.
 */
export function envelopeIndices(values: Float64Array, boundaries: readonly number[], maxBuckets: number): number[] {
  const n = values.length;
  let first = 0;
  while (first < n && !Number.isFinite(values[first]!)) first++;
  if (first === n) return [];
  let last = n - 1;
  while (!Number.isFinite(values[last]!)) last--;
  const width = Math.max(1, Math.ceil((last - first + 1) / maxBuckets));
  const keep = new Set<number>([first, last]);
  for (let start = first; start <= last; start += width) {
    let lo = -1;
    let hi = -1;
    for (let k = start; k < Math.min(last + 1, start + width); k++) {
      const v = values[k]!;
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < values[lo]!) lo = k;
      if (hi < 0 || v > values[hi]!) hi = k;
    }
    if (lo >= 0) keep.add(lo).add(hi);
  }
  for (const b of boundaries) {
    for (let k = b - 1; k >= 0; k--)
      if (Number.isFinite(values[k]!)) {
        keep.add(k);
        break;
      }
    if (Number.isFinite(values[b]!)) keep.add(b);
  }
  return [...keep].sort((a, b) => a - b);
}
