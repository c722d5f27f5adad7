import { sample } from '../../../src/sampling/loop.ts';
import type { GoRuntimeReader, MemoryReader, Read, Reading } from '../../../src/sampling/reader.ts';
import type { HeapProfile } from '../../../src/model/sample.ts';

// The sampling loop's schedule and its handling of runtime data, with stand-in readers (the
// readers themselves are tested on the real kernel and a real Go program elsewhere in this folder).

const reader = (opts: { goneAfter?: number } = {}): MemoryReader & { reads: number } => {
  const r = {
    description: 'stand-in',
    reads: 0,
    async read(): Promise<Read<Reading>> {
      r.reads++;
      if (opts.goneAfter !== undefined && r.reads > opts.goneAfter) return { kind: 'gone', reason: 'gone' };
      return { kind: 'data', value: { sample: { timestampMs: Date.now(), usageBytes: r.reads * 1000 } } };
    },
  };
  return r;
};

const profile = (): HeapProfile => ({ timestampMs: Date.now(), totalInuseBytes: 1, flatInuseBytes: new Map(), cumInuseBytes: new Map() });

/** A Go target whose pprof listener answers only after `failFirst` requests of each kind. */
const goRuntime = (failFirst: number): GoRuntimeReader & { memCalls: number; profileCalls: number } => {
  const g = {
    memCalls: 0,
    profileCalls: 0,
    async memStats() {
      return ++g.memCalls <= failFirst ? { kind: 'retry' as const, reason: 'not answering (ECONNREFUSED)' } : { kind: 'data' as const, value: { heapInuseBytes: g.memCalls } };
    },
    async heapProfile() {
      return ++g.profileCalls <= failFirst ? { kind: 'retry' as const, reason: 'not answering (ECONNREFUSED)' } : { kind: 'data' as const, value: profile() };
    },
  };
  return g;
};

test('keeps to the schedule: one sample per interval plus one at the end of the window', async () => {
  const t0 = Date.now();
  const r = await sample({ reader: reader(), intervalMs: 200, durationMs: 1_000, signal: new AbortController().signal, notice: () => undefined });
  expect(r.stopReason).toBe('duration');
  expect(r.samples).toHaveLength(6);
  // Timers never fire early, so the window is at least its duration (no upper bound: shared machines stall).
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
  const first = r.samples[0]!.timestampMs;
  expect(r.samples.slice(1, 5).map((s, i) => s.timestampMs - first >= (i + 1) * 200 - 5)).toEqual([true, true, true, true]);
});

test('stops when aborted, and when the target is gone', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 450);
  const a = await sample({ reader: reader(), intervalMs: 200, durationMs: 10_000, signal: ac.signal, notice: () => undefined });
  expect(a.stopReason).toBe('aborted');
  expect(a.samples.length).toBeGreaterThanOrEqual(2);
  const g = await sample({ reader: reader({ goneAfter: 3 }), intervalMs: 100, durationMs: 10_000, signal: new AbortController().signal, notice: () => undefined });
  expect(g).toMatchObject({ stopReason: 'gone', goneReason: 'gone' });
  expect(g.samples).toHaveLength(3);
});

test('a target slow to open its pprof listener: no gap reported, profiles retried until the first arrives', async () => {
  const gaps: string[] = [];
  const go = goRuntime(3);
  const r = await sample({ reader: reader(), goRuntime: go, intervalMs: 200, durationMs: 2_000, profileEveryMs: 5_000, signal: new AbortController().signal, notice: (g) => gaps.push(g) });
  expect(gaps).toEqual([]);
  // Profiles: retried at each sample until one arrives, then one more at the end of the window.
  expect(r.profiles.length).toBe(2);
  expect(r.samples.filter((s) => s.go !== undefined).length).toBe(r.samples.length - 3);
});

test('a target that never answers: the gap is reported once, after the grace period', async () => {
  const gaps: string[] = [];
  const r = await sample({ reader: reader(), goRuntime: goRuntime(1e9), intervalMs: 250, durationMs: 6_000, signal: new AbortController().signal, notice: (g) => gaps.push(g) });
  expect(gaps).toEqual(['memaudit: no Go runtime data: not answering (ECONNREFUSED)']);
  expect(r.profiles).toEqual([]);
  expect(r.samples.every((s) => s.go === undefined)).toBe(true);
}, 15_000);

test('a reading to retry is skipped and said once; sampling keeps its pace', async () => {
  const notices: string[] = [];
  let reads = 0;
  const flaky: MemoryReader = {
    description: 'flaky',
    async read() {
      reads++;
      return reads % 2 === 0 ? { kind: 'retry', reason: `no answer (attempt ${reads})` } : { kind: 'data', value: { sample: { timestampMs: Date.now(), usageBytes: reads } } };
    },
  };
  const r = await sample({ reader: flaky, intervalMs: 100, durationMs: 1_000, signal: new AbortController().signal, notice: (l) => notices.push(l) });
  expect(r.stopReason).toBe('duration');
  expect(r.samples.map((s) => s.usageBytes % 2)).toEqual(r.samples.map(() => 1));
  expect(reads).toBeGreaterThanOrEqual(r.samples.length * 2 - 1);
  expect(notices).toEqual(['memaudit: no reading of flaky: no answer (attempt 2)']);
});
