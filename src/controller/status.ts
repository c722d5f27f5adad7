// Pure functions from results to the MemoryAudit status: per-target entries, the summary the
// printer columns show, and conditions (metav1.Condition semantics: lastTransitionTime moves only
// when the status of a condition changes).
import type { AuditResult, Component, LeakSource, Recommendation, Verdict } from '../model/verdict.ts';
import { MiB, KiB, GiB } from '../model/units.ts';
import { ConditionType, ReadyReason } from './api/conditions.ts';
import { MAX_GROWING_FUNCTIONS, growthReason, type Action, type Condition, type MemoryAuditStatus, type RecommendationStatus, type TargetState, type TargetStatus } from './api/v1alpha1.ts';

const SEVERITY: Record<Verdict, number> = { Leak: 4, CacheGrowth: 3, Plateau: 2, Stable: 1, InsufficientData: 0 };

type GrowthField = keyof NonNullable<TargetStatus['growthBytesPerHour']>;
/** The components whose growth a target's status shows, under their own names. */
const GROWTH_FIELDS: readonly GrowthField[] = ['usage', 'workingSet', 'anon', 'file', 'shmem', 'kernel', 'goHeap'];

/** The component whose growth explains a verdict: what the Growth column shows. */
export function decidingComponent(verdict: Verdict, leakSource: LeakSource | null): GrowthField {
  if (verdict === 'CacheGrowth') return 'file';
  return verdict === 'Leak' ? LEAK_COMPONENTS[leakSource ?? 'anon'] : 'usage';
}

const LEAK_COMPONENTS: Record<LeakSource, GrowthField> = { heap: 'goHeap', offHeap: 'anon', anon: 'anon', shmem: 'shmem', kernel: 'kernel' };

/** Binary quantity with a short suffix: 12Mi, 1.5Gi, 300Ki. */
export function shortQuantity(bytes: number): string {
  const b = Math.abs(bytes);
  const sign = bytes < 0 ? '-' : '';
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, ''));
  if (b >= GiB) return `${sign}${fmt(b / GiB)}Gi`;
  if (b >= MiB) return `${sign}${fmt(b / MiB)}Mi`;
  if (b >= KiB) return `${sign}${fmt(b / KiB)}Ki`;
  return `${sign}${Math.round(b)}`;
}

