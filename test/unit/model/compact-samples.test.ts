import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CompactSamples, QUANTUM_BYTES, floorKeyBytes } from '../../../src/model/compact-samples.ts';
import type { MemorySample } from '../../../src/model/sample.ts';

const Q = QUANTUM_BYTES;
const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 30);

/** A cAdvisor-like sample: what the controller takes every round. */
function cadvisor(i: number, t = T0 + i * 30_000): MemorySample {
  const anon = 100 * MiB + ((i * 37) % 41) * 200 * 1024;
  const active = 3 * MiB;
  const inactive = 2 * MiB;
  const usage = anon + active + inactive + 2 * MiB;
  return { timestampMs: t, usageBytes: usage, workingSetBytes: usage - inactive, anonBytes: anon, fileBytes: active + inactive, activeFileBytes: active, inactiveFileBytes: inactive, mappedFileBytes: MiB, kernelBytes: 2 * MiB, limitBytes: 512 * MiB, failCount: 0, majorFaultCount: 120 + i, instance: '/kubepods/burstable/podabc/0123456789abcdef' };
}

describe('CompactSamples', () => {
  it('holds nothing at first, refuses a sample not newer than the last', () => {
    const c = new CompactSamples();
    expect([c.length, c.samples(), c.last(), c.taken]).toEqual([0, [], undefined, 0]);
    expect(c.add({ timestampMs: T0, usageBytes: Q })).toBe(true);
    expect(c.add({ timestampMs: T0, usageBytes: 2 * Q })).toBe(false);
    expect(c.add({ timestampMs: T0 - 1, usageBytes: 2 * Q })).toBe(false);
    expect(c.samples()).toEqual([{ timestampMs: T0, usageBytes: Q }]);
  });

  it('keeps sizes to 64 KiB (nearest), counters, the limit and times exactly, and leaves absent fields absent', () => {
    const c = new CompactSamples();
    const s: MemorySample = { timestampMs: T0 + 123, usageBytes: 10 * Q + 32767, anonBytes: 3 * Q + 32768, limitBytes: 536_870_913, failCount: 7, majorFaultCount: 2 ** 40 + 3, pressureSomeMicros: 123_456_789_012, memoryEvents: { oomKill: 2 }, go: { heapInuseBytes: 5 * Q, numGc: 99 }, instance: 'i1' };
    c.add(s);
    // 10 Q + 32767 rounds down, 3 Q + 32768 (half) up; the rest as given. Missing fields stay missing.
    expect(c.samples()).toEqual([{ timestampMs: T0 + 123, usageBytes: 10 * Q, anonBytes: 4 * Q, limitBytes: 536_870_913, failCount: 7, majorFaultCount: 2 ** 40 + 3, pressureSomeMicros: 123_456_789_012, memoryEvents: { oomKill: 2 }, go: { heapInuseBytes: 5 * Q, numGc: 99 }, instance: 'i1' }]);
    expect(c.last()).toEqual(c.samples()[0]);
  });

  it('codes fields that come and go (MemStats read some rounds only) without mixing their deltas', () => {
    const c = new CompactSamples();
    const xs: MemorySample[] = [
      { timestampMs: T0, usageBytes: 10 * Q, go: { heapInuseBytes: 4 * Q } },
      { timestampMs: T0 + 1000, usageBytes: 11 * Q },
      { timestampMs: T0 + 2000, usageBytes: 9 * Q, go: { heapInuseBytes: 6 * Q }, limitBytes: 100 * Q },
      { timestampMs: T0 + 3000, usageBytes: 12 * Q, instance: 'b' },
    ];
    for (const s of xs) c.add(s);
    expect(c.samples()).toEqual(xs);
    expect(c.last()).toEqual(xs[3]);
    expect(CompactSamples.decode(c.encode()).samples()).toEqual(xs);
  });

  it("keeps a bucket's lowest and highest sample by floor key, whole (the components of one instant), and counts the samples it stood for", () => {
    // Buckets of 8 s at most: 40 samples 1 s apart, a 4-bucket cap.
    const c = new CompactSamples({ maxBuckets: 4 });
    const xs: MemorySample[] = [];
    for (let i = 0; i < 40; i++) {
      // A sawtooth of anonymous memory on a rising page cache: usage peaks are not the anon peaks.
      const anon = (20 + (i % 5)) * Q;
      const file = (10 + i) * Q;
      xs.push({ timestampMs: 1_000_000 + i * 1000, usageBytes: anon + file, anonBytes: anon, fileBytes: file });
    }
    for (const s of xs) c.add(s);
    // Compactions run every 16 samples or so; this one buckets all but the newest 8 now.
    const k = c.coarsened(4);
    const held = k.samples();
    expect(held.slice(-8)).toEqual(xs.slice(-8));
    for (const s of held) expect(xs).toContainEqual(s);
    // Each bucket's pair: the lowest and the highest floor key (usage - cache = anon) of ALL its
    // samples, though an earlier compaction had already dropped some of them.
    const bucketed = held.slice(0, -8);
    const width = k.bucketWidthMs;
    expect(Math.floor(xs[31]!.timestampMs / width) - Math.floor(xs[0]!.timestampMs / width)).toBeLessThan(4);
    const byBucket = new Map<number, MemorySample[]>();
    for (const s of xs.slice(0, 32)) byBucket.set(Math.floor(s.timestampMs / width), [...(byBucket.get(Math.floor(s.timestampMs / width)) ?? []), s]);
    const expected = [...byBucket.values()].flatMap((b) => {
      const lo = b.reduce((a, x) => (floorKeyBytes(x) < floorKeyBytes(a) ? x : a));
      const hi = b.reduce((a, x) => (floorKeyBytes(x) >= floorKeyBytes(a) ? x : a));
      return lo === hi ? [lo] : [lo, hi].sort((a, b2) => a.timestampMs - b2.timestampMs);
    });
    expect(bucketed).toEqual(expected);
    expect(bucketed.length).toBeLessThan(32);
    expect([c.taken, k.taken]).toEqual([40, 40]);
  });

  it('keeps 24 h at 30 s in under 4 KiB: ~190 samples, buckets of 17.5 min, every sample counted', () => {
    const c = new CompactSamples();
    for (let i = 0; i < 2880; i++) c.add(cadvisor(i));
    expect(c.bucketWidthMs).toBe(2 ** 20);
    expect(c.length).toBeLessThanOrEqual(2 * 84 + 24);
    expect(c.heldBytes).toBeLessThan(4096);
    expect(c.encode().length).toBeLessThan(4096);
    expect(c.taken).toBe(2880);
    // The newest samples as taken; the window's first minutes still there.
    expect(c.samples().slice(-8)).toEqual(Array.from({ length: 8 }, (_, k) => cadvisor(2872 + k)).map(quantised));
    expect(c.samples()[0]!.timestampMs - T0).toBeLessThan(2 ** 20);
  });

  it('codes only the values that moved when that is shorter: a bitmap of the changed fields, or every delta when all moved', () => {
    const fields = 10; // cadvisor(): usage, working set, anon, file, active and inactive file, mapped, kernel, fail count, major faults
    const still = new CompactSamples();
    const moving = new CompactSamples();
    for (let i = 0; i < 100; i++) {
      // Standing still but for the fault counter (+1), or every size moving by a quantum each way in turn.
      still.add({ ...cadvisor(0), timestampMs: T0 + i * 30_000, majorFaultCount: 120 + i });
      const q = (i % 2) * Q;
      const s = cadvisor(0, T0 + i * 30_000);
      moving.add({ ...s, usageBytes: s.usageBytes + q, workingSetBytes: s.workingSetBytes! + q, anonBytes: s.anonBytes! + q, fileBytes: s.fileBytes! + q, activeFileBytes: s.activeFileBytes! + q, inactiveFileBytes: s.inactiveFileBytes! + q, mappedFileBytes: s.mappedFileBytes! + q, kernelBytes: s.kernelBytes! + q, failCount: i % 2, majorFaultCount: 120 + i });
    }
    const perSample = (c: CompactSamples, firstBytes: number) => (c.byteLength - firstBytes) / (c.length - 1);
    const first = (s: MemorySample) => {
      const c = new CompactSamples();
      c.add(s);
      return c.byteLength;
    };
    expect(still.length).toBe(100);
    // Header, the 30 s (3 varint bytes), the bitmap (2 bytes: 10 fields), the one delta.
    expect(perSample(still, first(cadvisor(0)))).toBe(1 + 3 + 2 + 1);
    // Every value moved: the header, the time and a byte per field, no bitmap.
    expect(perSample(moving, first(cadvisor(0)))).toBe(1 + 3 + fields);
    expect(still.samples()).toEqual(Array.from({ length: 100 }, (_, i) => quantised({ ...cadvisor(0), timestampMs: T0 + i * 30_000, majorFaultCount: 120 + i })));
    expect(CompactSamples.decode(moving.encode()).samples()).toEqual(moving.samples());
    expect(moving.samples()[1]!.usageBytes - moving.samples()[0]!.usageBytes).toBe(Q);
  });

  it('reads format 1 (0.1.0 persisted it: every delta coded) and codes it again: the same samples, counts and width', () => {
    const dir = path.resolve(import.meta.dirname, '../../fixtures/compact-samples');
    const bytes = readFileSync(path.join(dir, 'format1.bin'));
    // Written by the format 1 coder from a labelled trace given two incarnations, a new limit and a field missing for a while.
    const want = JSON.parse(readFileSync(path.join(dir, 'format1.json'), 'utf8')) as { taken: number; length: number; bucketWidthMs: number; samples: MemorySample[]; pruned: { fromMs: number; taken: number; samples: number } };
    expect(bytes[0]).toBe(1);
    const c = CompactSamples.decode(bytes);
    expect([c.taken, c.length, c.bucketWidthMs]).toEqual([want.taken, want.length, want.bucketWidthMs]);
    expect(c.samples()).toEqual(want.samples);
    expect(new Set(want.samples.map((s) => s.instance)).size).toBe(2);
    expect(new Set(want.samples.map((s) => s.limitBytes)).size).toBe(2);
    expect(want.samples.some((s) => s.kernelBytes === undefined)).toBe(true);
    const again = c.encode();
    expect(again[0]).toBe(2);
    expect(again.length).toBeLessThan(bytes.length);
    expect(CompactSamples.decode(again).samples()).toEqual(want.samples);
    // Taken on as it was: pruned, then compacted by the samples after it.
    c.prune(want.pruned.fromMs);
    expect([c.taken, c.samples().length]).toEqual([want.pruned.taken, want.pruned.samples]);
    const next = want.samples.at(-1)!;
    for (let i = 1; i <= 30; i++) expect(c.add({ ...next, timestampMs: next.timestampMs + i * 2000 })).toBe(true);
    expect(c.taken).toBe(want.pruned.taken + 30);
    expect(c.samples().at(-1)).toEqual({ ...next, timestampMs: next.timestampMs + 30 * 2000 });
  });

  it('forgets what the window left: prune, then nothing older is read, the count follows', () => {
    const c = new CompactSamples();
    for (let i = 0; i < 120; i++) c.add(cadvisor(i));
    c.prune(T0 + 60 * 30_000);
    expect(c.samples()[0]!.timestampMs).toBeGreaterThanOrEqual(T0 + 60 * 30_000);
    expect(c.taken).toBeLessThanOrEqual(60);
    expect(c.taken).toBeGreaterThan(50);
    expect(c.firstTimestampMs).toBeGreaterThanOrEqual(T0 + 60 * 30_000);
    c.prune(T0 + 10 ** 9);
    expect([c.length, c.samples()]).toEqual([0, []]);
  });

  it('counts the samples taken in a sliding window as it slides: kept round by round, the same as read back from its bytes', () => {
    // A day and a half at 30 s through a 6 h window, pruned every round as the controller does:
    // the count is kept as samples come and compactions merge them, and read from the bytes only
    // for the oldest few after a prune. Each round it must equal the count of a copy decoded from
    // the bytes (every row's count summed), and the exact count of samples in the window within the
    // one bucket the prune point cuts (a bucket's count rides on its earlier kept sample, which
    // may be on either side of it).
    const c = new CompactSamples();
    const windowMs = 6 * 3600_000;
    for (let i = 0; i < 4320; i++) {
      const t = T0 + i * 30_000;
      c.add(cadvisor(i, t));
      c.prune(t - windowMs);
      const exact = Math.min(i + 1, windowMs / 30_000 + 1);
      if (i % 97 === 0 || i === 4319) {
        const copy = CompactSamples.decode(c.encode());
        copy.prune(t - windowMs);
        expect(c.taken).toBe(copy.taken);
      }
      const bucket = c.bucketWidthMs / 30_000 + 1;
      expect(Math.abs(c.taken - exact)).toBeLessThanOrEqual(bucket);
    }
  });

  it('keeps the incarnations still referred to, in order, through compactions and the codec', () => {
    const c = new CompactSamples({ maxBuckets: 8 });
    for (let i = 0; i < 300; i++) c.add({ ...cadvisor(i), instance: `/pod/c${Math.floor(i / 100)}` });
    const back = CompactSamples.decode(c.encode());
    expect(back.samples()).toEqual(c.samples());
    expect([...new Set(back.samples().map((s) => s.instance))]).toEqual(['/pod/c0', '/pod/c1', '/pod/c2']);
    // And goes on from where it was: the next sample is coded against the restored last one.
    back.add(cadvisor(300));
    c.add(cadvisor(300));
    expect(back.samples()).toEqual(c.samples());
    expect(back.taken).toBe(301);
  });

  it('coarsened: the same window in fewer buckets, the samples taken still counted', () => {
    const c = new CompactSamples();
    for (let i = 0; i < 2880; i++) c.add(cadvisor(i));
    const half = c.coarsened(32);
    expect(half.length).toBeLessThan(c.length / 2);
    expect(half.taken).toBe(2880);
    expect(half.last()).toEqual(c.last());
  });

  it('refuses bytes that are not its format', () => {
    expect(() => CompactSamples.decode(new Uint8Array([9, 9, 9]))).toThrow(/unknown format 9/);
    const c = new CompactSamples();
    c.add(cadvisor(0));
    const bytes = c.encode();
    expect(() => CompactSamples.decode(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });
});

function quantised(s: MemorySample): MemorySample {
  const out: Record<string, unknown> = { ...s };
  for (const k of ['usageBytes', 'workingSetBytes', 'anonBytes', 'fileBytes', 'activeFileBytes', 'inactiveFileBytes', 'mappedFileBytes', 'kernelBytes']) out[k] = Math.round((s as unknown as Record<string, number>)[k]! / Q) * Q;
  return out as unknown as MemorySample;
}
