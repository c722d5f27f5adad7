// A trace as the controller sees it, one sample a round: a full audit only when
// src/analysis/reaudit.ts says one is due, the last result standing otherwise. Shared by
// test/unit/analysis/reaudit.test.ts and bench/reaudit.ts.
import { audit } from '../../src/analysis/audit.ts';
import { auditedAt, reauditDue, type AuditedAt, type ReauditPolicy } from '../../src/analysis/reaudit.ts';
import type { HeapProfile, MemorySample } from '../../src/model/sample.ts';

export const verdictOf = (r: AuditedAt['result']): string => (r.leakSource ? `${r.verdict}/${r.leakSource}` : r.verdict);

/**
 * The verdict the rounds end on, how many of them ran a full audit, and the round from which the
 * verdict held stayed the final one. `policy` null: a full audit every round.
 */
export function replayRounds(samples: readonly MemorySample[], profiles: readonly HeapProfile[], policy: ReauditPolicy | null): { verdict: string; full: number; rounds: number; settledAt: number } {
  let last: AuditedAt | undefined;
  let full = 0;
  const held: string[] = [];
  for (let i = 0; i < samples.length; i++) {
    const newest = samples[i]!;
    const seen = profiles.filter((p) => p.timestampMs <= newest.timestampMs);
    const inputs = String(seen.length);
    if (!last || !policy || reauditDue(last, newest, inputs, policy) !== null) {
      const window = samples.slice(0, i + 1);
      last = auditedAt(audit(window, seen), window, inputs, policy ?? EVERY_ROUND);
      full++;
    }
    held.push(verdictOf(last.result));
  }
  const verdict = held.at(-1) ?? 'none';
  let settledAt = held.length - 1;
  while (settledAt > 0 && held[settledAt - 1] === verdict) settledAt--;
  return { verdict, full, rounds: samples.length, settledAt };
}

const EVERY_ROUND: ReauditPolicy = { refreshMs: 0, bandShare: 0, minBandBytes: 0, minDurationMs: 0 };

/** The sparsest policy the controller uses (24 h at 30 s: a refresh every 30 rounds), at this trace's interval; audit()'s default minDuration (30 s). */
export function sparsePolicy(samples: readonly MemorySample[]): ReauditPolicy {
  const intervalMs = (samples.at(-1)!.timestampMs - samples[0]!.timestampMs) / Math.max(1, samples.length - 1);
  return { refreshMs: 30 * intervalMs, bandShare: 0.02, minBandBytes: 1024 * 1024, minDurationMs: 30_000 };
}