export function growthText(bytesPerHour: number): string {
  return `${bytesPerHour >= 0 ? '+' : ''}${shortQuantity(bytesPerHour)}/h`;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * What the status and the per-target metrics show of a result: the controller keeps this of every
 * container between full audits, not the AuditResult (its trends' intervals, rationale, evidence
 * and window details are some 6 KB a container; this is under 1 KB).
 */
export type StatusResult = Pick<AuditResult, 'verdict' | 'leakSource' | 'explanation' | 'timeToLimitSeconds' | 'limitBytes'> & {
  window: Pick<AuditResult['window'], 'samples' | 'durationSeconds'>;
  growth: Partial<Record<Component, { slopeBytesPerHour: number; r2: number }>>;
  recommendation: Pick<Recommendation, 'memoryLimitBytes' | 'kubernetes' | 'goMemLimit' | 'compose' | 'warning'>;
  topGrowingFunctions: Pick<AuditResult['topGrowingFunctions'][number], 'function' | 'growthBytes'>[];
};

/** The StatusResult of a full result: the fields it names, copied. */
export function statusResult(r: AuditResult): StatusResult {
  const growth: StatusResult['growth'] = {};
  for (const [c, t] of Object.entries(r.growth) as [Component, AuditResult['growth'][Component]][]) if (t) growth[c] = { slopeBytesPerHour: t.slopeBytesPerHour, r2: t.r2 };
  const { memoryLimitBytes, kubernetes, goMemLimit, compose, warning } = r.recommendation;
  return {
    verdict: r.verdict,
    leakSource: r.leakSource,
    explanation: r.explanation,
    timeToLimitSeconds: r.timeToLimitSeconds,
    limitBytes: r.limitBytes,
    window: { samples: r.window.samples, durationSeconds: r.window.durationSeconds },
    growth,
    recommendation: { memoryLimitBytes, kubernetes, goMemLimit, compose, warning },
    topGrowingFunctions: r.topGrowingFunctions.slice(0, MAX_GROWING_FUNCTIONS).map((f) => ({ function: f.function, growthBytes: f.growthBytes })),
  };
}

export interface TargetInput {
  pod: string;
  container: string;
  node: string | undefined;
  state: TargetState;
  message: string | undefined;
  result: StatusResult;
  lastSampleMs: number | undefined;
  /** Samples taken within the window; the engine sees fewer once the evidence compacts them (evidence.ts). */
  samplesTaken?: number;
}

export function targetStatus(t: TargetInput): TargetStatus {
  const r = t.result;
  const growth: NonNullable<TargetStatus['growthBytesPerHour']> = {};
  for (const c of GROWTH_FIELDS) {
    const trend = r.growth[c];
    if (trend) growth[c] = Math.round(trend.slopeBytesPerHour);
  }
  const out: TargetStatus = {
    pod: t.pod,
    container: t.container,
    state: t.state,
    verdict: r.verdict,
    explanation: clip(r.explanation, 1024),
    samples: t.samplesTaken ?? r.window.samples,
    windowSeconds: Math.round(r.window.durationSeconds),
    growthBytesPerHour: growth,
  };
  // Absent rather than null: a JSON merge patch (how status is written) deletes null fields.
  if (r.leakSource !== null) out.leakSource = r.leakSource;
  if (r.timeToLimitSeconds !== null && Number.isFinite(r.timeToLimitSeconds)) out.timeToLimitSeconds = Math.max(0, Math.round(r.timeToLimitSeconds));
  if (t.node) out.node = t.node;
  if (t.message) out.message = clip(t.message, 1024);
  const deciding = r.growth[decidingComponent(r.verdict, r.leakSource)];
  if (deciding && Number.isFinite(deciding.r2)) out.r2 = Math.round(Math.min(1, Math.max(0, deciding.r2)) * 1000) / 1000;
  if (r.limitBytes !== null) out.limit = shortQuantity(r.limitBytes);
  const k8s = r.recommendation.kubernetes;
  if (k8s?.limits) out.recommendedLimit = k8s.limits.memory;
  if (k8s?.requests) out.recommendedRequest = k8s.requests.memory;
  if (r.topGrowingFunctions.length > 0) {
    out.topGrowingFunctions = r.topGrowingFunctions.slice(0, MAX_GROWING_FUNCTIONS).map((f) => ({ function: clip(f.function, 512), growthBytes: Math.round(f.growthBytes) }));
  }
  if (t.lastSampleMs !== undefined) out.lastSampleTime = rfc3339(t.lastSampleMs);
  return out;
}

export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Most severe first; Gone targets after live ones of the same verdict; then by name. */
export function orderTargets(targets: TargetStatus[]): TargetStatus[] {
  return [...targets].sort((a, b) => SEVERITY[b.verdict] - SEVERITY[a.verdict] || Number(a.state === 'Gone') - Number(b.state === 'Gone') || a.pod.localeCompare(b.pod) || a.container.localeCompare(b.container));
}

/** Sets a condition the way meta.SetStatusCondition does. */
export function setCondition(conditions: Condition[], next: Omit<Condition, 'lastTransitionTime'>, nowMs: number): Condition[] {
  const prev = conditions.find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : rfc3339(nowMs);
  const c: Condition = { ...next, lastTransitionTime };
  return [...conditions.filter((x) => x.type !== next.type), c].sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type));
}

const conditionOrder = (t: string) => [ConditionType.Ready, ConditionType.MemoryGrowth, ConditionType.Patched].indexOf(t as never);

export interface SummaryInput {
  generation: number;
  action: Action;
  previous: MemoryAuditStatus | undefined;
  targets: TargetStatus[];
  /** All targets tracked (targets above may be capped). */
  targetCount: number;
  /** Why no target is sampled, when none is. */
  noTargetsMessage: string | undefined;
  /** The goMemLimit recommendation of the summary target, when asked for. */
  goMemLimit: boolean;
  summaryResult: StatusResult | undefined;
  lastRoundMs: number | undefined;
  maxTargets: number;
  nowMs: number;
}

