import { alignedRange, batchQueries, coarseRange, discoverySelector, HISTORY_METRICS, MAX_POINTS_PER_SERIES, maxSeriesPerBatch, parseLabelMatchers, planBatches, pointsOf, promString, timeChunks, type DiscoveredContainer } from '../../../src/sources/promql.ts';
import { cadvisorField } from '../../../src/sources/cadvisor.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const END = 1_795_999_980_000; // a multiple of a minute

describe('time ranges', () => {
  it('aligns the range to the step: 7 d at 1 m is 10,081 points, one chunk', () => {
    const r = alignedRange(END + 12_345, 7 * DAY, MIN);
    expect(r).toEqual({ startMs: END - 7 * DAY, endMs: END, stepMs: MIN });
    expect(pointsOf(r)).toBe(10_081);
    expect(timeChunks(r)).toEqual([r]);
  });

  it('splits 14 d at 1 m in time so no query passes 11,000 points, without gap or overlap', () => {
    const r = alignedRange(END, 14 * DAY, MIN);
    const chunks = timeChunks(r);
    expect(chunks).toHaveLength(2); // 20,161 points
    for (const c of chunks) expect(pointsOf(c)).toBeLessThanOrEqual(MAX_POINTS_PER_SERIES);
    expect(chunks[0]!.startMs).toBe(r.startMs);
    expect(chunks[1]!.startMs).toBe(chunks[0]!.endMs + MIN);
    expect(chunks[1]!.endMs).toBe(r.endMs);
    expect(chunks.reduce((n, c) => n + pointsOf(c), 0)).toBe(pointsOf(r));
  });

  it('a range of one point is itself; a small limit cuts many chunks', () => {
    expect(timeChunks({ startMs: 0, endMs: 0, stepMs: 1000 })).toEqual([{ startMs: 0, endMs: 0, stepMs: 1000 }]);
    // 10 points, 4 per chunk: 4 + 4 + 2.
    expect(timeChunks({ startMs: 0, endMs: 9000, stepMs: 1000 }, 4).map(pointsOf)).toEqual([4, 4, 2]);
  });

  it('reads the slow metrics at a coarse step of about 200 points ending at the range end', () => {
    const r = alignedRange(END, 7 * DAY, MIN);
    const c = coarseRange(r);
    // 10,080 intervals / 200 -> a factor of 51 -> 51 min.
    expect(c.stepMs).toBe(51 * MIN);
    expect(c.endMs).toBe(r.endMs);
    expect(c.startMs).toBeLessThanOrEqual(r.startMs);
    expect(pointsOf(c)).toBeLessThanOrEqual(201);
    // A short range keeps the step.
    expect(coarseRange(alignedRange(END, 2 * 60 * MIN, MIN)).stepMs).toBe(MIN);
  });
});

