// Impossible values, wrong shapes and implausible clocks in every recorded format: each is an
// InputError naming the input, the line (or the series and index) and the field
// (docs/formats.md, "Validation"). Lines are built from real captured objects, changed in one field.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expectInputError } from '../../helpers/errors.ts';
import { parseCgroupRecording } from '../../../src/sources/cgroup-recording.ts';
import { parseDockerStatsLines } from '../../../src/sources/docker-stats.ts';
import { goSampleFromMemStats } from '../../../src/sources/memstats.ts';
import { samplesFromPrometheusResponses } from '../../../src/sources/prometheus.ts';

const FIX = path.join(import.meta.dirname, '../../fixtures');
const NOW = Date.parse('2026-11-30T12:00:00Z');
const MiB = 2 ** 20;

type Obj = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);

// --- cgroup snapshots (the first lines of a real trace) -------------------------------------------
const traceLines = readFileSync(path.join(FIX, 'traces/pagecache-limit/trace.jsonl'), 'utf8').trim().split('\n').slice(0, 4);
const snapshots = traceLines.map((l) => JSON.parse(l) as Obj & { stat: Obj });
/** The recording with line `i` (0-based) replaced by `edit` of a copy of it. */
function cgroupWith(i: number, edit: (o: Obj & { stat: Obj }) => unknown): string {
  return snapshots.map((o, j) => JSON.stringify(j === i ? edit(clone(o)) : o)).join('\n') + '\n';
}
const cg = (text: string) => parseCgroupRecording(text, 'r.jsonl', { nowMs: NOW });

