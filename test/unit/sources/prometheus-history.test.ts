import { envelopeIndices, HistoryAssembler } from '../../../src/sources/prometheus-history.ts';
import type { MatrixSeries } from '../../../src/sources/prometheus-json.ts';
import { coarseRange, HISTORY_METRICS, pointsOf, type HistoryField, type HistoryRange } from '../../../src/sources/promql.ts';

const MIN = 60_000;
const MiB = 2 ** 20;
const metric = (f: HistoryField) => HISTORY_METRICS.find((m) => m.field === f)!;
const labels = (pod: string, extra: Record<string, string> = {}) => ({ namespace: 'shop', pod, container: 'app', ...extra });

/** A series on a grid: value(i) at start + i * step for i in [from, to). */
function series(l: Record<string, string>, r: HistoryRange, from: number, to: number, value: (i: number) => number): MatrixSeries {
  const n = to - from;
  const timestampsMs = new Float64Array(n);
  const values = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    timestampsMs[k] = r.startMs + (from + k) * r.stepMs;
    values[k] = value(from + k);
  }
  return { labels: l, timestampsMs, values };
}

describe('a batch laid on the grid', () => {
  // One hour at 1 m: 61 points; the coarse step is the step itself.
  const range: HistoryRange = { startMs: 1_795_996_380_000, endMs: 1_795_999_980_000, stepMs: MIN };

  it('makes one sample per step with usage, the slow fields filled over the steps they cover', () => {
    const a = new HistoryAssembler(range);
    const l = labels('web-0', { id: '/kubepods/pod1/c1' });
    a.add(metric('usageBytes'), [series(l, range, 0, 61, (i) => 100 * MiB + i * MiB), series({ ...l, container: '' }, range, 0, 61, () => 1), series({ ...l, container: 'POD' }, range, 0, 61, () => 1)]);
    a.add(metric('workingSetBytes'), [series(l, range, 0, 61, (i) => 90 * MiB + i * MiB)]);
    a.add(metric('fileBytes'), [series(l, range, 0, 61, () => 20 * MiB)]);
    a.add(metric('anonBytes'), [series(l, range, 0, 30, () => 70 * MiB)]);
    const coarse = coarseRange(range);
    a.add(metric('limitBytes'), [series(l, coarse, 10, 61, () => 512 * MiB)]);
    a.add(metric('ksmRequestBytes'), [series(l, coarse, 0, 61, () => 256 * MiB)]);
    const [h, ...rest] = a.containers();
    expect(rest).toEqual([]); // the pod cgroup and the pause container are not containers
    expect(h!.key).toEqual({ namespace: 'shop', pod: 'web-0', container: 'app' });
    expect(h!.points).toBe(61);
    expect(h!.samples).toHaveLength(61);
    expect(h!.samples[5]).toEqual({ timestampMs: range.startMs + 5 * MIN, usageBytes: 105 * MiB, workingSetBytes: 95 * MiB, fileBytes: 20 * MiB, anonBytes: 70 * MiB, limitBytes: 512 * MiB, instance: '/kubepods/pod1/c1' });
    // rss ended at step 29: unknown afterwards, not 0.
    expect(h!.samples[40]!.anonBytes).toBeUndefined();
    expect(h!.limitBytes).toBe(512 * MiB);
    expect(h!.requestBytes).toBe(256 * MiB);
    expect(h!.restarts).toBe(0);
  });

  it('names the fields a container lacks when others in the batch have them', () => {
    const a = new HistoryAssembler(range);
    a.add(metric('usageBytes'), [series(labels('a-0'), range, 0, 61, () => MiB), series(labels('b-0'), range, 0, 61, () => MiB)]);
    a.add(metric('anonBytes'), [series(labels('a-0'), range, 0, 61, () => MiB)]);
    const [a0, b0] = a.containers();
    expect(a0!.missing).toEqual([]);
    expect(b0!.missing).toEqual(['container_memory_rss']);
  });

  it('sees a restart in a new cgroup id, the new one winning where Prometheus returns both', () => {
    const a = new HistoryAssembler(range);
    // The old cgroup until step 30, looked back on for 3 more steps; the new one from step 31.
    a.add(metric('usageBytes'), [series(labels('w', { id: '/new' }), range, 31, 61, () => 10 * MiB), series(labels('w', { id: '/old' }), range, 0, 34, (i) => 50 * MiB + i * MiB)]);
    const h = a.containers()[0]!;
    expect(h.restarts).toBe(1);
    expect(h.samples[30]).toMatchObject({ usageBytes: 80 * MiB, instance: '/old' });
    expect(h.samples[31]).toMatchObject({ usageBytes: 10 * MiB, instance: '/new' });
    expect(h.samples[33]).toMatchObject({ usageBytes: 10 * MiB, instance: '/new' });
  });

  it('without cgroup ids, places a restart counter step at the largest fall of its coarse bucket and counts an OOMKilled restart', () => {
    // 7 d at 1 m: the coarse step is 51 m.
    const week: HistoryRange = { startMs: 1_795_999_980_000 - 7 * 24 * 60 * MIN, endMs: 1_795_999_980_000, stepMs: MIN };
    const coarse = coarseRange(week);
    expect(coarse.stepMs).toBe(51 * MIN);
    const n = pointsOf(week);
    const fallAt = 5003; // usage climbs to the limit and falls to 10 MiB here
    const a = new HistoryAssembler(week, { maxBuckets: 50 });
    const l = labels('leaky');
    a.add(metric('usageBytes'), [series(l, week, 0, n, (i) => (i < fallAt ? 10 * MiB + i * 0.1 * MiB : 10 * MiB + (i - fallAt) * 0.1 * MiB))]);
    const tAt = (i: number) => week.startMs + i * MIN;
    const restartsAt = (c: number) => (coarse.startMs + c * coarse.stepMs >= tAt(fallAt) ? 1 : 0);
    a.add(metric('restarts'), [series(l, coarse, 0, pointsOf(coarse), restartsAt)]);
    a.add(metric('oomKilledReason'), [series(l, coarse, 0, pointsOf(coarse), (c) => restartsAt(c))]);
    const h = a.containers()[0]!;
    expect(h.restarts).toBe(1);
    const before = h.samples.filter((s) => s.timestampMs < tAt(fallAt));
    const after = h.samples.filter((s) => s.timestampMs >= tAt(fallAt));
    // Both sides of the restart survive the downsampling, each with its instance.
    expect(before.at(-1)).toMatchObject({ timestampMs: tAt(fallAt - 1), instance: 'restarts=0', memoryEvents: { oomKill: 0 } });
    expect(after[0]).toMatchObject({ timestampMs: tAt(fallAt), instance: 'restarts=1', memoryEvents: { oomKill: 1 } });
    expect(h.samples.length).toBeLessThanOrEqual(2 * 50 + 4);
  });

  it('forgets a metric whose query failed in one of its chunks', () => {
    const a = new HistoryAssembler(range);
    a.add(metric('usageBytes'), [series(labels('w'), range, 0, 61, () => MiB)]);
    a.add(metric('fileBytes'), [series(labels('w'), range, 0, 30, () => MiB)]);
    a.forget('fileBytes');
    expect(a.containers()[0]!.samples[0]!.fileBytes).toBeUndefined();
    expect(a.seen.has('fileBytes')).toBe(false);
  });
});

