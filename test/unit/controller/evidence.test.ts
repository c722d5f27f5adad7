import { AuditEvidence, TargetEvidence, bucketsForSamples, reduceProfile, withFunctionsWhereDiffed } from '../../../src/controller/evidence.ts';
import { decodeEvidence, encodeEvidence } from '../../../src/controller/evidence-codec.ts';
import type { HeapProfile, MemorySample } from '../../../src/model/sample.ts';
import { gzipSync } from 'node:zlib';

const limits = { maxBuckets: 16, maxProfiles: 4, maxProfileFunctions: 3 };
const T0 = Date.UTC(2026, 0, 1);
const KiB64 = 64 * 1024;

// Sizes on the 64 KiB quantum the evidence keeps them to (compact-samples.ts), so they read back exactly.
function sample(i: number): MemorySample {
  return { timestampMs: T0 + i * 1000, usageBytes: (160 + i) * KiB64, anonBytes: 32 * KiB64, fileBytes: (128 + i) * KiB64, go: { heapInuseBytes: 16 * KiB64 } };
}

describe('TargetEvidence', () => {
  it('holds a long run in a bounded number of samples, the newest as taken, and counts what it stands for', () => {
    const t = new TargetEvidence('p', 'c', limits.maxBuckets);
    for (let i = 0; i < 1000; i++) t.addSample(sample(i));
    const s = t.samples();
    // 16 buckets of two samples, and up to 24 of the newest as taken.
    expect(s.length).toBeLessThanOrEqual(2 * 16 + 24);
    expect(s.at(-1)!.timestampMs).toBe(T0 + 999_000);
    const times = s.map((x) => x.timestampMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(t.samplesTaken).toBe(1000);
    expect(t.lastSampleMs).toBe(T0 + 999_000);
  });

  it('ignores a sample that repeats the last timestamp (kubelet serving cached stats)', () => {
    const t = new TargetEvidence('p', 'c', limits.maxBuckets);
    expect(t.addSample(sample(1))).toBe(true);
    expect(t.addSample(sample(1))).toBe(false);
    expect(t.samples()).toEqual([sample(1)]);
  });

  it('keeps the oldest profile as the diff baseline and the newest ones, functions only where a diff reads them', () => {
    const t = new TargetEvidence('p', 'c', limits.maxBuckets);
    for (let i = 0; i < 10; i++) t.addProfile({ timestampMs: T0 + i, totalInuseBytes: i, flatInuseBytes: new Map([['f', i]]), cumInuseBytes: new Map() }, limits);
    expect(t.profiles.map((p) => p.timestampMs - T0)).toEqual([0, 7, 8, 9]);
    // One incarnation: its first and its last profile keep their functions, the others their totals.
    expect(t.profiles.map((p) => p.flatInuseBytes.size)).toEqual([1, 0, 0, 1]);
    expect(t.profiles.map((p) => p.totalInuseBytes)).toEqual([0, 7, 8, 9]);
  });

  it('prunes samples older than the window and expires gone targets after it', () => {
    const t = new TargetEvidence('p', 'c', limits.maxBuckets);
    for (let i = 0; i < 10; i++) t.addSample(sample(i));
    t.prune(T0 + 10_000, 5_000);
    expect(t.samples().map((s) => (s.timestampMs - T0) / 1000)).toEqual([5, 6, 7, 8, 9]);
    expect(t.samplesTaken).toBe(5);
    t.goneSinceMs = T0 + 9_500;
    expect(t.expired(T0 + 12_000, 5_000)).toBe(false);
    expect(t.expired(T0 + 15_000, 5_000)).toBe(true);
  });

  it('takes --max-samples-per-target as buckets: two samples a bucket and the newest 24 as taken', () => {
    expect(bucketsForSamples(280)).toBe(128);
    expect(bucketsForSamples(10)).toBe(4);
  });
});

describe('reduceProfile', () => {
  it('keeps the top functions by in-use bytes', () => {
    const p = reduceProfile({ timestampMs: 1, totalInuseBytes: 100, flatInuseBytes: new Map([['a', 1], ['b', 50], ['c', 20], ['d', 29]]), cumInuseBytes: new Map([['main', 100]]) }, 3);
    expect([...p.flatInuseBytes.keys()]).toEqual(['b', 'd', 'c']);
    expect(p.totalInuseBytes).toBe(100);
  });
});

describe('withFunctionsWhereDiffed', () => {
  const prof = (t: number, instance: string): HeapProfile => ({ timestampMs: t, totalInuseBytes: t, flatInuseBytes: new Map([['f', t]]), cumInuseBytes: new Map([['g', t]]), instance });
  it("keeps the functions of each incarnation's first and last profile (heap-diff.ts diffs within one), totals of all", () => {
    const out = withFunctionsWhereDiffed([prof(1, 'a'), prof(2, 'a'), prof(3, 'a'), prof(4, 'b'), prof(5, 'b'), prof(6, 'b')]);
    expect(out.map((p) => p.flatInuseBytes.size + p.cumInuseBytes.size)).toEqual([2, 0, 2, 2, 0, 2]);
    expect(out.map((p) => p.totalInuseBytes)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('evidence codec', () => {
  it('round-trips samples (missing fields stay missing, not 0), restarts, profiles and gone state', () => {
    const ev = new AuditEvidence('uid-1');
    ev.lastRoundMs = T0 + 5000;
    ev.lastProfileMs = T0 + 4000;
    const t = ev.target('pod-a', 'app', limits.maxBuckets);
    t.node = 'n1';
    t.podUid = 'pod-uid';
    // A container restart between samples 2 and 3 (a new cgroup id): kept through the codec.
    for (let i = 0; i < 5; i++) t.addSample({ ...sample(i), instance: i < 3 ? '/kubepods/pod-a/c1' : '/kubepods/pod-a/c2' });
    t.addSample({ timestampMs: T0 + 10_000, usageBytes: 5 * KiB64 });
    t.addProfile({ timestampMs: T0, totalInuseBytes: 10, flatInuseBytes: new Map([['main.leak', 10]]), cumInuseBytes: new Map([['main.main', 10]]), instance: '/kubepods/pod-a/c1' }, limits);
    const gone = ev.target('pod-b', 'app');
    gone.goneSinceMs = T0 + 3000;
    const back = decodeEvidence(encodeEvidence(ev, T0 + 6000, 1 << 20), 'test');
    expect(back.uid).toBe('uid-1');
    expect(back.lastRoundMs).toBe(T0 + 5000);
    expect(back.lastPersistMs).toBe(T0 + 6000);
    const bt = back.targets.get('pod-a/app')!;
    expect(bt.samples()).toEqual(t.samples());
    expect(bt.samples()[5]).toEqual({ timestampMs: T0 + 10_000, usageBytes: 5 * KiB64 });
    expect(bt.samples().map((s) => s.instance)).toEqual(['/kubepods/pod-a/c1', '/kubepods/pod-a/c1', '/kubepods/pod-a/c1', '/kubepods/pod-a/c2', '/kubepods/pod-a/c2', undefined]);
    expect(bt.samplesTaken).toBe(6);
    expect(bt.profiles[0]!.flatInuseBytes.get('main.leak')).toBe(10);
    expect(bt.profiles[0]!.instance).toBe('/kubepods/pod-a/c1');
    expect(bt.node).toBe('n1');
    expect(back.targets.get('pod-b/app')!.goneSinceMs).toBe(T0 + 3000);
    // Sampling goes on after a restore, from where it stopped.
    expect(bt.addSample(sample(11))).toBe(true);
    expect(bt.samplesTaken).toBe(7);
  });

  it('holds the samples in fewer buckets until the document fits the size cap, the count taken kept', () => {
    const ev = new AuditEvidence('u');
    for (let c = 0; c < 10; c++) {
      const t = ev.target(`p${c}`, 'c', 128);
      for (let i = 0; i < 3000; i++) t.addSample({ timestampMs: T0 + i * 1000, usageBytes: Math.round(Math.random() * 1e9), anonBytes: Math.round(Math.random() * 1e9) });
    }
    const gz = encodeEvidence(ev, T0, 12_000);
    expect(gz.length).toBeLessThanOrEqual(12_000);
    const back = decodeEvidence(gz, 'test').targets.get('p0/c')!;
    expect(back.samples().length).toBeLessThan(ev.targets.get('p0/c')!.samples().length);
    expect(back.samples().at(-1)!.timestampMs).toBe(T0 + 2_999_000);
    expect(back.samplesTaken).toBe(3000);
  });

  it('reads the version 1 format of earlier controllers (columns of deltas): its samples are taken in again', () => {
    const doc = { v: 1, uid: 'u', lastRoundMs: T0, lastProfileMs: 0, savedAtMs: T0, targets: [{ pod: 'p', container: 'c', t: [T0, 1000, 1000], cols: { usageBytes: [KiB64, KiB64, null], anonBytes: [KiB64, 0, null] }, go: {}, inst: { names: ['/i1'], idx: [0, 0, null] }, profiles: [] }] };
    const back = decodeEvidence(gzipSync(JSON.stringify(doc)), 'cm').targets.get('p/c')!;
    expect(back.samples()).toEqual([
      { timestampMs: T0, usageBytes: KiB64, anonBytes: KiB64, instance: '/i1' },
      { timestampMs: T0 + 1000, usageBytes: 2 * KiB64, anonBytes: KiB64, instance: '/i1' },
      { timestampMs: T0 + 2000 },
    ]);
  });

  it('refuses garbage with an InputError naming the source', () => {
    expect(() => decodeEvidence(Buffer.from('nope'), 'configmap ns/x')).toThrow(/configmap ns\/x: evidence is not gzipped JSON/);
    const bad = { v: 2, uid: 'u', lastRoundMs: 0, lastProfileMs: 0, savedAtMs: 0, targets: [{ pod: 'p', container: 'c', s: 'AAAA', profiles: [] }] };
    expect(() => decodeEvidence(gzipSync(JSON.stringify(bad)), 'configmap ns/x')).toThrow(/configmap ns\/x: evidence of p\/c cannot be read/);
  });
});
