import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { noData, type NoData } from '../model/no-data.ts';

/**
 * kubelet `/metrics/cadvisor` (Prometheus text exposition format) -> one MemorySample per
 * (namespace, pod, container).
 *
 * Label sets differ by kubelet version: `container` / `pod` / `namespace` since Kubernetes 1.16,
 * `container_name` / `pod_name` before. Pod-level cgroups (`container=""`) and the sandbox
 * (`container="POD"` with dockershim; `container=""` with an image of pause under containerd) are
 * not containers and are skipped.
 *
 * Metric -> sample field (docs/memory-model.md):
 *   container_memory_usage_bytes               -> usageBytes (memory.current / usage_in_bytes)
 *   container_memory_working_set_bytes         -> workingSetBytes
 *   container_memory_cache                     -> fileBytes (v1 total_cache / v2 file; includes shmem)
 *   container_memory_rss                       -> anonBytes (v1 total_rss / v2 anon)
 *   container_memory_mapped_file               -> mappedFileBytes
 *   container_memory_total_active_file_bytes   -> activeFileBytes   (cAdvisor >= 0.47)
 *   container_memory_total_inactive_file_bytes -> inactiveFileBytes (cAdvisor >= 0.47)
 *   container_memory_kernel_usage              -> kernelBytes
 *   container_spec_memory_limit_bytes          -> limitBytes (0 = no limit)
 * and the reclaim counters (docs/memory-model.md, "Reclaim evidence"):
 *   container_memory_failcnt                                            -> failCount (cgroup v1)
 *   container_memory_failures_total{failure_type="pgmajfault",scope="container"} -> majorFaultCount
 *   container_pressure_memory_waiting_seconds_total (PSI "some", cAdvisor >= 0.50) -> pressureSomeMicros
 *   container_pressure_memory_stalled_seconds_total (PSI "full")        -> pressureFullMicros
 * cAdvisor exports no refault counter. container_memory_swap is read but MemorySample has no swap
 * field yet, so it is dropped.
 */

/** Identity of a Kubernetes container across kubelet sources (cAdvisor, summary API, Prometheus). */
export interface ContainerKey {
  namespace: string;
  pod: string;
  container: string;
}

export interface ContainerSample {
  key: ContainerKey;
  sample: MemorySample;
}

export const containerKeyString = (k: ContainerKey): string => `${k.namespace}/${k.pod}/${k.container}`;

/** Field each cAdvisor memory metric fills. Shared with the Prometheus query_range source. */
export const CADVISOR_MEMORY_METRICS: Readonly<Record<string, keyof MemorySample>> = {
  container_memory_usage_bytes: 'usageBytes',
  container_memory_working_set_bytes: 'workingSetBytes',
  container_memory_cache: 'fileBytes',
  container_memory_rss: 'anonBytes',
  container_memory_mapped_file: 'mappedFileBytes',
  container_memory_total_active_file_bytes: 'activeFileBytes',
  container_memory_total_inactive_file_bytes: 'inactiveFileBytes',
  container_memory_kernel_usage: 'kernelBytes',
  container_spec_memory_limit_bytes: 'limitBytes',
};

/** What a cAdvisor series holds: bytes, the limit (0 or ~2^63 = none), a count, or seconds. */
export type CadvisorValueKind = 'bytes' | 'limit' | 'count' | 'seconds';

export interface CadvisorField {
  field: keyof MemorySample;
  kind: CadvisorValueKind;
}

const RECLAIM_METRICS: Readonly<Record<string, CadvisorField>> = {
  container_memory_failcnt: { field: 'failCount', kind: 'count' },
  container_pressure_memory_waiting_seconds_total: { field: 'pressureSomeMicros', kind: 'seconds' },
  container_pressure_memory_stalled_seconds_total: { field: 'pressureFullMicros', kind: 'seconds' },
};
const FAILURES_METRIC = 'container_memory_failures_total';
const SWAP_METRIC = 'container_memory_swap';

/**
 * The sample field a cAdvisor series fills: a CadvisorField, null for a memory series memaudit
 * does not use (swap, minor faults, the hierarchy scope), undefined for any other metric.
 */
export function cadvisorField(name: string, labels: Readonly<Record<string, string>>): CadvisorField | null | undefined {
  const memory = CADVISOR_MEMORY_METRICS[name];
  if (memory !== undefined) return { field: memory, kind: memory === 'limitBytes' ? 'limit' : 'bytes' };
  const reclaim = RECLAIM_METRICS[name];
  if (reclaim !== undefined) return reclaim;
  if (name === FAILURES_METRIC) return labels.failure_type === 'pgmajfault' && (labels.scope === undefined || labels.scope === 'container') ? { field: 'majorFaultCount', kind: 'count' } : null;
  if (name === SWAP_METRIC) return null;
  return undefined;
}

