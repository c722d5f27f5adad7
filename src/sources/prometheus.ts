import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { EnvelopeSeries } from '../model/series.ts';
import type { CadvisorField, ContainerKey } from './cadvisor.ts';
import { cadvisorField, containerKeyFromLabels, containerKeyString, limitBytesFromSpec } from './cadvisor.ts';
import type { FieldNames } from './checks.ts';
import { byteCountProblem, counterProblem, sampleProblem } from './checks.ts';
import { timestampProblem } from './clock.ts';
import { readCappedFile } from './files.ts';

/**
 * Prometheus `GET /api/v1/query_range` responses (resultType "matrix") for the cAdvisor memory
 * series -> one time series of MemorySamples per (namespace, pod, container):
 *
 *   {"status":"success","data":{"resultType":"matrix","result":[
 *     {"metric":{"__name__":"container_memory_usage_bytes","namespace":"shop","pod":"n3-0","container":"app",...},
 *      "values":[[1435781430.781,"1"],[1435781445.781,"1"]]}, ...]}}
 *
 * Input: one response, a JSON array of responses, or JSON lines with one response each (typically
 * one query per metric: container_memory_usage_bytes{namespace="shop"}, ..._working_set_bytes,
 * ..._cache, ..._rss, ..._mapped_file, container_memory_total_inactive_file_bytes,
 * container_spec_memory_limit_bytes). Series are joined by (namespace, pod, container) and by
 * timestamp; the field mapping is cAdvisor's (CADVISOR_MEMORY_METRICS). A point in time without
 * container_memory_usage_bytes is dropped (usage is the one required field).
 *
 * Series need their `__name__`: query the raw metric, not an expression that drops it
 * (`sum by (...)`, `rate(...)`).
 *
 * Every point is checked (docs/formats.md, "Validation"): its time is unix seconds of a plausible
 * instant; its value is a decimal float string as the Prometheus API writes them (strconv 'f':
 * "123", "1.5e+09"), never "" or a Go-only spelling like "0x10"; a memory size is a whole,
 * non-negative, plausible number of bytes. "NaN" and "±Inf" are valid Prometheus values but no
 * memory size: they are refused, except "+Inf" for container_spec_memory_limit_bytes (no limit).
 * A response is one JSON document, read whole: files are capped at MAX_RESPONSE_BYTES.
 */

/**
 * The largest response file read. Prometheus answers at most 11,000 points per series
 * (query.max-samples and the range/step check), so even hundreds of containers stay far below;
 * reading a file whole takes a few times its size in memory, hence a cap rather than no limit.
 */
export const MAX_RESPONSE_BYTES = 256 * 2 ** 20;

export interface PrometheusOptions {
  /** "Now" for the plausibility of timestamps; Date.now() by default. */
  nowMs?: number;
  /** Buckets of each container's downsampled series (src/model/series.ts). */
  maxBuckets?: number;
}

export interface ContainerSeries {
  key: ContainerKey;
  /** Sorted by time. */
  samples: MemorySample[];
}

