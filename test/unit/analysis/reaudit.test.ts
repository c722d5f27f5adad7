import { audit } from '../../../src/analysis/audit.ts';
import { reauditDue, reauditPolicy, type AuditedAt, type ReauditPolicy } from '../../../src/analysis/reaudit.ts';
import type { MemorySample } from '../../../src/model/sample.ts';
import { labelledCases } from '../../helpers/labelled.ts';
import { replayRounds, sparsePolicy, verdictOf } from '../../helpers/replay.ts';

// When the controller audits a container in full again (src/analysis/reaudit.ts). The rules one by
// one, then every labelled trace replayed sample by sample as the controller sees it: a full audit
// only when due, the last result standing otherwise. Each trace must end on the verdict a full
// audit of the whole trace gives, under the controller's policy for an e2e-sized window and under
// one as sparse as 24 h at 30 s (a full audit at most every 30 samples). The held-out sets are not
// used here (bench/ reports them apart).

const MiB = 1024 * 1024;
const POLICY: ReauditPolicy = { refreshMs: 15 * 60_000, bandShare: 0.02, minBandBytes: MiB };
const sample = (t: number, usageMiB: number, more: Partial<MemorySample> = {}): MemorySample => ({ timestampMs: t * 1000, usageBytes: usageMiB * MiB, anonBytes: (usageMiB / 2) * MiB, fileBytes: (usageMiB / 2) * MiB, ...more });
const auditedAt = (s: MemorySample, verdict: AuditedAt['result']['verdict'] = 'Stable'): AuditedAt => ({ result: { verdict } as AuditedAt['result'], sample: s, inputs: 'x' });

describe('reauditDue', () => {
  const last = auditedAt(sample(0, 500));
  it('is due with no result, other inputs, or a verdict still collecting', () => {
    expect(reauditDue(undefined, sample(30, 500), 'x', POLICY)).toBe('first');
    expect(reauditDue(last, sample(30, 500), 'y', POLICY)).toBe('inputs');
    expect(reauditDue(auditedAt(sample(0, 500), 'InsufficientData'), sample(30, 500), 'x', POLICY)).toBe('collecting');
  });

  it('stands for a sample within the band of the audited one, shortly after it', () => {
    // 2 % of 500 MiB is 10 MiB: each component within it.
    expect(reauditDue(last, sample(30, 509), 'x', POLICY)).toBeNull();
    expect(reauditDue(last, sample(30, 500, { anonBytes: 259 * MiB }), 'x', POLICY)).toBeNull();
  });

  it('is due when any component moved out of the band from the audited sample (drift adds up), or appeared', () => {
    expect(reauditDue(last, sample(30, 500, { anonBytes: 261 * MiB }), 'x', POLICY)).toBe('moved');
    expect(reauditDue(last, sample(30, 511), 'x', POLICY)).toBe('moved');
    expect(reauditDue(last, sample(30, 500, { go: { heapInuseBytes: MiB } }), 'x', POLICY)).toBe('moved');
    // The floor: 2 % of 10 MiB is less than 1 MiB.
    expect(reauditDue(auditedAt(sample(0, 10)), sample(30, 10.9), 'x', POLICY)).toBeNull();
    expect(reauditDue(auditedAt(sample(0, 10)), sample(30, 11.2), 'x', POLICY)).toBe('moved');
  });

  it('is due for a restart, a new limit, an OOM, and after the refresh period', () => {
    expect(reauditDue(last, sample(30, 500, { instance: 'b' }), 'x', POLICY)).toBe('restart');
    expect(reauditDue(last, sample(30, 500, { limitBytes: 1024 * MiB }), 'x', POLICY)).toBe('restart');
    expect(reauditDue(last, sample(30, 500, { memoryEvents: { oomKill: 1 } }), 'x', POLICY)).toBe('restart');
    expect(reauditDue(last, sample(899, 500), 'x', POLICY)).toBeNull();
    expect(reauditDue(last, sample(900, 500), 'x', POLICY)).toBe('refresh');
  });

  it('refreshes every 1/96 of the window, at most 15 min, at least one interval', () => {
    expect(reauditPolicy(24 * 3600_000, 30_000).refreshMs).toBe(15 * 60_000);
    expect(reauditPolicy(3600_000, 30_000).refreshMs).toBe(37_500);
    expect(reauditPolicy(600_000, 30_000).refreshMs).toBe(30_000);
  });
});

describe('labelled traces replayed round by round end on the verdict of a full audit', () => {
  it.each(labelledCases().map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { samples, profiles } = await c.load();
    const whole = verdictOf(audit(samples, profiles));
    const intervalMs = (samples.at(-1)!.timestampMs - samples[0]!.timestampMs) / (samples.length - 1);
    const e2e = replayRounds(samples, profiles, reauditPolicy(10 * 60_000, intervalMs));
    const sparse = replayRounds(samples, profiles, sparsePolicy(samples));
    expect(e2e.verdict).toBe(whole);
    expect(sparse.verdict).toBe(whole);
    // A container that stays put is audited in full seldom (these traces are short and mostly
    // growing: bench/ reports the share over a fleet).
    if (c.name === 'cgroup/idle') expect(sparse.full).toBeLessThan(samples.length / 3);
  });
});
