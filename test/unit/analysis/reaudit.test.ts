import { audit } from '../../../src/analysis/audit.ts';
import { auditedAt, reauditDue, reauditPolicy, type AuditedAt, type ReauditPolicy } from '../../../src/analysis/reaudit.ts';
import type { MemorySample } from '../../../src/model/sample.ts';
import { labelledCases } from '../../helpers/labelled.ts';
import { replayRounds, sparsePolicy, verdictOf } from '../../helpers/replay.ts';

// When the controller audits a container in full again (src/analysis/reaudit.ts). The rules one by
// one, then every labelled trace replayed sample by sample as the controller sees it: a full audit
// only when due, the last result standing otherwise. Each trace must end on the verdict a full
// audit of the whole trace gives, under the controller's policy for an e2e-sized window and under
// one as sparse as 24 h at 30 s (a full audit at most every 30 samples), at most three rounds
// after a full audit every round settles on it. The held-out sets are not
// used here (bench/ reports them apart).

const MiB = 1024 * 1024;
const POLICY: ReauditPolicy = { refreshMs: 15 * 60_000, bandShare: 0.02, minBandBytes: MiB, minDurationMs: 30 * 60_000 };
const sample = (t: number, usageMiB: number, more: Partial<MemorySample> = {}): MemorySample => ({ timestampMs: t * 1000, usageBytes: usageMiB * MiB, anonBytes: (usageMiB / 2) * MiB, fileBytes: (usageMiB / 2) * MiB, ...more });
const result = (verdict: AuditedAt['result']['verdict'] = 'Stable') => ({ verdict }) as AuditedAt['result'];
/** Audited at t = 3600 s after an hour of samples: a sawtooth between 480 and 500 MiB, every 30 s. */
const sawtooth = Array.from({ length: 121 }, (_, i) => sample(i * 30, 480 + (i % 5) * 5));
const last = auditedAt(result(), sawtooth, 'x', POLICY);