/**
 * cgroup v1 reports "no limit" as ~2^63; cAdvisor passes that through on some versions and 0 on
 * others. Both mean unlimited.
 */
const UNLIMITED_THRESHOLD_BYTES = 2 ** 62;

/** limitBytes from a container_spec_memory_limit_bytes value: undefined when unlimited. */
export function limitBytesFromSpec(value: number): number | undefined {
  if (!Number.isFinite(value) || value <= 0 || value >= UNLIMITED_THRESHOLD_BYTES) return undefined;
  return value;
}

/** Reads the container identity from either label generation; null when the series is not a container. */
export function containerKeyFromLabels(labels: Readonly<Record<string, string>>): ContainerKey | null {
  const container = labels.container ?? labels.container_name ?? '';
  const pod = labels.pod ?? labels.pod_name ?? '';
  const namespace = labels.namespace ?? '';
  if (container === '' || container === 'POD' || pod === '' || namespace === '') return null;
  return { namespace, pod, container };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format tokenizer.
//
// Written by hand on purpose: the one npm parser for this format (parse-prometheus-text-format,
// prom2json-compatible output) drops sample timestamps, and kubelet's /metrics/cadvisor puts the
// cAdvisor housekeeping time on every sample, which is the time the numbers were read (up to
// ~15 s older than the scrape). prom-client only writes the format. The grammar is small:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details
// ---------------------------------------------------------------------------------------------

export interface PromTextSample {
  name: string;
  labels: Record<string, string>;
  /** NaN, +Inf and -Inf are kept as the JS values. */
  value: number;
  /** Milliseconds since the epoch, when the exposition carried one. */
  timestampMs?: number;
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

/**
 * Parses the Prometheus text exposition format. `wanted`, when given, skips every other metric
 * before its labels are parsed (a kubelet scrape is megabytes, memory metrics a small part).
 * HELP, TYPE and other comments are skipped.
 */
export function parsePrometheusText(text: string, source: string, wanted?: ReadonlySet<string>): PromTextSample[] {
  const out: PromTextSample[] = [];
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const sample = parseSampleLine(line, source, lineNo, wanted);
    if (sample) out.push(sample);
  }
  return out;
}

function parseSampleLine(line: string, source: string, lineNo: number, wanted?: ReadonlySet<string>): PromTextSample | null {
  const fail = (what: string): never => {
    throw new InputError(source, `expected a Prometheus text-format sample (name{labels} value [timestamp]): ${what} in ${JSON.stringify(line.slice(0, 120))}`, { line: lineNo });
  };
  NAME.lastIndex = 0;
  if (!NAME.test(line)) fail('bad metric name');
  let i = NAME.lastIndex;
  const name = line.slice(0, i);
  if (wanted && !wanted.has(name)) return null;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === '\t' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      LABEL_NAME.lastIndex = i;
      if (!LABEL_NAME.test(line)) fail('bad label name');
      const key = line.slice(i, LABEL_NAME.lastIndex);
      i = LABEL_NAME.lastIndex;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') fail(`no "=" after label ${key}`);
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') fail(`label ${key} value is not quoted`);
      i++;
      let value = '';
      for (;;) {
        const q = line.indexOf('"', i);
        const b = line.indexOf('\\', i);
        if (q < 0) fail(`unterminated value of label ${key}`);
        if (b < 0 || q < b) {
          value += line.slice(i, q);
          i = q + 1;
          break;
        }
        value += line.slice(i, b);
        const e = line[b + 1];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else if (e === undefined) fail(`unterminated value of label ${key}`);
        else value += `\\${e}`;
        i = b + 2;
      }
      labels[key] = value;
    }
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') fail('expected a value and an optional timestamp');
  const value = parseFloatToken(rest[0]!);
  if (value === undefined) fail(`bad value ${JSON.stringify(rest[0])}`);
  const sample: PromTextSample = { name, labels, value: value! };
  if (rest.length === 2) {
    if (!/^-?\d+$/.test(rest[1]!)) fail(`bad timestamp ${JSON.stringify(rest[1])}`);
    sample.timestampMs = Number(rest[1]);
  }
  return sample;
}

