// A trace as the controller sees it, one sample a round: a full audit only when
// src/analysis/reaudit.ts says one is due, the last result standing otherwise. Shared by
// test/unit/analysis/reaudit.test.ts and bench/reaudit.ts.
import { audit } from '../../src/analysis/audit.ts';
import { reauditDue, type AuditedAt, type ReauditPolicy } from '../../src/analysis/reaudit.ts';
import type { HeapProfile, MemorySample } from '../../src/model/sample.ts';

export const verdictOf = (r: AuditedAt['result']): string => (r.leakSource ? `${r.verdict}/${r.leakSource}` : r.verdict);

/** The verdict the rounds end on, and how many of them ran a full audit. */
export function replayRounds(samples: readonly MemorySample[], profiles: readonly HeapProfile[], policy: ReauditPolicy): { verdict: string; full: number; rounds: number } {
  let last: AuditedAt | undefined;
  let full = 0;
  for (let i = 0; i < samples.length; i++) {
    const newest = samples[i]!;
    const seen = profiles.filter((p) => p.timestampMs <= newest.timestampMs);
    const inputs = String(seen.length);
    if (reauditDue(last, newest, inputs, policy) === null) continue;
    last = { result: audit(samples.slice(0, i + 1), seen), sample: newest, inputs };
    full++;
  }
  return { verdict: last ? verdictOf(last.result) : 'none', full, rounds: samples.length };
}

/** The sparsest policy the controller uses (24 h at 30 s: a refresh every 30 rounds), at this trace's interval. */
export function sparsePolicy(samples: readonly MemorySample[]): ReauditPolicy {
  const intervalMs = (samples.at(-1)!.timestampMs - samples[0]!.timestampMs) / Math.max(1, samples.length - 1);
  return { refreshMs: 30 * intervalMs, bandShare: 0.02, minBandBytes: 1024 * 1024 };
}