describe('batches', () => {
  const c = (namespace: string, pod: string, series = 1, container = 'app'): DiscoveredContainer => ({ namespace, pod, container, series });

  it('packs small namespaces into one batch and splits a big one by whole pods', () => {
    const containers = [c('a', 'a-0'), c('a', 'a-1'), c('b', 'b-0', 2), ...Array.from({ length: 7 }, (_, i) => c('big', `big-${i}`)), c('big', 'big-0', 1, 'sidecar'), c('z', 'z-0')];
    const batches = planBatches(containers, 4);
    expect(batches).toEqual([
      { namespaces: ['a', 'b'], pods: null, series: 4 },
      // big-0 has two containers, kept together.
      { namespaces: ['big'], pods: ['big-0', 'big-1', 'big-2'], series: 4 },
      { namespaces: ['big'], pods: ['big-3', 'big-4', 'big-5', 'big-6'], series: 4 },
      { namespaces: ['z'], pods: null, series: 1 },
    ]);
  });

  it('queries grow with metrics, batches and time chunks, not with containers', () => {
    const r = alignedRange(END, 7 * DAY, MIN);
    const perBatch = maxSeriesPerBatch(r, 1_500_000);
    expect(perBatch).toBe(148); // 1.5 M points / 10,081 per series
    const many = Array.from({ length: 5000 }, (_, i) => c(`ns-${String(i % 50).padStart(2, '0')}`, `pod-${i}`));
    const few = Array.from({ length: 500 }, (_, i) => c(`ns-${String(i % 50).padStart(2, '0')}`, `pod-${i}`));
    const queries = (cs: DiscoveredContainer[]) => planBatches(cs, perBatch).flatMap((b) => batchQueries(b, r)).length;
    // 50 namespaces of 100 containers: one batch each; 500 containers: 10 each, packed 14 to a batch.
    expect(queries(many)).toBe(50 * HISTORY_METRICS.length);
    expect(queries(few)).toBe(4 * HISTORY_METRICS.length);
  });

  it('writes one query per metric: last_over_time at the step, max_over_time at the coarse step', () => {
    const r = alignedRange(END, 14 * DAY, MIN);
    const qs = batchQueries({ namespaces: ['shop', 'pay'], pods: null }, r, [{ name: 'cluster', op: '=', value: 'prod' }]);
    const usage = qs.filter((q) => q.metric.field === 'usageBytes');
    expect(usage).toHaveLength(2); // two time chunks
    expect(usage[0]!.expr).toBe('last_over_time(container_memory_usage_bytes{namespace=~"shop|pay",container!="",container!="POD",cluster="prod"}[119999ms])');
    const limit = qs.find((q) => q.metric.field === 'limitBytes')!;
    expect(limit.expr).toMatch(/^max_over_time\(container_spec_memory_limit_bytes\{namespace=~"shop\|pay",container!="",container!="POD",cluster="prod"\}\[6060s\]\)$/);
    expect(limit.range.stepMs).toBe(101 * MIN); // 20,160 intervals / 200 -> 101
    expect(qs.find((q) => q.metric.field === 'majorFaultCount')!.expr).toContain('failure_type="pgmajfault",scope="container"');
    expect(qs.find((q) => q.metric.field === 'oomKilledReason')!.expr).toContain('kube_pod_container_status_last_terminated_reason{');
    const pods = batchQueries({ namespaces: ['shop'], pods: ['web-1.x', 'web-2'] }, r)[0]!;
    expect(pods.expr).toBe('last_over_time(container_memory_usage_bytes{namespace="shop",pod=~"web-1\\\\.x|web-2",container!="",container!="POD"}[119999ms])');
  });

  it('discovers with the same matchers', () => {
    expect(discoverySelector([])).toBe('container_memory_usage_bytes{namespace!="",container!="",container!="POD"}');
    expect(discoverySelector(['a'], [{ name: 'node', op: '=~', value: 'n1|n2' }])).toBe('container_memory_usage_bytes{namespace="a",container!="",container!="POD",node=~"n1|n2"}');
  });
});

describe('--selector', () => {
  it('reads PromQL matchers, quoted or bare', () => {
    expect(parseLabelMatchers('cluster="prod", pod=~"api-.*",node!=n1')).toEqual([
      { name: 'cluster', op: '=', value: 'prod' },
      { name: 'pod', op: '=~', value: 'api-.*' },
      { name: 'node', op: '!=', value: 'n1' },
    ]);
    expect(parseLabelMatchers('team!~"a,b"')).toEqual([{ name: 'team', op: '!~', value: 'a,b' }]);
    expect(parseLabelMatchers('')).toEqual([]);
  });

  it('says what is wrong', () => {
    expect(parseLabelMatchers('9x=1')).toEqual({ error: expect.stringMatching(/expected a label name/) });
    expect(parseLabelMatchers('a~1')).toEqual({ error: 'expected =, !=, =~ or !~ after a' });
    expect(parseLabelMatchers('a="b')).toEqual({ error: 'unterminated value of a' });
    expect(parseLabelMatchers('a=~"("')).toEqual({ error: expect.stringMatching(/^a=~: bad regular expression/) });
    expect(parseLabelMatchers('__name__="x"')).toEqual({ error: expect.stringMatching(/not a label name a selector may use/) });
  });

  it('quotes values as PromQL strings', () => {
    expect(promString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
  });
});

describe('HISTORY_METRICS and the kubelet scanner agree', () => {
  // The history reads the series the kubelet serves; the two mappings must give each cAdvisor
  // metric (with its matchers) the same sample field where both have one.
  it.each(HISTORY_METRICS.filter((m) => m.exporter === 'cadvisor').map((m) => [m.metric, m] as const))('%s', (_name, m) => {
    const labels = Object.fromEntries((m.matchers ?? []).map((x) => [x.name, x.value]));
    const scanned = cadvisorField(m.metric, labels);
    if (m.field === 'oomEvents') expect(scanned).toBeUndefined(); // counted from the history only (the kubelet's container status tells the live controller)
    else expect(scanned?.field).toBe(m.field);
  });
});