function parseFloatToken(t: string): number | undefined {
  switch (t) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

// ---------------------------------------------------------------------------------------------

export interface CadvisorScrape {
  containers: ContainerSample[];
  /** Containers seen in memory metrics but without container_memory_usage_bytes, or with 0 (not sampled). */
  withoutUsage: ContainerKey[];
}

export interface CadvisorOptions {
  /** Name of the input for errors (file path or URL). */
  source: string;
  /** When the scrape was taken; used for samples that carry no timestamp of their own. */
  scrapeTimeMs: number;
}

const WANTED = new Set([...Object.keys(CADVISOR_MEMORY_METRICS), ...Object.keys(RECLAIM_METRICS), FAILURES_METRIC, SWAP_METRIC]);

/**
 * Parses one `/metrics/cadvisor` scrape. A container whose cgroup was recreated (restart) can
 * appear twice with different `id` labels for one scrape; the cgroup with the newest
 * container_memory_usage_bytes timestamp wins. A usage of 0 is an empty cgroup, never a running
 * container: a kubelet (v1.35 with containerd 1.6) keeps serving an exited container's series for
 * a while after its restart, all zeros with fresh timestamps, beside the new one's or alone. Such
 * a series is not the container's sample.
 */
export function parseCadvisorMetrics(text: string, options: CadvisorOptions): CadvisorScrape {
  const perCgroup = new Map<string, { key: ContainerKey; cgroupId: string | undefined; fields: Partial<Record<keyof MemorySample, number>>; usageTs?: number; maxTs?: number }>();
  for (const s of parsePrometheusText(text, options.source, WANTED)) {
    const key = containerKeyFromLabels(s.labels);
    if (!key) continue;
    const id = `${containerKeyString(key)}\u0000${s.labels.id ?? ''}`;
    let entry = perCgroup.get(id);
    if (!entry) perCgroup.set(id, (entry = { key, cgroupId: s.labels.id || undefined, fields: {} }));
    if (s.timestampMs !== undefined) entry.maxTs = Math.max(entry.maxTs ?? -Infinity, s.timestampMs);
    const f = cadvisorField(s.name, s.labels);
    if (!f) continue; // swap: no field in the model yet
    const field = f.field;
    if (f.kind === 'seconds') {
      if (Number.isFinite(s.value) && s.value >= 0) entry.fields[field] = Math.round(s.value * 1e6);
      continue;
    }
    if (field === 'limitBytes') {
      const limit = limitBytesFromSpec(s.value);
      if (limit !== undefined) entry.fields.limitBytes = limit;
      continue;
    }
    if (!Number.isFinite(s.value)) continue; // NaN: cAdvisor could not read it; unknown, not 0
    entry.fields[field] = s.value;
    if (field === 'usageBytes' && s.timestampMs !== undefined) entry.usageTs = s.timestampMs;
  }

  const best = new Map<string, { key: ContainerKey; cgroupId: string | undefined; fields: Partial<Record<keyof MemorySample, number>>; ts: number; hasUsage: boolean }>();
  for (const e of perCgroup.values()) {
    const k = containerKeyString(e.key);
    const ts = e.usageTs ?? e.maxTs ?? options.scrapeTimeMs;
    const hasUsage = e.fields.usageBytes !== undefined && e.fields.usageBytes > 0;
    const prev = best.get(k);
    if (!prev || (hasUsage && !prev.hasUsage) || (hasUsage === prev.hasUsage && ts > prev.ts)) best.set(k, { key: e.key, cgroupId: e.cgroupId, fields: e.fields, ts, hasUsage });
  }

  const containers: ContainerSample[] = [];
  const withoutUsage: ContainerKey[] = [];
  for (const e of best.values()) {
    if (!e.hasUsage) {
      withoutUsage.push(e.key);
      continue;
    }
    const sample = { timestampMs: e.ts, ...e.fields } as MemorySample;
    // The cgroup path names the container's incarnation: a restarted container gets a new one.
    // Copied out: the parsed label is a slice of the whole scrape text, and a sample kept for hours
    // would keep its round's scrape (megabytes) alive with it.
    if (e.cgroupId !== undefined) sample.instance = copiedString(e.cgroupId);
    containers.push({ key: e.key, sample });
  }
  containers.sort((a, b) => containerKeyString(a.key).localeCompare(containerKeyString(b.key)));
  return { containers, withoutUsage };
}

/** A flat copy of a string: V8 keeps a slice of a long string as a view that pins the whole. */
function copiedString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** The sample of one container, or NoData when the scrape has none for it. */
export function findContainerSample(samples: readonly ContainerSample[], key: ContainerKey): MemorySample | NoData {
  const found = samples.find((c) => c.key.namespace === key.namespace && c.key.pod === key.pod && c.key.container === key.container);
  return found ? found.sample : noData(`no memory metrics for container ${containerKeyString(key)} in this scrape (not running on this node, or not started yet)`);
}

/** Reads a saved scrape (e.g. `kubectl get --raw /api/v1/nodes/N/proxy/metrics/cadvisor > file`). */
