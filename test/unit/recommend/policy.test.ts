import { compose, floorAt, fromNonReclaimablePeak, neverRaiseForLeak, plusMappedFiles, recommend, roundUpTo, withHeadroom, type PolicyContext } from '../../../src/recommend/policy.ts';
import { composeSize, goMemLimitValue, kubernetesQuantity } from '../../../src/recommend/format.ts';
import { MiB } from '../../../src/model/units.ts';

const ctx = (over: Partial<PolicyContext> = {}): PolicyContext => ({
  verdict: 'CacheGrowth',
  peakNonReclaimableBytes: 30 * MiB,
  p90NonReclaimableBytes: 25 * MiB,
  peakMappedFileBytes: 0,
  currentLimitBytes: 256 * MiB,
  isGo: true,
  headroomPercent: 20,
  goMemLimit: true,
  timeToLimitText: null,
  ...over,
});

describe('policy steps', () => {
  it('composes peak -> headroom -> floor -> rounding in order', () => {
    // 30 MiB x 1.2 = 36 MiB, above the 16 MiB floor, already a multiple of 4 MiB
    const step = compose(fromNonReclaimablePeak, withHeadroom(20), floorAt(16 * MiB), roundUpTo(4 * MiB));
    expect(step({ bytes: 0, rationale: [] }, ctx()).bytes).toBe(36 * MiB);
    // 5 MiB x 1.2 = 6 MiB -> floor 16 MiB
    expect(step({ bytes: 0, rationale: [] }, ctx({ peakNonReclaimableBytes: 5 * MiB })).bytes).toBe(16 * MiB);
  });
  it('adds mapped files in use', () => {
    expect(plusMappedFiles({ bytes: 30 * MiB, rationale: [] }, ctx({ peakMappedFileBytes: 10 * MiB })).bytes).toBe(40 * MiB);
  });
  it('never raises the limit of a leak', () => {
    const leak = ctx({ verdict: 'Leak', peakNonReclaimableBytes: 250 * MiB });
    expect(neverRaiseForLeak({ bytes: 300 * MiB, rationale: [] }, leak).bytes).toBe(256 * MiB);
    expect(neverRaiseForLeak({ bytes: 300 * MiB, rationale: [] }, ctx({ verdict: 'Leak', currentLimitBytes: null })).bytes).toBeNaN();
  });
});

describe('recommend', () => {
  it('formats one limit for every tool, and GOMEMLIMIT at 90 %', () => {
    const r = recommend(ctx());
    expect(r.memoryLimitBytes).toBe(36 * MiB);
    expect(r.kubernetes).toEqual({ limits: { memory: '36Mi' }, requests: { memory: '28Mi' } });
    expect(r.compose).toEqual({ mem_limit: '36m', mem_reservation: '28m' });
    expect(r.dockerUpdate).toBe('docker update --memory 36m --memory-swap 36m --memory-reservation 28m CONTAINER');
    // 36 MiB x 0.9 = 32.4 MiB -> 32 MiB (rounded down)
    expect(r.goMemLimit).toBe('32MiB');
    expect(r.warning).toBeNull();
  });
  it('warns instead of raising for a leak, and recommends nothing without a limit', () => {
    const r = recommend(ctx({ verdict: 'Leak', peakNonReclaimableBytes: 250 * MiB, timeToLimitText: '2h05m' }));
    expect(r.memoryLimitBytes).toBe(256 * MiB);
    expect(r.warning).toMatch(/Do not raise the limit.*2h05m/);
    const none = recommend(ctx({ verdict: 'Leak', currentLimitBytes: null }));
    expect(none.memoryLimitBytes).toBeNull();
    expect(none.warning).not.toBeNull();
  });
  it('recommends nothing on InsufficientData', () => {
    expect(recommend(ctx({ verdict: 'InsufficientData' })).memoryLimitBytes).toBeNull();
  });
  it('omits GOMEMLIMIT for non-Go targets', () => {
    expect(recommend(ctx({ isGo: false })).goMemLimit).toBeNull();
  });
});

describe('formats', () => {
  it('rounds limits up to whole MiB and GOMEMLIMIT down', () => {
    expect(kubernetesQuantity(48 * MiB + 1)).toBe('49Mi');
    expect(composeSize(48 * MiB)).toBe('48m');
    expect(goMemLimitValue(48 * MiB - 1)).toBe('47MiB');
  });
});