export interface PrometheusSeriesResult {
  containers: ContainerSeries[];
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A response and the line it came from, when the input was JSON lines. */
interface Entry {
  value: unknown;
  line?: number;
}

/** Splits a file into responses: one JSON value (a response or an array of them), or JSON lines. */
export function parsePrometheusResponsesText(text: string, source: string, options: PrometheusOptions = {}): PrometheusSeriesResult {
  if (text.trim() === '') throw new InputError(source, 'empty file: expected Prometheus /api/v1/query_range JSON responses');
  let entries: Entry[];
  try {
    const whole: unknown = JSON.parse(text);
    entries = Array.isArray(whole) ? whole.map((value) => ({ value })) : [{ value: whole }];
  } catch {
    entries = [];
    text.split('\n').forEach((l, i) => {
      if (l.trim() === '') return;
      try {
        entries.push({ value: JSON.parse(l), line: i + 1 });
      } catch (cause) {
        throw new InputError(source, `not JSON (${(cause as Error).message}): expected one Prometheus query_range response per line, or one JSON document`, { line: i + 1, cause });
      }
    });
  }
  return join(entries, source, options);
}

/** Joins already-decoded responses (e.g. from fetch) into per-container sample series. */
export function samplesFromPrometheusResponses(responses: readonly unknown[], source: string, options: PrometheusOptions = {}): PrometheusSeriesResult {
  return join(
    responses.map((value) => ({ value })),
    source,
    options,
  );
}

/** A sample value as the Prometheus API writes it: strconv.FormatFloat(v, 'f', -1, 64), or NaN/±Inf. */
const PROM_FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The number a point holds for its field, or the reason it cannot be one. */
function pointValue(text: string, f: CadvisorField): { value: number | undefined } | { problem: string } {
  if (f.kind === 'limit' && (text === '+Inf' || text === 'Inf')) return { value: undefined };
  if (text === 'NaN' || text === '+Inf' || text === '-Inf' || text === 'Inf') return { problem: `${JSON.stringify(text)} is a valid Prometheus value but not a usable ${f.kind === 'seconds' ? 'time' : f.kind === 'count' ? 'count' : 'memory size'}` };
  if (!PROM_FLOAT.test(text)) return { problem: `${JSON.stringify(text.slice(0, 40))} is not a decimal number as the Prometheus API writes sample values` };
  const v = Number(text);
  switch (f.kind) {
    case 'limit': {
      if (v === 0 || v >= 2 ** 62) return { value: limitBytesFromSpec(v) };
      const p = byteCountProblem(v);
      return p ? { problem: p } : { value: v };
    }
    case 'bytes': {
      const p = byteCountProblem(v);
      return p ? { problem: p } : { value: v };
    }
    case 'count': {
      const p = counterProblem(v);
      return p ? { problem: p } : { value: v };
    }
    case 'seconds':
      return Number.isFinite(v) && v >= 0 ? { value: Math.round(v * 1e6) } : { problem: `must be non-negative seconds, got ${text}` };
  }
}

type Point = Partial<Record<keyof MemorySample, number>>;

/**
 * Which container a series belongs to. Kubernetes cAdvisor series carry namespace/pod/container
 * (pod-level cgroups and the pause container have none and are skipped); standalone cAdvisor next
 * to Docker carries the container's `name`; a series with neither (a relabelled or hand-filtered
 * query, or a system cgroup of standalone cAdvisor) is keyed by its cgroup `id`, or joins the one
 * unnamed container. Unnamed ones are dropped when named containers are present (unnamedKey).
 */
function seriesKey(labels: Readonly<Record<string, string>>): ContainerKey | null {
  const k8s = ['namespace', 'pod', 'pod_name', 'container', 'container_name'].some((l) => labels[l] !== undefined && labels[l] !== '');
  if (k8s) return containerKeyFromLabels(labels);
  if (labels.name) return { namespace: '', pod: '', container: labels.name };
  if (labels.id) return { namespace: '', pod: '', container: labels.id };
  return { namespace: '', pod: '', container: '' };
}

/** How a person names the container: namespace/pod/container, or just the Docker name. */
export function seriesName(k: ContainerKey): string {
  return k.namespace === '' && k.pod === '' ? k.container || '(unnamed)' : containerKeyString(k);
}

/** A key from a cgroup id or from nothing: a container with no name. */
const unnamedKey = (k: ContainerKey) => k.namespace === '' && k.pod === '' && (k.container === '' || k.container.startsWith('/'));

function join(entries: readonly Entry[], source: string, options: PrometheusOptions): PrometheusSeriesResult {
  const nowMs = options.nowMs ?? Date.now();
  const perContainer = new Map<string, { key: ContainerKey; points: Map<number, Point>; instances: Map<number, string>; names: FieldNames }>();
  const ignoredMetrics = new Set<string>();
  let conflicts = 0;

  entries.forEach(({ value: resp, line }, ri) => {
    const at = line !== undefined ? { line } : {};
    const where = line !== undefined ? 'response' : `response[${ri}]`;
    if (!isObj(resp) || typeof resp.status !== 'string') throw new InputError(source, `${where}: expected a Prometheus API response with "status"`, at);
    if (resp.status !== 'success') {
      const detail = [resp.errorType, resp.error].filter((x) => typeof x === 'string').join(': ');
      throw new InputError(source, `${where}: Prometheus answered status "${resp.status}"${detail ? ` (${detail})` : ''}`, at);
    }
    if (!isObj(resp.data)) throw new InputError(source, `${where}: no "data" object`, at);
    const rt = resp.data.resultType;
    if (rt !== 'matrix') {
      throw new InputError(source, `${where}: resultType is ${JSON.stringify(rt)}, expected "matrix": use /api/v1/query_range (with start, end, step), not /api/v1/query`, at);
    }
    if (!Array.isArray(resp.data.result)) throw new InputError(source, `${where}: data.result must be an array`, at);
    resp.data.result.forEach((series: unknown, si: number) => {
      const sw = `${where}.data.result[${si}]`;
      if (!isObj(series) || !isObj(series.metric)) throw new InputError(source, `${sw}: expected {"metric": {...}, "values": [...]}`, at);
      const labels = series.metric as Record<string, unknown>;
      const bad = Object.entries(labels).find(([, v]) => typeof v !== 'string');
      if (bad) throw new InputError(source, `${sw}.metric.${bad[0]} must be a string label value, got ${JSON.stringify(bad[1]).slice(0, 40)}`, at);
      const name = labels.__name__;
      if (typeof name !== 'string') {
        throw new InputError(source, `${sw}: the series has no __name__ label; query the raw metric (e.g. container_memory_usage_bytes{namespace="..."}) rather than an expression that drops the name`, at);
      }
      const f = cadvisorField(name, labels as Record<string, string>);
      if (f === undefined) {
        ignoredMetrics.add(name);
        return;
      }
      if (f === null) return; // a memory series memaudit does not use (swap, minor faults)
      const field = f.field;
      const key = seriesKey(labels as Record<string, string>);
      if (!key) return; // pod-level cgroup or the pause container
      const values = series.values ?? [];
      if (!Array.isArray(values)) throw new InputError(source, `${sw} (${name}).values must be an array of [time, "value"] pairs`, at);
      const ks = containerKeyString(key);
      let c = perContainer.get(ks);
      if (!c) perContainer.set(ks, (c = { key, points: new Map(), instances: new Map(), names: {} }));
      c.names[field] ??= name;
      const points = c.points;
      values.forEach((pair: unknown, pi: number) => {
        const pw = `${sw} (${name}${seriesName(key) !== '(unnamed)' ? ` of ${seriesName(key)}` : ''}).values[${pi}]`;
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || typeof pair[1] !== 'string') {
          throw new InputError(source, `${pw}: expected [unix seconds, "value"], got ${JSON.stringify(pair).slice(0, 60)}`, at);
        }
        const tsMs = Math.round(pair[0] * 1000);
        const late = timestampProblem(tsMs, nowMs, { value: pair[0], unit: 's' });
        if (late) throw new InputError(source, `${pw}: time ${late}; query_range times are unix seconds`, at);
        const parsed = pointValue(pair[1], f);
        if ('problem' in parsed) throw new InputError(source, `${pw}: value ${parsed.problem}`, at);
        const value = parsed.value;
        if (value === undefined) return; // an unlimited limit: absent, not 0
        let p = points.get(tsMs);
        if (!p) points.set(tsMs, (p = {}));
        if (p[field] === undefined) p[field] = value;
        else if (p[field] !== value) conflicts++;
        // The cgroup path names the container's incarnation (a restart gets a new one).
        if (field === 'usageBytes' && typeof labels.id === 'string' && labels.id && !c!.instances.has(tsMs)) c!.instances.set(tsMs, labels.id);
      });
    });
  });

