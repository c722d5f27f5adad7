import { GiB, KiB, MiB } from '../../../src/model/units.ts';
import { byteTicks, timeLabel, timeTicks } from '../../../src/report/ticks.ts';

describe('byteTicks: 1-2-5 steps of one binary unit, from 0 to at least the maximum', () => {
  it('a 64 MiB limit: 64 / 5 = 12.8 -> steps of 20 MiB, the axis ends at 80 MiB', () => {
    expect(byteTicks(64 * MiB)).toEqual({ values: [0, 20, 40, 60, 80].map((v) => v * MiB), labels: ['0', '20 MiB', '40 MiB', '60 MiB', '80 MiB'], end: 80 * MiB });
  });

  it('never the 16.8 / 33.6 / 50.4 MiB of a max split in four: 67.2 MiB in four intervals is 20 MiB steps', () => {
    expect(byteTicks(67.2 * MiB, 4).labels).toEqual(['0', '20 MiB', '40 MiB', '60 MiB', '80 MiB']);
  });

  it('fractions of a unit get the decimals they need, no more', () => {
    // 1.3 MiB / 5 = 0.26 -> 0.5 MiB steps (0.2 would take 7 intervals).
    expect(byteTicks(1.3 * MiB).labels).toEqual(['0', '0.5 MiB', '1.0 MiB', '1.5 MiB']);
    expect(byteTicks(157.3 * MiB).labels).toEqual(['0', '50 MiB', '100 MiB', '150 MiB', '200 MiB']);
  });

  it('1000 MiB and more is GiB', () => {
    expect(byteTicks(1010 * MiB).labels).toEqual(['0', '0.2 GiB', '0.4 GiB', '0.6 GiB', '0.8 GiB', '1.0 GiB']);
    expect(byteTicks(2.5 * GiB).labels).toEqual(['0', '0.5 GiB', '1.0 GiB', '1.5 GiB', '2.0 GiB', '2.5 GiB']);
  });

  it('a huge range stays within the interval count: 3000 TiB -> 1000 TiB steps', () => {
    const t = byteTicks(3000 * 1024 * GiB);
    expect(t.labels).toEqual(['0', '1000 TiB', '2000 TiB', '3000 TiB']);
    expect(t.values.length).toBeLessThanOrEqual(6);
  });

  it('small sizes in bytes, whole bytes only', () => {
    expect(byteTicks(700).labels).toEqual(['0', '200 B', '400 B', '600 B', '800 B']);
    expect(byteTicks(0.4).labels).toEqual(['0', '1 B']);
  });

  it('a flat series (max = the value) ends at or above it, at most the asked intervals', () => {
    const t = byteTicks(100 * MiB, 4);
    expect(t.labels).toEqual(['0', '50 MiB', '100 MiB']);
    expect(t.end).toBeGreaterThanOrEqual(100 * MiB);
  });

  it('nothing to scale (0, negative, NaN): 0 to 1 KiB', () => {
    for (const max of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(byteTicks(max).end).toBe(KiB);
  });
});

describe('timeTicks: round steps since the first sample', () => {
  it('4 minutes: every minute', () => {
    expect(timeTicks(239).labels).toEqual(['0', '1m', '2m', '3m']);
    expect(timeTicks(240)).toEqual({ values: [0, 60, 120, 180, 240], labels: ['0', '1m', '2m', '3m', '4m'], end: 240 });
  });

  it('84 s: every 15 s', () => {
    expect(timeTicks(84).labels).toEqual(['0', '15s', '30s', '45s', '1m', '1m15s']);
  });

  it('6 hours in at most 4 intervals: every 2 hours', () => {
    expect(timeTicks(6 * 3600, 4).labels).toEqual(['0', '2h', '4h', '6h']);
  });

  it('a huge range: two years in weeks at 1-2-5 steps', () => {
    const t = timeTicks(2 * 365 * 86400);
    expect(t.values.length).toBeLessThanOrEqual(7);
    expect(t.values[1]! % 604800).toBe(0);
  });

  it('0 or 1 point (no duration): the one tick 0; 2 points 1 s apart: 0 and 1s', () => {
    expect(timeTicks(0)).toEqual({ values: [0], labels: ['0'], end: 0 });
    expect(timeTicks(-3).values).toEqual([0]);
    expect(timeTicks(1).labels).toEqual(['0', '1s']);
  });

  it('labels are exact and use two units at most', () => {
    expect([0, 45, 90, 3600, 5400, 86400 + 7200 + 60].map(timeLabel)).toEqual(['0', '45s', '1m30s', '1h', '1h30m', '1d2h']);
  });
});
