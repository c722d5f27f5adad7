import { audit } from '../../../src/analysis/audit.ts';
import { AuditEvidence, DEFAULT_EVIDENCE_LIMITS, type EvidenceLimits } from '../../../src/controller/evidence.ts';
import { decodeEvidence, encodeEvidence } from '../../../src/controller/evidence-codec.ts';
import type { HeapProfile, MemorySample } from '../../../src/model/sample.ts';
import { labelledCases } from '../../helpers/labelled.ts';

// The controller holds a container's window compact (src/model/compact-samples.ts: two whole
// samples per time bucket, sizes to 64 KiB, the newest samples as taken; heap profiles reduced to
// their top functions, and functions only where a diff reads them). The verdicts must not change
// for it: every labelled trace gets the same verdict and leak source through the controller's
// evidence as from its raw samples, as held and as restored from the evidence ConfigMap, with all
// its fields and with cAdvisor's fields only (what the controller reads from kubelets). The
// held-out sets are not used here (bench/ reports them apart).

const cases = labelledCases();

const verdictOf = (r: ReturnType<typeof audit>) => `${r.verdict}/${r.leakSource}`;

/** The samples and profiles as the controller would hold them, and as a new leader would restore them. */
function throughEvidence(samples: readonly MemorySample[], profiles: readonly HeapProfile[], limits: EvidenceLimits) {
  const ev = new AuditEvidence('uid');
  const t = ev.target('pod', 'app', limits.maxBuckets);
  for (const s of samples) t.addSample(s);
  for (const p of [...profiles].sort((a, b) => a.timestampMs - b.timestampMs)) t.addProfile(p, limits);
  const restored = decodeEvidence(encodeEvidence(ev, samples.at(-1)!.timestampMs, 700 * 1024), 'test').targets.get('pod/app')!;
  return { held: { samples: t.samples(), profiles: t.profiles }, restored: { samples: restored.samples(), profiles: restored.profiles }, kept: t.series.length, taken: t.samplesTaken };
}

const cadvisorOnly = (samples: readonly MemorySample[]): MemorySample[] =>
  samples.map((s) => ({
    timestampMs: s.timestampMs,
    usageBytes: s.usageBytes,
    ...(s.limitBytes !== undefined ? { limitBytes: s.limitBytes } : {}),
    workingSetBytes: Math.max(0, s.usageBytes - (s.inactiveFileBytes ?? 0)),
    ...(s.fileBytes !== undefined ? { fileBytes: s.fileBytes } : {}),
    ...(s.anonBytes !== undefined ? { anonBytes: s.anonBytes } : {}),
    ...(s.mappedFileBytes !== undefined ? { mappedFileBytes: s.mappedFileBytes } : {}),
  }));

describe('labelled traces: the same verdict through the compact evidence as from the raw samples', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { samples, profiles } = await c.load();
    const raw = audit(samples, profiles);
    const e = throughEvidence(samples, profiles, DEFAULT_EVIDENCE_LIMITS);
    expect(e.taken).toBe(samples.length);
    expect(verdictOf(audit(e.held.samples, e.held.profiles))).toBe(verdictOf(raw));
    expect(verdictOf(audit(e.restored.samples, e.restored.profiles))).toBe(verdictOf(raw));
    if (raw.topGrowingFunctions.length > 0) expect(audit(e.held.samples, e.held.profiles).topGrowingFunctions[0]!.function).toBe(raw.topGrowingFunctions[0]!.function);

    const cadvisor = cadvisorOnly(samples);
    const rawCadvisor = audit(cadvisor);
    expect(verdictOf(audit(throughEvidence(cadvisor, [], DEFAULT_EVIDENCE_LIMITS).held.samples))).toBe(verdictOf(rawCadvisor));
  });

  // A margin, not the default: with a quarter of the buckets (a trace kept in 32 buckets, some 70
  // samples) every verdict still holds.
  it.each(cases.map((c) => [c.name, c] as const))('%s, held in 32 buckets', async (_name, c) => {
    const { samples, profiles } = await c.load();
    const e = throughEvidence(samples, profiles, { ...DEFAULT_EVIDENCE_LIMITS, maxBuckets: 32 });
    expect(e.kept).toBeLessThanOrEqual(2 * 32 + 24);
    expect(verdictOf(audit(e.held.samples, e.held.profiles))).toBe(verdictOf(audit(samples, profiles)));
  });
});
