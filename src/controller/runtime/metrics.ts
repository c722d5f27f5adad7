import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { COMPONENTS, VERDICTS, type Component, type Verdict } from '../../model/verdict.ts';

/** One audited container's result, as its metrics show it. */
type TargetLabels = { namespace: string; audit: string; pod: string; container: string };

export interface TargetReading {
  verdict: Verdict;
  /** Bytes per hour, per component. */
  growth: Partial<Record<Component, number>>;
  timeToLimitSeconds: number | null;
  limitBytes: number | null;
  recommendedLimitBytes: number | null;
  samples: number;
}

/**
 * The controller's Prometheus metrics on its own registry: per-target results (so alerts can use
 * the verdict rather than predict_linear on raw usage) and the controller's own health.
 */
export class ControllerMetrics {
  /** The targets with series, by "namespace/audit", then "pod/container": what pruneTargets removes. */
  readonly #targets = new Map<string, Map<string, { labels: TargetLabels; last: TargetReading | undefined }>>();
  readonly registry = new Registry();
  readonly targetVerdict: Gauge<'namespace' | 'audit' | 'pod' | 'container' | 'verdict'>;
  readonly targetGrowth: Gauge<'namespace' | 'audit' | 'pod' | 'container' | 'component'>;
  readonly targetTimeToLimit: Gauge<'namespace' | 'audit' | 'pod' | 'container'>;
  readonly targetSamples: Gauge<'namespace' | 'audit' | 'pod' | 'container'>;
  readonly targetLimit: Gauge<'namespace' | 'audit' | 'pod' | 'container'>;
  readonly targetRecommendedLimit: Gauge<'namespace' | 'audit' | 'pod' | 'container'>;
  readonly reconcileTotal: Counter<'result'>;
  readonly reconcileDuration: Histogram;
  readonly reconcileStepDuration: Histogram<'step'>;
  readonly samplingTotal: Counter<'source' | 'result'>;
  readonly samplingDuration: Histogram<'source'>;
  readonly informerRestarts: Counter<'informer'>;
  readonly leader: Gauge;
  readonly shardsHeld: Gauge;
  readonly audits: Gauge;
  readonly statusWrites: Counter<'result'>;
  readonly analyses: Counter<'kind'>;
  readonly patches: Counter<'result'>;

