// Step "decideAction" (action: Patch): per workload container of the live targets, decide on the
// current status whether to write the recommended limits (patch.ts says when not: a Leak, no
// verdict yet, once per window), write them, and say so in the Patched condition and lastPatch.
import { ConditionType, EventReason } from '../api/conditions.ts';
import type { MemoryAudit, MemoryAuditStatus, TargetStatus } from '../api/v1alpha1.ts';
import { applyPatch, decidePatch, findWorkload, readContainerResources, type Workload } from '../patch.ts';
import { setCondition } from '../status.ts';
import type { Target } from './find-targets.ts';
import type { ApiAccess, Round } from './round.ts';
import { auditPath } from './write-status.ts';

export async function decideAction(deps: ApiAccess, round: Round, status: MemoryAuditStatus, targets: readonly Target[]): Promise<MemoryAuditStatus> {
  const { audit, spec, nowMs, log, events } = round;
  const gen = audit.metadata.generation ?? 0;
  const groups = new Map<string, { workload: Workload | null; container: string; statuses: TargetStatus[] }>();
  const workloadOf = new Map<string, Workload | null>();
  for (const t of targets) {
    const podName = t.pod.metadata.name;
    if (!workloadOf.has(podName)) workloadOf.set(podName, await findWorkload(deps.client, t.pod));
    const w = workloadOf.get(podName)!;
    const gk = `${w ? `${w.kind}/${w.name}` : `pod/${podName}`}/${t.container}`;
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { workload: w, container: t.container, statuses: [] }));
    const st = status.targets?.find((s) => s.pod === podName && s.container === t.container);
    if (st) g.statuses.push(st);
  }
  let next = status;
  for (const g of groups.values()) {
    const current = g.workload ? await readContainerResources(deps.client, g.workload, g.container) : null;
    const input = {
      audit,
      targets: g.statuses,
      workload: g.workload && current ? g.workload : null,
      container: g.container,
      currentLimit: current?.limit,
      currentRequest: current?.request,
      // GOMEMLIMIT is known for the summary container (status.recommendation) only.
      goMemLimit: spec.goMemLimit && status.recommendation?.container === g.container ? status.recommendation.goMemLimit : undefined,
      windowMs: spec.windowMs,
      nowMs,
    };
    let plan = decidePatch(input);
    if (plan.write) {
      // The informer's copy of the audit can lag behind our own status write of the last round,
      // which holds lastPatch: decide again on the API server's copy, so a workload is never
      // patched twice in one window because the cache was late.
      plan = decidePatch({ ...input, audit: await deps.client.get<MemoryAudit>(auditPath(audit)) });
    }
    let condition = plan.condition;
    let lastPatch = plan.lastPatch;
    if (plan.event) events.push(plan.event);
    if (plan.write && current) {
      if (!deps.isLeader()) return next;
      const r = await applyPatch(deps.client, log, plan.write, current, nowMs);
      lastPatch = r.lastPatch;
      deps.metrics.patches.inc({ result: r.lastPatch.result });
      condition = r.ok ? { type: 'Patched', status: 'True', reason: 'Patched', message: r.lastPatch.message } : { type: 'Patched', status: 'False', reason: 'PatchFailed', message: r.lastPatch.message };
      events.push({ type: r.ok ? 'Normal' : 'Warning', reason: r.ok ? EventReason.Patched : EventReason.PatchFailed, message: r.lastPatch.message });
    } else if (plan.event) {
      deps.metrics.patches.inc({ result: 'Refused' });
    }
    next = { ...next, conditions: setCondition(next.conditions ?? [], { ...condition, type: ConditionType.Patched, observedGeneration: gen }, nowMs) };
    if (lastPatch) next.lastPatch = lastPatch;
  }
  return next;
}