describe('reauditDue', () => {
  it('is due with no result or other inputs', () => {
    expect(reauditDue(undefined, sample(3630, 500), 'x', POLICY)).toBe('first');
    expect(reauditDue(last, sample(3630, 500), 'y', POLICY)).toBe('inputs');
  });

  it('keeps an InsufficientData verdict while the window spans less than minDuration, then audits every round', () => {
    const young = auditedAt(result('InsufficientData'), [sample(0, 500), sample(600, 500)], 'x', POLICY);
    expect(reauditDue(young, sample(1799, 900), 'x', POLICY)).toBeNull();
    expect(reauditDue(young, sample(1800, 500), 'x', POLICY)).toBe('collecting');
  });

  it('stands for a sample within the band of the recent range: a sawtooth going on', () => {
    // The last 15 min ranged 480..500 MiB; 2 % of the audited 500 MiB is 10 MiB.
    for (const u of [470.5, 480, 495, 509]) expect(reauditDue(last, sample(3630, u), 'x', POLICY)).toBeNull();
    expect(reauditDue(last, sample(3630, 490, { anonBytes: 259 * MiB }), 'x', POLICY)).toBeNull();
  });

  it('is due when a component leaves the recent range by more than the band, or appears', () => {
    expect(reauditDue(last, sample(3630, 511), 'x', POLICY)).toBe('moved');
    expect(reauditDue(last, sample(3630, 469), 'x', POLICY)).toBe('moved');
    expect(reauditDue(last, sample(3630, 490, { anonBytes: 261 * MiB }), 'x', POLICY)).toBe('moved');
    expect(reauditDue(last, sample(3630, 490, { go: { heapInuseBytes: MiB } }), 'x', POLICY)).toBe('moved');
    // The floor: 2 % of 10 MiB is less than 1 MiB.
    const small = auditedAt(result(), [sample(0, 10)], 'x', POLICY);
    expect(reauditDue(small, sample(30, 10.9), 'x', POLICY)).toBeNull();
    expect(reauditDue(small, sample(30, 11.2), 'x', POLICY)).toBe('moved');
  });

  it('for a Leak, the range moves on at the fitted slope: a leak going on stands, one that stopped is audited again', () => {
    // 10 MiB a minute, audited at 60 min on 500 MiB: the range 500..500, each component at its slope.
    const leaking = Array.from({ length: 121 }, (_, i) => sample(i * 30, 500 - (120 - i) * 5));
    const perHour = (miB: number) => ({ slopeBytesPerHour: miB * 60 * MiB }) as AuditedAt['result']['growth']['usage'];
    const leak = auditedAt({ verdict: 'Leak', leakSource: 'anon', growth: { usage: perHour(10), anon: perHour(5), file: perHour(5) } } as AuditedAt['result'], leaking, 'x', POLICY);
    // Two minutes on: +20 MiB as found.
    expect(reauditDue(leak, sample(3600 + 120, 520), 'x', POLICY)).toBeNull();
    // Stopped at 500 MiB: below the range moved on by 20 MiB, more than the 10 MiB band.
    expect(reauditDue(leak, sample(3600 + 120, 500), 'x', POLICY)).toBe('moved');
    // Faster than found.
    expect(reauditDue(leak, sample(3600 + 120, 560), 'x', POLICY)).toBe('moved');
  });

  it('"recent" is the refresh period before the audit: an older low does not widen the range', () => {
    const dipped = auditedAt(result(), [sample(0, 100), ...sawtooth.slice(60)], 'x', POLICY);
    expect(reauditDue(dipped, sample(3630, 300), 'x', POLICY)).toBe('moved');
  });

  it('is due for a restart, a new limit, an OOM, and after the refresh period', () => {
    expect(reauditDue(last, sample(3630, 490, { instance: 'b' }), 'x', POLICY)).toBe('restart');
    expect(reauditDue(last, sample(3630, 490, { limitBytes: 1024 * MiB }), 'x', POLICY)).toBe('restart');
    expect(reauditDue(last, sample(3630, 490, { memoryEvents: { oomKill: 1 } }), 'x', POLICY)).toBe('restart');
    expect(reauditDue(last, sample(3600 + 899, 490), 'x', POLICY)).toBeNull();
    expect(reauditDue(last, sample(3600 + 900, 490), 'x', POLICY)).toBe('refresh');
  });

  it('refreshes every 1/96 of the window, at most 15 min, at least one interval', () => {
    expect(reauditPolicy(24 * 3600_000, 30_000, 0).refreshMs).toBe(15 * 60_000);
    expect(reauditPolicy(3600_000, 30_000, 0).refreshMs).toBe(37_500);
    expect(reauditPolicy(600_000, 30_000, 0).refreshMs).toBe(30_000);
  });
});

describe('labelled traces replayed round by round end on the verdict of a full audit', () => {
  it.each(labelledCases().map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { samples, profiles } = await c.load();
    const whole = verdictOf(audit(samples, profiles));
    const intervalMs = (samples.at(-1)!.timestampMs - samples[0]!.timestampMs) / (samples.length - 1);
    const e2e = replayRounds(samples, profiles, reauditPolicy(10 * 60_000, intervalMs, 30_000));
    const sparse = replayRounds(samples, profiles, sparsePolicy(samples));
    expect(e2e.verdict).toBe(whole);
    expect(sparse.verdict).toBe(whole);
    // And no more than a few rounds after a full audit every round reaches it.
    expect(sparse.settledAt - replayRounds(samples, profiles, null).settledAt).toBeLessThanOrEqual(3);
    // A container that stays put is audited in full seldom (these traces are short and mostly
    // growing: bench/ reports the share over a fleet).
    if (c.name === 'cgroup/idle') expect(sparse.full).toBeLessThan(samples.length / 3);
  });
});
