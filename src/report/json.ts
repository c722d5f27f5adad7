import type { TargetRef } from '../model/sample.ts';
import type { AuditResult } from '../model/verdict.ts';

/**
 * The machine-readable result: the contract of `memaudit analyze -o json` (docs/output.md).
 * Field names are stable; times are ISO-8601 and seconds; sizes are bytes.
 */
export function toJsonObject(result: AuditResult, target?: TargetRef): Record<string, unknown> {
  const growth: Record<string, unknown> = {};
  for (const [c, t] of Object.entries(result.growth)) {
    growth[c] = {
      bytesPerHour: Math.round(t.slopeBytesPerHour),
      ciBytesPerHour: t.slopeCiBytesPerHour.map((v) => (Number.isFinite(v) ? Math.round(v) : null)),
      olsBytesPerHour: Math.round(t.olsSlopeBytesPerHour),
      r2: round(t.r2, 3),
      firstBytes: t.firstBytes,
      lastBytes: t.lastBytes,
      minBytes: t.minBytes,
      maxBytes: t.maxBytes,
    };
  }
  return {
    ...(target ? { target } : {}),
    verdict: result.verdict,
    leakSource: result.leakSource,
    explanation: result.explanation,
    evidence: result.evidence,
    window: {
      start: new Date(result.window.startMs).toISOString(),
      end: new Date(result.window.endMs).toISOString(),
      durationSeconds: result.window.durationSeconds,
      samples: result.window.samples,
      gaps: (result.window.gaps ?? []).map((g) => ({ start: new Date(g.startMs).toISOString(), seconds: g.seconds })),
      analysed: result.window.analysed
        ? { start: new Date(result.window.analysed.startMs).toISOString(), end: new Date(result.window.analysed.endMs).toISOString(), samples: result.window.analysed.samples }
        : null,
    },
    restarts: (result.restarts ?? []).map((r) => ({ at: new Date(r.atMs).toISOString(), cause: r.cause })),
    growth,
    reclaimableShare: result.reclaimableShare === null ? null : round(result.reclaimableShare, 3),
    limitBytes: result.limitBytes,
    timeToLimitSeconds: result.timeToLimitSeconds === null ? null : Math.round(result.timeToLimitSeconds),
    reclaimObserved: result.reclaimObserved,
    heapExplainsAnonShare: result.heapExplainsAnonShare === null ? null : round(result.heapExplainsAnonShare, 3),
    topGrowingFunctions: result.topGrowingFunctions,
    recommendation: result.recommendation,
  };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