  constructor(withProcessMetrics = true) {
    const registers = [this.registry];
    const targetLabels = ['namespace', 'audit', 'pod', 'container'] as const;
    this.targetVerdict = new Gauge({ name: 'memaudit_target_verdict', help: '1 for the current verdict of an audited container, 0 for the others.', labelNames: [...targetLabels, 'verdict'], registers });
    this.targetGrowth = new Gauge({ name: 'memaudit_target_growth_bytes_per_hour', help: 'Robust growth rate of a memory component of an audited container.', labelNames: [...targetLabels, 'component'], registers });
    this.targetTimeToLimit = new Gauge({ name: 'memaudit_target_time_to_limit_seconds', help: 'Seconds until non-reclaimable memory reaches the limit at the current rate (absent: never or unknown).', labelNames: targetLabels, registers });
    this.targetSamples = new Gauge({ name: 'memaudit_target_samples', help: 'Samples in the window of an audited container.', labelNames: targetLabels, registers });
    this.targetLimit = new Gauge({ name: 'memaudit_target_limit_bytes', help: 'The memory limit of an audited container as its cgroup reports it (absent: no limit).', labelNames: targetLabels, registers });
    this.targetRecommendedLimit = new Gauge({ name: 'memaudit_target_recommended_limit_bytes', help: 'The memory limit recommended for an audited container, as in its status (absent: no recommendation yet). For a Leak it is never above the current limit.', labelNames: targetLabels, registers });
    this.reconcileTotal = new Counter({ name: 'memaudit_reconcile_total', help: 'Reconciles of MemoryAudits by result.', labelNames: ['result'], registers });
    this.reconcileDuration = new Histogram({ name: 'memaudit_reconcile_duration_seconds', help: 'Duration of one reconcile, sampling included.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.reconcileStepDuration = new Histogram({ name: 'memaudit_reconcile_step_duration_seconds', help: 'Duration of one step of a reconcile (restoreEvidence, findTargets, backfill, sample, evaluate, decideAction, writeStatus, emitEvents, persistEvidence), failed or not.', labelNames: ['step'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.samplingTotal = new Counter({ name: 'memaudit_sampling_total', help: 'Fetches from kubelets (kubelet), Go targets (pprof) and the Prometheus history (prometheus: one per audit backfilled) by result.', labelNames: ['source', 'result'], registers });
    this.samplingDuration = new Histogram({ name: 'memaudit_sampling_duration_seconds', help: 'Duration of one fetch.', labelNames: ['source'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.informerRestarts = new Counter({ name: 'memaudit_informer_restarts_total', help: 'Informer restarts after a failed list or watch.', labelNames: ['informer'], registers });
    this.leader = new Gauge({ name: 'memaudit_leader', help: '1 while this replica holds the leader Lease (with --shards: the Lease of at least one shard).', registers });
    this.shardsHeld = new Gauge({ name: 'memaudit_shards_held', help: 'Shards whose Lease this replica holds (with one shard: the same as memaudit_leader).', registers });
    this.audits = new Gauge({ name: 'memaudit_audits', help: 'MemoryAudits this controller reconciles.', registers });
    this.statusWrites = new Counter({ name: 'memaudit_status_writes_total', help: 'MemoryAudit status writes by result.', labelNames: ['result'], registers });
    this.analyses = new Counter({ name: 'memaudit_analyses_total', help: 'Per-container verdicts by kind: full (the engine ran on the window) or reused (the last result stands: the newest sample lies within its band, analysis/reaudit.ts).', labelNames: ['kind'], registers });
    this.patches = new Counter({ name: 'memaudit_patches_total', help: 'Workload patches by result (Applied, Refused, Failed).', labelNames: ['result'], registers });
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** One fetch from a kubelet, a Go target, or the history of an audit's new containers in Prometheus. */
  observeFetch(source: 'kubelet' | 'pprof' | 'prometheus', ok: boolean, seconds: number): void {
    this.samplingTotal.inc({ source, result: ok ? 'ok' : 'error' });
    this.samplingDuration.observe({ source }, seconds);
  }

  /**
   * A target's series, written where they changed since its last reading: a round whose verdict
   * stands (analysis/reaudit.ts) moves the sample count only, and each prom-client write hashes
   * the labels (23 writes a target a round were 1 s of CPU at 20,000 containers).
   */
  setTarget(labels: TargetLabels, t: TargetReading): void {
    const key = `${labels.namespace}/${labels.audit}`;
    let targets = this.#targets.get(key);
    if (!targets) this.#targets.set(key, (targets = new Map()));
    const tk = `${labels.pod}/${labels.container}`;
    const known = targets.get(tk);
    const last = known?.last;
    targets.set(tk, { labels: known?.labels ?? { ...labels }, last: { ...t } });
    if (last?.verdict !== t.verdict) for (const v of VERDICTS) this.targetVerdict.set({ ...labels, verdict: v }, v === t.verdict ? 1 : 0);
    for (const c of COMPONENTS) {
      const g = t.growth[c];
      if (last && last.growth[c] === g) continue;
      if (g === undefined) this.targetGrowth.remove({ ...labels, component: c });
      else this.targetGrowth.set({ ...labels, component: c }, g);
    }
    const setOrRemove = (gauge: Gauge<string>, value: number | null, before: number | null | undefined) => {
      if (last && value === before) return;
      if (value === null) gauge.remove(labels);
      else gauge.set(labels, value);
    };
    setOrRemove(this.targetTimeToLimit, t.timeToLimitSeconds, last?.timeToLimitSeconds);
    setOrRemove(this.targetLimit, t.limitBytes, last?.limitBytes);
    setOrRemove(this.targetRecommendedLimit, t.recommendedLimitBytes, last?.recommendedLimitBytes);
    setOrRemove(this.targetSamples, t.samples, last?.samples);
  }

  /** Drops every series of an audit's targets except those in `keep` ("pod/container"). */
  pruneTargets(namespace: string, audit: string, keep: ReadonlySet<string>): void {
    // From this class's own index of the audit's targets: prom-client can only list a gauge's
    // label sets by reading every series of every audit, which made a round over N audits cost
    // N x all targets (36 % of the controller's CPU at 10,000 containers, bench:controller-real).
    const key = `${namespace}/${audit}`;
    const targets = this.#targets.get(key);
    if (!targets) return;
    for (const [tk, { labels }] of targets) {
      if (keep.has(tk)) continue;
      for (const verdict of VERDICTS) this.targetVerdict.remove({ ...labels, verdict });
      for (const component of COMPONENTS) this.targetGrowth.remove({ ...labels, component });
      for (const g of [this.targetTimeToLimit, this.targetSamples, this.targetLimit, this.targetRecommendedLimit]) g.remove(labels);
      targets.delete(tk);
    }
    if (targets.size === 0) this.#targets.delete(key);
  }
}
