import { SampleSeries } from '../../../src/model/series.ts';

const at = (sec: number, usage = 100) => ({ timestampMs: 1_000_000 + sec * 1000, usageBytes: usage });

describe('SampleSeries', () => {
  it('stays within maxSamples and keeps the newest samples at full resolution', () => {
    const s = new SampleSeries({ maxSamples: 100, windowSeconds: 1e9 });
    for (let i = 0; i < 1000; i++) s.push(at(i));
    expect(s.length).toBeLessThanOrEqual(100);
    const xs = s.samples();
    expect(xs[xs.length - 1]!.timestampMs).toBe(at(999).timestampMs);
    expect(xs[xs.length - 2]!.timestampMs).toBe(at(998).timestampMs);
    expect(xs[0]!.timestampMs).toBeLessThan(at(100).timestampMs); // still covers the start
  });

  it('drops samples older than the window', () => {
    const s = new SampleSeries({ windowSeconds: 60 });
    for (let i = 0; i <= 120; i++) s.push(at(i));
    expect(s.samples()[0]!.timestampMs).toBe(at(60).timestampMs);
  });

  it('ignores duplicate and out-of-order samples', () => {
    const s = new SampleSeries();
    expect(s.push(at(5))).toBe(true);
    expect(s.push(at(5))).toBe(false);
    expect(s.push(at(4))).toBe(false);
    expect(s.length).toBe(1);
  });

  it('remembers the peak even when thinning drops it', () => {
    const s = new SampleSeries({ maxSamples: 16, windowSeconds: 1e9 });
    for (let i = 0; i < 200; i++) s.push(at(i, i === 3 ? 999 : 100));
    expect(s.peak()!.usageBytes).toBe(999);
  });
});
