// Step "evaluate": the engine's verdict on every target that still has evidence in the window
// (a Gone target's too, until its newest sample leaves the window), exported as per-target metrics
// and summed up into the audit's status, all of it but the Patched condition. A target's full
// audit runs again only when due (analysis/reaudit.ts: its newest sample left the range its verdict
// predicts, a new profile, a restart, the refresh period); otherwise its last result stands.
import type { AuditOptions } from '../../analysis/audit.ts';
import { auditedAt, reauditDue, reauditPolicy } from '../../analysis/reaudit.ts';
import type { HeapProfile, MemorySample } from '../../model/sample.ts';
import type { AuditResult } from '../../model/verdict.ts';
import { MAX_STATUS_TARGETS, type MemoryAuditStatus, type TargetStatus } from '../api/v1alpha1.ts';
import type { ControllerMetrics } from '../runtime/metrics.ts';
import { oomKilledInstances } from '../container-status.ts';
import { buildStatus, orderTargets, rfc3339, statusResult, targetStatus, type StatusResult } from '../status.ts';
import type { Round } from './round.ts';

export type Engine = (samples: MemorySample[], profiles: HeapProfile[], options?: AuditOptions) => AuditResult;

export function evaluate(engine: Engine, metrics: ControllerMetrics, round: Round, noTargetsMessage: string): MemoryAuditStatus {
  const { audit, spec, evidence: ev, nowMs, log } = round;
  const [namespace, name] = [audit.metadata.namespace!, audit.metadata.name];
  const results = new Map<string, StatusResult>();
  const statuses: TargetStatus[] = [];
  const policy = reauditPolicy(spec.windowMs, spec.intervalMs, spec.minDurationMs);
  for (const [tk, t] of ev.targets) {
    t.prune(nowMs, spec.windowMs);
    if (t.expired(nowMs, spec.windowMs)) {
      ev.targets.delete(tk);
      continue;
    }
    let result: StatusResult;
    try {
      const newest = t.newest();
      // What the result rests on besides the samples: the spec, the profiles, the OOM kills reported.
      const inputs = `${audit.metadata.generation ?? 0}|${t.profiles.length}:${t.profiles.at(-1)?.timestampMs ?? 0}|${t.oomKilledContainers.size}`;
      if (newest && reauditDue(t.audited, newest, inputs, policy) === null) {
        result = t.audited!.result;
        metrics.analyses.inc({ kind: 'reused' });
      } else {
        const samples = t.samples();
        // Kept as the status shows it (statusResult): the full result of 20,000 containers is some 120 MB.
        result = statusResult(engine(samples, t.profiles, { minDurationSeconds: spec.minDurationMs / 1000, isGo: spec.pprof !== null, recommend: { headroomPercent: spec.headroomPercent, goMemLimit: spec.goMemLimit }, containerName: t.container, oomKilledInstances: oomKilledInstances(samples, t.oomKilledContainers) }));
        t.audited = newest && samples.length > 0 ? auditedAt(result, samples, inputs, policy) : undefined;
        metrics.analyses.inc({ kind: 'full' });
      }
    } catch (e) {
      // One target's failure leaves the others' verdicts standing.
      log.error({ target: tk, err: e instanceof Error ? e.message : String(e) }, 'Analysis failed');
      continue;
    }
    results.set(tk, result);
    const gone = t.goneSinceMs !== undefined;
    const message = gone ? `Pod ${t.pod} is gone since ${rfc3339(t.goneSinceMs!)}; its evidence is kept until the window passes.` : (t.lastError ?? t.pprofError);
    statuses.push(targetStatus({ pod: t.pod, container: t.container, node: t.node, state: gone ? 'Gone' : t.lastError ? 'Failing' : 'Sampling', message, result, lastSampleMs: t.lastSampleMs, samplesTaken: t.samplesTaken }));
    metrics.setTarget(
      { namespace, audit: name, pod: t.pod, container: t.container },
      { verdict: result.verdict, growth: result.growth, timeToLimitSeconds: result.timeToLimitSeconds, limitBytes: result.limitBytes, recommendedLimitBytes: result.recommendation.memoryLimitBytes, samples: t.samplesTaken },
    );
  }
  metrics.pruneTargets(namespace, name, new Set(results.keys()));
  const summary = orderTargets(statuses)[0];
  return buildStatus({
    generation: audit.metadata.generation ?? 0,
    action: spec.action,
    previous: audit.status,
    targets: statuses,
    targetCount: statuses.length,
    noTargetsMessage,
    goMemLimit: spec.goMemLimit,
    summaryResult: summary ? results.get(`${summary.pod}/${summary.container}`) : undefined,
    lastRoundMs: ev.lastRoundMs || undefined,
    maxTargets: MAX_STATUS_TARGETS,
    nowMs,
  });
}