describe('cgroup recording: values', () => {
  it('reads the unchanged lines', () => {
    expect(cg(cgroupWith(0, (o) => o)).samples).toHaveLength(4);
  });

  it.each([
    ['a negative usage', (o: Obj) => ({ ...o, usage: -1 }), /^r\.jsonl:2: field "usage" must not be negative, got -1$/],
    ['a fractional usage', (o: Obj) => ({ ...o, usage: 1.5 }), /^r\.jsonl:2: field "usage" must be a whole number of bytes, got 1\.5$/],
    ['an absurd usage (1e300)', (o: Obj) => ({ ...o, usage: 1e300 }), /^r\.jsonl:2: field "usage" 1e\+300 bytes is not a plausible memory size/],
    ['usage as a word', (o: Obj) => ({ ...o, usage: 'lots' }), /^r\.jsonl:2: field "usage" must be a byte count \(a number\), got "lots"$/],
    ['a negative limit', (o: Obj) => ({ ...o, limit: -5 }), /^r\.jsonl:2: field "limit" must not be negative/],
    ['a negative total_rss', (o: Obj & { stat: Obj }) => ({ ...o, stat: { ...o.stat, total_rss: -4096 } }), /^r\.jsonl:2: stat\.total_rss must not be negative, got -4096$/],
    ['a fractional counter', (o: Obj & { stat: Obj }) => ({ ...o, stat: { ...o.stat, total_workingset_refault_file: 0.5 } }), /^r\.jsonl:2: stat\.total_workingset_refault_file must be a whole number/],
    ['stat as an array', (o: Obj) => ({ ...o, stat: [1, 2] }), /^r\.jsonl:2: field "stat" must be memory\.stat as an object of numbers or its raw text, got an array$/],
    ['stat missing', (o: Obj) => ({ ...o, stat: undefined }), /^r\.jsonl:2: field "stat" .* is missing$/],
    ['rss above usage', (o: Obj & { stat: Obj }) => ({ ...o, stat: { ...o.stat, total_rss: (o.usage as number) + 64 * MiB } }), /^r\.jsonl:2: stat\.total_rss: \d+ bytes is above usage \(\d+ bytes\) by more than the kernel's rounding/],
    ['usage far above the limit', (o: Obj) => ({ ...o, usage: 1024 * MiB }), /^r\.jsonl:2: (stat\.total_rss|usage): /],
    ['a negative failcnt', (o: Obj) => ({ ...o, failcnt: -1 }), /^r\.jsonl:2: field "failcnt" must not be negative/],
    ['events with a negative count', (o: Obj) => ({ ...o, events: { max: -3 } }), /^r\.jsonl:2: events\.max must not be negative/],
    ['pressure without some_total', (o: Obj) => ({ ...o, pressure: { full_total: 3 } }), /^r\.jsonl:2: pressure\.some_total must be a count/],
    ['a Go heap of -1', (o: Obj) => ({ ...o, go: { HeapInuse: -1 } }), /^r\.jsonl:2 go: MemStats\.HeapInuse must not be negative/],
  ])('refuses %s, naming file, line and field', (_what, edit, re) => {
    expectInputError(() => cg(cgroupWith(1, edit as (o: Obj & { stat: Obj }) => unknown)), re);
  });

  it('allows usage a page over the limit, as the kernel does', () => {
    const limited = snapshots.map((o) => ({ ...o, limit: 64 * MiB, usage: 64 * MiB + 4096, stat: { ...o.stat, hierarchical_memory_limit: 64 * MiB } }));
    expect(cg(limited.map((o) => JSON.stringify(o)).join('\n')).samples).toHaveLength(4);
  });

  it('refuses usage above the limit beyond 4 MiB or 3 %', () => {
    const over = snapshots.map((o) => ({ ...o, limit: 64 * MiB, usage: 72 * MiB, stat: { ...o.stat, hierarchical_memory_limit: 64 * MiB } }));
    expectInputError(() => cg(over.map((o) => JSON.stringify(o)).join('\n')), /^r\.jsonl:1: usage: 75497472 bytes is above limit \(67108864 bytes\) by more than the kernel can overshoot a limit/);
  });
});

describe('cgroup recording: clocks', () => {
  const at = (ms: number) => (o: Obj) => ({ ...o, ts: ms });
  it.each([
    ['a time of 0', at(0), /^r\.jsonl:2: field "ts": 0 read as seconds since the epoch is 1970-01-01T00:00:00\.000Z: a sample time must be after 2000-01-01/],
    ['the year 9999', (o: Obj) => ({ ...o, ts: '9999-12-31T00:00:00Z' }), /^r\.jsonl:2: field "ts" "9999-12-31T00:00:00Z": 9999-12-31T00:00:00\.000Z: a sample time must be after 2000-01-01 and at most a day after now/],
    ['epoch nanoseconds', at(1_764_500_000_000_000_000), /^r\.jsonl:2: field "ts": 1764500000000000000 read as milliseconds .* it looks like nanoseconds since the epoch; "ts" takes epoch milliseconds/],
    ['epoch microseconds', at(1_764_500_000_000_000), /looks like microseconds since the epoch/],
    ['a string that is no time', (o: Obj) => ({ ...o, ts: 'yesterday' }), /^r\.jsonl:2: field "ts" is not an ISO-8601 time: "yesterday"$/],
  ])('refuses %s, naming the line and the unit', (_what, edit, re) => {
    expectInputError(() => cg(cgroupWith(1, edit)), re);
  });

  const times = (...secondsFromStart: number[]) => snapshots.slice(0, secondsFromStart.length).map((o, i) => JSON.stringify({ ...o, ts: Date.parse('2026-11-27T22:00:00Z') + secondsFromStart[i]! * 1000 })).join('\n');

  it('names a line far from both neighbours', () => {
    expectInputError(() => cg(times(0, 1, 5000, 3)), /^r\.jsonl:3: field "ts": time 2026-11-27T23:23:20\.000Z is far from both neighbours \(line 2: .*, line 4: .*\)$/);
  });

  it('names a line that goes back in time by more than a clock step', () => {
    expectInputError(() => cg(times(100, 200, 10, 300)), /^r\.jsonl:3: field "ts": time .* goes back 3\.2 min from line 2/);
  });

  it('accepts a clock stepping back 2 s, and leaves a gap of an hour to the engine', () => {
    expect(cg(times(0, 10, 8, 20)).samples.map((s) => s.timestampMs - Date.parse('2026-11-27T22:00:00Z'))).toEqual([0, 8000, 10_000, 20_000]);
    expect(cg(times(0, 1, 3601, 3602)).samples).toHaveLength(4);
  });
});

// --- Docker stats (a real v1 stream) -------------------------------------------------------------
const dockerLines = readFileSync(path.join(FIX, 'docker-stats/pagecache-limit64m.jsonl'), 'utf8').trim().split('\n').slice(0, 4);
const dockerObjects = dockerLines.map((l) => JSON.parse(l) as Obj & { memory_stats: Obj & { stats: Obj } });
function dockerWith(i: number, edit: (o: Obj & { memory_stats: Obj & { stats: Obj } }) => unknown): string {
  return dockerObjects.map((o, j) => JSON.stringify(j === i ? edit(clone(o)) : o)).join('\n') + '\n';
}
const docker = (text: string, container?: string) => parseDockerStatsLines(text, 's.jsonl', { nowMs: NOW, ...(container !== undefined ? { container } : {}) });

describe('Docker stats stream: values and shapes', () => {
  type D = Obj & { memory_stats: Obj & { stats: Obj } };
  it.each([
    ['"stats": "oops"', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, stats: 'oops' } }), /^s\.jsonl:3: memory_stats\.stats must be an object \(memory\.stat\), got "oops"$/],
    ['memory_stats missing', (o: D) => ({ ...o, memory_stats: undefined }), /^s\.jsonl:3: no "memory_stats" object/],
    ['memory_stats as a number', (o: D) => ({ ...o, memory_stats: 5 }), /^s\.jsonl:3: field "memory_stats" must be an object, got 5$/],
    ['a negative usage', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, usage: -1 } }), /^s\.jsonl:3: memory_stats\.usage must not be negative/],
    ['a usage of 1e300', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, usage: 1e300 } }), /^s\.jsonl:3: memory_stats\.usage 1e\+300 bytes is not a plausible memory size/],
    ['a negative limit', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, limit: -1 } }), /^s\.jsonl:3: memory_stats\.limit must not be negative/],
    ['all-negative total_rss', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, stats: { ...o.memory_stats.stats, total_rss: -1_000_000 } } }), /^s\.jsonl:3: memory_stats\.stats\.total_rss must not be negative/],
    ['a stat that is a string', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, stats: { ...o.memory_stats.stats, total_cache: '12' } } }), /^s\.jsonl:3: memory_stats\.stats\.total_cache must be a byte count \(a number\), got "12"$/],
    ['rss above usage', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, stats: { ...o.memory_stats.stats, total_rss: 200 * MiB } } }), /^s\.jsonl:3: memory_stats\.stats\.total_rss: 209715200 bytes is above memory_stats\.usage/],
    ['usage far above the limit', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, usage: 512 * MiB } }), /^s\.jsonl:3: memory_stats\.usage: 536870912 bytes is above memory_stats\.limit \(67108864 bytes\)/],
    ['a negative failcnt', (o: D) => ({ ...o, memory_stats: { ...o.memory_stats, failcnt: -2 } }), /^s\.jsonl:3: memory_stats\.failcnt must not be negative/],
    ['a time in the year 9999', (o: D) => ({ ...o, read: '9999-01-01T00:00:00Z' }), /^s\.jsonl:3: field "read" "9999-01-01T00:00:00Z": 9999-01-01T00:00:00\.000Z: a sample time must be/],
    ['the year 1970', (o: D) => ({ ...o, read: '1970-01-01T00:00:01Z' }), /^s\.jsonl:3: field "read" .*: a sample time must be after 2000-01-01/],
    ['an id that is a number', (o: D) => ({ ...o, id: 7 }), /^s\.jsonl:3: field "id" must be a string, got 7$/],
  ])('refuses %s, naming file, line and field', (_what, edit, re) => {
    expectInputError(() => docker(dockerWith(2, edit)), re);
  });

  it('names a line that goes back in time', () => {
    expectInputError(() => docker(dockerWith(2, (o) => ({ ...o, read: '2026-11-27T22:00:00Z' }))), /^s\.jsonl:3: field "read": time 2026-11-27T22:00:00\.000Z goes back/);
  });
});