  const containers: ContainerSeries[] = [];
  let dropped = 0;
  for (const c of perContainer.values()) {
    const series = new EnvelopeSeries<MemorySample>({ time: (s) => s.timestampMs, value: (s) => s.usageBytes, ...(options.maxBuckets !== undefined ? { maxBuckets: options.maxBuckets } : {}) });
    for (const [timestampMs, p] of [...c.points.entries()].sort((a, b) => a[0] - b[0])) {
      if (p.usageBytes === undefined) {
        dropped++;
        continue;
      }
      const instance = c.instances.get(timestampMs);
      const sample = { timestampMs, ...p, ...(instance !== undefined ? { instance } : {}) } as MemorySample;
      const problem = sampleProblem(sample, c.names);
      if (problem) throw new InputError(source, `${seriesName(c.key)} at ${new Date(timestampMs).toISOString()}: ${problem.field}: ${problem.reason}`);
      series.add(sample);
    }
    if (series.added) containers.push({ key: c.key, samples: series.items() });
  }
  if (containers.some((c) => !unnamedKey(c.key))) {
    // Standalone cAdvisor also exports "/", "/docker", "/system.slice/...": not containers.
    for (let i = containers.length - 1; i >= 0; i--) if (unnamedKey(containers[i]!.key)) containers.splice(i, 1);
  }
  containers.sort((a, b) => containerKeyString(a.key).localeCompare(containerKeyString(b.key)));
  const warnings: string[] = [];
  if (conflicts) warnings.push(`${source}: ${conflicts} point(s) had two different values for the same container, metric and time (duplicate scrape jobs?); the first was kept`);
  if (dropped) warnings.push(`${source}: ${dropped} point(s) without container_memory_usage_bytes at that time were dropped`);
  if (ignoredMetrics.size) warnings.push(`${source}: ignored series of ${[...ignoredMetrics].sort().join(', ')} (not a cAdvisor memory metric)`);
  return { containers, warnings };
}

/** Reads a saved response file (one JSON document, an array, or JSON lines), at most MAX_RESPONSE_BYTES. */
export async function readPrometheusResponsesFile(path: string, options: PrometheusOptions = {}): Promise<PrometheusSeriesResult> {
  const bytes = await readCappedFile(path, MAX_RESPONSE_BYTES, 'a Prometheus response file');
  return parsePrometheusResponsesText(bytes.toString('utf8'), path, options);
}
