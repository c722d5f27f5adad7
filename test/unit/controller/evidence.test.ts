import { AuditEvidence, TargetEvidence, decimateOlderHalf, reduceProfile } from '../../../src/controller/evidence.ts';
import { decodeEvidence, encodeEvidence } from '../../../src/controller/evidence-codec.ts';
import type { MemorySample } from '../../../src/model/sample.ts';

const limits = { maxSamples: 100, maxProfiles: 4, maxProfileFunctions: 3 };
const T0 = Date.UTC(2026, 0, 1);

function sample(i: number): MemorySample {
  return { timestampMs: T0 + i * 1000, usageBytes: 10_000_000 + i * 4096, anonBytes: 2_000_000, fileBytes: 8_000_000 + i * 4096, go: { heapInuseBytes: 1_000_000 + i } };
}

describe('TargetEvidence', () => {
  it('stays within maxSamples by thinning the older half, keeping the newest points as they are', () => {
    const t = new TargetEvidence('p', 'c');
    for (let i = 0; i < 1000; i++) t.addSample(sample(i), limits);
    expect(t.samples.length).toBeLessThanOrEqual(100);
    expect(t.samples[t.samples.length - 1]!.timestampMs).toBe(T0 + 999_000);
    expect(t.samples[0]!.timestampMs).toBe(T0);
    const times = t.samples.map((s) => s.timestampMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('ignores a sample that repeats the last timestamp (kubelet serving cached stats)', () => {
    const t = new TargetEvidence('p', 'c');
    expect(t.addSample(sample(1), limits)).toBe(true);
    expect(t.addSample(sample(1), limits)).toBe(false);
    expect(t.samples).toHaveLength(1);
  });

  it('keeps the oldest profile as the diff baseline and the newest ones', () => {
    const t = new TargetEvidence('p', 'c');
    for (let i = 0; i < 10; i++) t.addProfile({ timestampMs: T0 + i, totalInuseBytes: i, flatInuseBytes: new Map([['f', i]]), cumInuseBytes: new Map() }, limits);
    expect(t.profiles.map((p) => p.timestampMs - T0)).toEqual([0, 7, 8, 9]);
  });

  it('prunes samples older than the window and expires gone targets after it', () => {
    const t = new TargetEvidence('p', 'c');
    for (let i = 0; i < 10; i++) t.addSample(sample(i), limits);
    t.prune(T0 + 10_000, 5_000);
    expect(t.samples.map((s) => (s.timestampMs - T0) / 1000)).toEqual([5, 6, 7, 8, 9]);
    t.goneSinceMs = T0 + 9_500;
    expect(t.expired(T0 + 12_000, 5_000)).toBe(false);
    expect(t.expired(T0 + 15_000, 5_000)).toBe(true);
  });
});

describe('decimateOlderHalf', () => {
  it('keeps every other of the older half: 8 -> 2 + 4', () => {
    expect(decimateOlderHalf([0, 1, 2, 3, 4, 5, 6, 7])).toEqual([0, 2, 4, 5, 6, 7]);
    expect(decimateOlderHalf([])).toEqual([]);
    expect(decimateOlderHalf([1])).toEqual([1]);
  });
});

describe('reduceProfile', () => {
  it('keeps the top functions by in-use bytes', () => {
    const p = reduceProfile({ timestampMs: 1, totalInuseBytes: 100, flatInuseBytes: new Map([['a', 1], ['b', 50], ['c', 20], ['d', 29]]), cumInuseBytes: new Map([['main', 100]]) }, 3);
    expect([...p.flatInuseBytes.keys()]).toEqual(['b', 'd', 'c']);
    expect(p.totalInuseBytes).toBe(100);
  });
});

describe('evidence codec', () => {
  it('round-trips samples (missing fields stay missing, not 0), profiles and gone state', () => {
    const ev = new AuditEvidence('uid-1');
    ev.lastRoundMs = T0 + 5000;
    ev.lastProfileMs = T0 + 4000;
    const t = ev.target('pod-a', 'app');
    t.node = 'n1';
    t.podUid = 'pod-uid';
    // A container restart between samples 2 and 3 (a new cgroup id): kept through the codec.
    for (let i = 0; i < 5; i++) t.addSample({ ...sample(i), instance: i < 3 ? '/kubepods/pod-a/c1' : '/kubepods/pod-a/c2' }, limits);
    t.addSample({ timestampMs: T0 + 10_000, usageBytes: 5 }, limits);
    t.addProfile({ timestampMs: T0, totalInuseBytes: 10, flatInuseBytes: new Map([['main.leak', 10]]), cumInuseBytes: new Map([['main.main', 10]]), instance: '/kubepods/pod-a/c1' }, limits);
    const gone = ev.target('pod-b', 'app');
    gone.goneSinceMs = T0 + 3000;
    const back = decodeEvidence(encodeEvidence(ev, T0 + 6000, 1 << 20), 'test');
    expect(back.uid).toBe('uid-1');
    expect(back.lastRoundMs).toBe(T0 + 5000);
    expect(back.lastPersistMs).toBe(T0 + 6000);
    const bt = back.targets.get('pod-a/app')!;
    expect(bt.samples).toEqual(t.samples);
    expect(bt.samples[5]).toEqual({ timestampMs: T0 + 10_000, usageBytes: 5 });
    expect(bt.samples.map((s) => s.instance)).toEqual(['/kubepods/pod-a/c1', '/kubepods/pod-a/c1', '/kubepods/pod-a/c1', '/kubepods/pod-a/c2', '/kubepods/pod-a/c2', undefined]);
    expect(bt.profiles[0]!.flatInuseBytes.get('main.leak')).toBe(10);
    expect(bt.profiles[0]!.instance).toBe('/kubepods/pod-a/c1');
    expect(bt.node).toBe('n1');
    expect(back.targets.get('pod-b/app')!.goneSinceMs).toBe(T0 + 3000);
  });

  it('thins samples until the document fits the size cap', () => {
    const ev = new AuditEvidence('u');
    const t = ev.target('p', 'c');
    for (let i = 0; i < 5000; i++) t.addSample({ timestampMs: T0 + i * 1000, usageBytes: Math.round(Math.random() * 1e9), anonBytes: Math.round(Math.random() * 1e9) }, { ...limits, maxSamples: 10_000 });
    const gz = encodeEvidence(ev, T0, 20_000);
    expect(gz.length).toBeLessThanOrEqual(20_000);
    const back = decodeEvidence(gz, 'test').targets.get('p/c')!;
    expect(back.samples.length).toBeLessThan(5000);
    expect(back.samples[back.samples.length - 1]!.timestampMs).toBe(T0 + 4_999_000);
  });

  it('refuses garbage with an InputError naming the source', () => {
    expect(() => decodeEvidence(Buffer.from('nope'), 'configmap ns/x')).toThrow(/configmap ns\/x: evidence is not gzipped JSON/);
  });
});