describe('Docker stats stream: several containers', () => {
  const other = dockerObjects.map((o) => ({ ...o, id: 'f'.repeat(64), name: '/other' }));
  const mixed = [dockerObjects[0], other[0], dockerObjects[1], other[1]].map((o) => JSON.stringify(o)).join('\n');

  it('refuses a stream of two containers, naming them and --container', () => {
    expectInputError(() => docker(mixed), /^s\.jsonl: the stream holds the stats of 2 containers \(memaudit-rec-pagecache-limit64m \([0-9a-f]{12}\), 2 object\(s\) from line 1; other \(ffffffffffff\), 2 object\(s\) from line 2\); pick one with --container NAME\|ID$/);
  });

  it('picks one by name (with or without "/") or by an id prefix, checking its clock alone', () => {
    expect(docker(mixed, 'other').samples).toHaveLength(2);
    expect(docker(mixed, '/other').containerName).toBe('other');
    const byId = docker(mixed, dockerObjects[0]!.id as string);
    expect(byId.containerName).toBe('memaudit-rec-pagecache-limit64m');
    expect(docker(mixed, 'ffff').samples).toHaveLength(2);
  });

  it('says which containers there are when --container matches none', () => {
    expectInputError(() => docker(mixed, 'web'), /^s\.jsonl: no container "web" in the stream; it holds: memaudit-rec-pagecache-limit64m .*; other \(ffffffffffff\)/);
  });
});