describe('envelope downsampling', () => {
  it('keeps each bucket\'s lowest and highest value, the ends and both sides of a boundary', () => {
    // 0..99 with a dip at 37 and a spike at 62; 10 buckets of 10.
    const v = Float64Array.from({ length: 100 }, (_, i) => (i === 37 ? -5 : i === 62 ? 500 : i % 7));
    const keep = envelopeIndices(v, [80], 10);
    expect(keep).toContain(37);
    expect(keep).toContain(62);
    expect(keep).toContain(0);
    expect(keep).toContain(99);
    expect(keep).toContain(79);
    expect(keep).toContain(80);
    expect(keep.length).toBeLessThanOrEqual(2 * 10 + 4);
    expect([...keep].sort((a, b) => a - b)).toEqual(keep);
  });

  it('edge cases: nothing finite -> nothing; fewer points than buckets -> every point', () => {
    expect(envelopeIndices(new Float64Array([NaN, NaN]), [], 10)).toEqual([]);
    expect(envelopeIndices(new Float64Array([3, 1, 2]), [], 10)).toEqual([0, 1, 2]);
  });
});

it('envelope downsampling buckets a container\'s own span, not the whole range (a pod that lived an hour of the week)', () => {
  const v = new Float64Array(10_081).fill(NaN);
  for (let k = 10_000; k <= 10_080; k++) v[k] = k % 5;
  expect(envelopeIndices(v, [], 150)).toHaveLength(81);
});