/** The whole status except Patched and lastPatch (patch.ts adds those). */
export function buildStatus(input: SummaryInput): MemoryAuditStatus {
  const ordered = orderTargets(input.targets);
  const live = ordered.filter((t) => t.state !== 'Gone');
  const failing = live.filter((t) => t.state === 'Failing');
  const summary = ordered[0];
  let conditions = input.previous?.conditions ?? [];

  let ready: Omit<Condition, 'lastTransitionTime'>;
  if (live.length === 0) {
    ready = { type: ConditionType.Ready, status: 'False', reason: ReadyReason.TargetsMissing, message: input.noTargetsMessage ?? 'No running pod matches the selector.', observedGeneration: input.generation };
  } else if (failing.length === live.length) {
    ready = { type: ConditionType.Ready, status: 'False', reason: ReadyReason.SamplingFailed, message: clip(`Sampling fails for every target: ${failing[0]!.message ?? 'unknown error'}`, 4096), observedGeneration: input.generation };
  } else if (failing.length > 0) {
    ready = { type: ConditionType.Ready, status: 'True', reason: ReadyReason.PartiallySampling, message: clip(`Sampling ${live.length - failing.length} of ${live.length} targets; failing: ${failing.map((t) => `${t.pod}/${t.container} (${t.message ?? 'unknown error'})`).join('; ')}`, 4096), observedGeneration: input.generation };
  } else {
    ready = { type: ConditionType.Ready, status: 'True', reason: ReadyReason.Sampling, message: `Sampling ${live.length} container${live.length === 1 ? '' : 's'}.`, observedGeneration: input.generation };
  }
  conditions = setCondition(conditions, ready, input.nowMs);

  if (summary) {
    const v = summary.verdict;
    const status = v === 'Leak' || v === 'CacheGrowth' ? 'True' : v === 'InsufficientData' ? 'Unknown' : 'False';
    conditions = setCondition(conditions, { type: ConditionType.MemoryGrowth, status, reason: growthReason(v, summary.leakSource ?? null), message: clip(`${summary.pod}/${summary.container}: ${summary.explanation ?? v}`, 4096), observedGeneration: input.generation }, input.nowMs);
  } else {
    conditions = setCondition(conditions, { type: ConditionType.MemoryGrowth, status: 'Unknown', reason: growthReason('InsufficientData', null), message: 'No samples yet.', observedGeneration: input.generation }, input.nowMs);
  }
  if (input.action !== 'Patch') conditions = conditions.filter((c) => c.type !== ConditionType.Patched);

  const status: MemoryAuditStatus = {
    observedGeneration: input.generation,
    conditions,
    targetCount: input.targetCount,
    targets: ordered.slice(0, input.maxTargets),
  };
  if (summary) {
    status.verdict = summary.verdict;
    if (summary.leakSource) status.leakSource = summary.leakSource;
    const rate = summary.growthBytesPerHour?.[decidingComponent(summary.verdict, summary.leakSource ?? null)];
    if (summary.verdict !== 'InsufficientData' && rate !== undefined) status.growth = growthText(rate);
    if (input.action !== 'Observe' && input.summaryResult) {
      const rec = recommendationStatus(summary.container, input.summaryResult, input.goMemLimit);
      status.recommendation = rec;
      if (rec.memoryLimit) status.recommendedLimit = rec.memoryLimit;
    }
  }
  if (input.lastRoundMs) status.lastSampleTime = rfc3339(input.lastRoundMs);
  if (input.previous?.lastPatch) status.lastPatch = input.previous.lastPatch;
  return status;
}

function recommendationStatus(container: string, r: StatusResult, goMemLimit: boolean): RecommendationStatus {
  const rec = r.recommendation;
  const out: RecommendationStatus = { container };
  if (rec.kubernetes?.limits) out.memoryLimit = rec.kubernetes.limits.memory;
  if (rec.kubernetes?.requests) out.memoryRequest = rec.kubernetes.requests.memory;
  if (goMemLimit && rec.goMemLimit) out.goMemLimit = rec.goMemLimit;
  if (rec.compose) out.composeMemLimit = rec.compose.mem_limit;
  if (rec.warning) out.warning = clip(rec.warning, 1024);
  if (out.memoryLimit) out.patch = JSON.stringify(containerPatch(container, out.memoryLimit, out.memoryRequest, out.goMemLimit));
  return out;
}

/** The strategic merge patch of a workload's pod template: containers merge by name, resources maps by key, env by name. */
export function containerPatch(container: string, limit: string, request: string | undefined, goMemLimit: string | undefined): Record<string, unknown> {
  const resources: Record<string, Record<string, string>> = { limits: { memory: limit } };
  if (request) resources.requests = { memory: request };
  const c: Record<string, unknown> = { name: container, resources };
  if (goMemLimit) c.env = [{ name: 'GOMEMLIMIT', value: goMemLimit }];
  return { spec: { template: { spec: { containers: [c] } } } };
}

/**
 * What a reader of the status acts on: the conditions' states and reasons, the verdicts, each
 * target's state and limit, the target count, the last patch. A new status that differs from the
 * written one only in progress (sample counts, times, growth rates, recommended sizes, messages)
 * is written at most every --status-sync-period; a change here is written at once.
 */
export function materialStatus(s: MemoryAuditStatus | undefined): string {
  if (!s) return '';
  const targets = (s.targets ?? []).map((t) => [t.pod, t.container, t.state, t.verdict, t.leakSource ?? null, t.limit ?? null]).sort((a, b) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`));
  const conditions = (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.observedGeneration ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return JSON.stringify([s.observedGeneration ?? null, conditions, s.verdict ?? null, s.leakSource ?? null, s.targetCount ?? null, targets, s.lastPatch ?? null]);
}