describe('Docker stats: reclaim counters of a real stream', () => {
  it('carries failcnt once the 64 MiB limit is hit, and pgmajfault throughout', () => {
    const text = readFileSync(path.join(FIX, 'docker-stats/pagecache-limit64m.jsonl'), 'utf8');
    const objs = text.trim().split('\n').map((l) => JSON.parse(l) as { memory_stats: { failcnt?: number; stats: { total_pgmajfault: number } } });
    const rec = parseDockerStatsLines(text, 'limit64m.jsonl', { nowMs: NOW });
    rec.samples.forEach((s, i) => {
      expect(s.failCount).toBe(objs[i]!.memory_stats.failcnt); // omitted (undefined) until the first failure
      expect(s.majorFaultCount).toBe(objs[i]!.memory_stats.stats.total_pgmajfault);
    });
    expect(rec.samples.at(-1)!.failCount).toBeGreaterThan(80_000);
    expect(rec.samples[0]!.failCount).toBeUndefined();
  });
});

// --- Prometheus query_range ----------------------------------------------------------------------
describe('Prometheus responses: values and clocks', () => {
  const T0 = 1_764_500_000;
  const metric = (name: string, extra: Obj = {}) => ({ __name__: name, namespace: 'shop', pod: 'n3-0', container: 'app', id: '/kubepods/pod1/app', ...extra });
  const resp = (...result: unknown[]) => ({ status: 'success', data: { resultType: 'matrix', result } });
  const usage = (values: unknown[]) => resp({ metric: metric('container_memory_usage_bytes'), values });
  const prom = (...responses: unknown[]) => samplesFromPrometheusResponses(responses, 'q.json', { nowMs: NOW });

  it.each([
    ['""', [[T0, '']], /^q\.json: response\[0\]\.data\.result\[0\] \(container_memory_usage_bytes of shop\/n3-0\/app\)\.values\[0\]: value "" is not a decimal number as the Prometheus API writes sample values$/],
    ['"0x10"', [[T0, '0x10']], /values\[0\]: value "0x10" is not a decimal number/],
    ['"NaN"', [[T0, 'NaN']], /values\[0\]: value "NaN" is a valid Prometheus value but not a usable memory size$/],
    ['"-1"', [[T0, '-1']], /values\[0\]: value must not be negative, got -1$/],
    ['"1e300"', [[T0, '1e300']], /values\[0\]: value 1e\+300 bytes is not a plausible memory size/],
    ['"1.5" bytes', [[T0, '1.5']], /values\[0\]: value must be a whole number of bytes, got 1\.5$/],
    ['a pair of strings', [[String(T0), '1']], /values\[0\]: expected \[unix seconds, "value"\]/],
    ['a three-element point', [[T0, '1', 'x']], /values\[0\]: expected \[unix seconds, "value"\]/],
    ['a time of 0', [[0, '1']], /values\[0\]: time 0 read as seconds since the epoch is 1970-01-01T00:00:00\.000Z: a sample time must be/],
    ['a time in milliseconds', [[T0 * 1000, '1']], /values\[0\]: time 1764500000000 read as seconds since the epoch is .*; it looks like milliseconds since the epoch; query_range times are unix seconds$/],
  ])('refuses a value %s, naming the series and the index', (_what, values, re) => {
    expectInputError(() => prom(usage(values)), re);
  });

  it('reads "+Inf" and 0 as no limit for container_spec_memory_limit_bytes only', () => {
    const limit = resp({ metric: metric('container_spec_memory_limit_bytes'), values: [[T0, '+Inf'], [T0 + 15, '0']] });
    const r = prom(usage([[T0, '100'], [T0 + 15, '200']]), limit);
    expect(r.containers[0]!.samples.map((s) => s.limitBytes)).toEqual([undefined, undefined]);
  });

  it('refuses rss above usage and usage above the limit at one instant, naming the container and time', () => {
    const rss = resp({ metric: metric('container_memory_rss'), values: [[T0, String(512 * MiB)]] });
    expectInputError(() => prom(usage([[T0, String(100 * MiB)]]), rss), /^q\.json: shop\/n3-0\/app at 2025-11-30T10:53:20\.000Z: container_memory_rss: 536870912 bytes is above container_memory_usage_bytes/);
    const limit = resp({ metric: metric('container_spec_memory_limit_bytes'), values: [[T0, String(64 * MiB)]] });
    expectInputError(() => prom(usage([[T0, String(1024 * MiB)]]), limit), /container_memory_usage_bytes: 1073741824 bytes is above container_spec_memory_limit_bytes/);
  });

  it('reads the reclaim counters cAdvisor exports', () => {
    const r = prom(
      usage([[T0, '100']]),
      resp({ metric: metric('container_memory_failcnt'), values: [[T0, '42']] }),
      resp(
        { metric: metric('container_memory_failures_total', { failure_type: 'pgmajfault', scope: 'container' }), values: [[T0, '7']] },
        { metric: metric('container_memory_failures_total', { failure_type: 'pgmajfault', scope: 'hierarchy' }), values: [[T0, '9']] },
        { metric: metric('container_memory_failures_total', { failure_type: 'pgfault', scope: 'container' }), values: [[T0, '900']] },
      ),
      resp({ metric: metric('container_pressure_memory_waiting_seconds_total'), values: [[T0, '1.25']] }),
      resp({ metric: metric('container_pressure_memory_stalled_seconds_total'), values: [[T0, '0.5']] }),
    );
    expect(r.warnings).toEqual([]);
    expect(r.containers[0]!.samples[0]).toEqual({ timestampMs: T0 * 1000, usageBytes: 100, failCount: 42, majorFaultCount: 7, pressureSomeMicros: 1_250_000, pressureFullMicros: 500_000, instance: '/kubepods/pod1/app' });
  });
});

describe('runtime.MemStats values', () => {
  it.each([
    [{ HeapInuse: -1 }, /^m: MemStats\.HeapInuse must not be negative/],
    [{ HeapInuse: 1.5 }, /^m: MemStats\.HeapInuse must be a whole number of bytes/],
    [{ HeapInuse: 1e300 }, /^m: MemStats\.HeapInuse 1e\+300 bytes is not a plausible memory size/],
    [{ HeapInuse: 1, NumGC: -3 }, /^m: MemStats\.NumGC must not be negative/],
  ])('refuses %j', (record, re) => {
    expectInputError(() => goSampleFromMemStats(record, 'm'), re);
  });
});
