import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric, type MetricObjectWithValues, type MetricType, type MetricValue } from 'prom-client';
import { COMPONENTS, VERDICTS, type Component, type Verdict } from '../../model/verdict.ts';

/** One audited container's result, as its metrics show it. */
type TargetLabels = { namespace: string; audit: string; pod: string; container: string };

export interface TargetReading {
  verdict: Verdict;
  /** Per component, its growth in bytes per hour (a result's trends, StatusResult.growth, as they are). */
  growth: Partial<Record<Component, { slopeBytesPerHour: number }>>;
  timeToLimitSeconds: number | null;
  limitBytes: number | null;
  recommendedLimitBytes: number | null;
  samples: number;
}

type TargetLabelName = keyof TargetLabels;
/** A target, its labels as an exposition writes them (escaped once), and its last reading. */
type TargetEntry = { labels: TargetLabels; labelText: string; reading: TargetReading };
/** A family's series of one target: a label added to the target's (or none) and the value. */
type Emit = (label: string | null, labelValue: string, value: number) => void;

/**
 * One per-target family, rendered from the targets' last readings when it is read. prom-client's
 * Gauge keeps a label object and a hashed key for every series it holds: some 5 KB a container
 * over these six families (100 MB of heap at 20,000 containers), each write hashes the labels
 * again, and its registry formats every label of every series at each scrape (1 s of CPU for the
 * 340,000 series of 20,000 containers). So the controller's /metrics writes these families itself
 * (text: each target's labels escaped once), after the registry's own (ControllerMetrics.exposition);
 * get() answers as a Gauge does, for the registry's JSON and for tests.
 */
class TargetFamily<L extends string> {
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #targets: () => Iterable<TargetEntry>;
  readonly #series: (r: TargetReading, emit: Emit) => void;

  constructor(name: string, help: string, targets: () => Iterable<TargetEntry>, series: (r: TargetReading, emit: Emit) => void) {
    this.name = name;
    this.help = help;
    this.#targets = targets;
    this.#series = series;
  }

  get(): Promise<MetricObjectWithValues<MetricValue<L>>> {
    const values: MetricValue<L>[] = [];
    for (const e of this.#targets()) this.#series(e.reading, (label, labelValue, value) => values.push({ labels: (label === null ? e.labels : { ...e.labels, [label]: labelValue }) as MetricValue<L>['labels'], value }));
    // prom-client's types say an enum where its Gauge returns the string 'gauge', which the registry writes out.
    return Promise.resolve({ name: this.name, help: this.help, type: this.type as unknown as MetricType, aggregator: this.aggregator, collect: () => undefined, values });
  }

  /** The family in the text exposition format, as prom-client's registry writes a Gauge. */
  text(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`);
    for (const e of this.#targets()) this.#series(e.reading, (label, labelValue, value) => out.push(`${this.name}{${e.labelText}${label === null ? '' : `,${label}="${labelValue}"`}} ${valueText(value)}`));
  }

  reset(): void {}
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const valueText = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/**
 * The controller's Prometheus metrics on its own registry: per-target results (so alerts can use
 * the verdict rather than predict_linear on raw usage) and the controller's own health.
 */
export class ControllerMetrics {
  /** The targets with series, by "namespace/audit", then "pod/container": what pruneTargets removes. */
  readonly #targets = new Map<string, Map<string, TargetEntry>>();
  readonly #families: readonly TargetFamily<string>[];
  readonly registry = new Registry();
  readonly targetVerdict: TargetFamily<TargetLabelName | 'verdict'>;
  readonly targetGrowth: TargetFamily<TargetLabelName | 'component'>;
  readonly targetTimeToLimit: TargetFamily<TargetLabelName>;
  readonly targetSamples: TargetFamily<TargetLabelName>;
  readonly targetLimit: TargetFamily<TargetLabelName>;
  readonly targetRecommendedLimit: TargetFamily<TargetLabelName>;
  readonly reconcileTotal: Counter<'result'>;
  readonly reconcileDuration: Histogram;
  readonly reconcileStepDuration: Histogram<'step'>;
  readonly samplingTotal: Counter<'source' | 'result'>;
  readonly samplingDuration: Histogram<'source'>;
  readonly informerRestarts: Counter<'informer'>;
  readonly leader: Gauge;
  readonly shardsHeld: Gauge;
  readonly shardsActing: Gauge;
  readonly audits: Gauge;
  readonly statusWrites: Counter<'result'>;
  readonly analyses: Counter<'kind'>;
  readonly patches: Counter<'result'>;

  constructor(withProcessMetrics = true) {
    const registers = [this.registry];
    const all = () => this.#allTargets();
    /** A family of one series a target, absent where the reading has no value. */
    const one = (name: string, help: string, value: (r: TargetReading) => number | null) =>
      new TargetFamily<TargetLabelName>(name, help, all, (r, emit) => {
        const v = value(r);
        if (v !== null) emit(null, '', v);
      });
    this.targetVerdict = new TargetFamily('memaudit_target_verdict', '1 for the current verdict of an audited container, 0 for the others.', all, (r, emit) => {
      for (const verdict of VERDICTS) emit('verdict', verdict, verdict === r.verdict ? 1 : 0);
    });
    this.targetGrowth = new TargetFamily('memaudit_target_growth_bytes_per_hour', 'Robust growth rate of a memory component of an audited container.', all, (r, emit) => {
      for (const component of COMPONENTS) {
        const g = r.growth[component];
        if (g !== undefined) emit('component', component, g.slopeBytesPerHour);
      }
    });
    this.targetTimeToLimit = one('memaudit_target_time_to_limit_seconds', 'Seconds until non-reclaimable memory reaches the limit at the current rate (absent: never or unknown).', (r) => r.timeToLimitSeconds);
    this.targetSamples = one('memaudit_target_samples', 'Samples in the window of an audited container.', (r) => r.samples);
    this.targetLimit = one('memaudit_target_limit_bytes', 'The memory limit of an audited container as its cgroup reports it (absent: no limit).', (r) => r.limitBytes);
    this.targetRecommendedLimit = one('memaudit_target_recommended_limit_bytes', 'The memory limit recommended for an audited container, as in its status (absent: no recommendation yet). For a Leak it is never above the current limit.', (r) => r.recommendedLimitBytes);
    this.#families = [this.targetVerdict, this.targetGrowth, this.targetTimeToLimit, this.targetSamples, this.targetLimit, this.targetRecommendedLimit];
    // In the registry for its JSON and its list of names; its text is written by exposition().
    // Not a prom-client class, so its type is not in prom-client's Metric union; the registry reads it as one.
    for (const f of this.#families) this.registry.registerMetric(f as unknown as Metric);
    this.reconcileTotal = new Counter({ name: 'memaudit_reconcile_total', help: 'Reconciles of MemoryAudits by result.', labelNames: ['result'], registers });
    this.reconcileDuration = new Histogram({ name: 'memaudit_reconcile_duration_seconds', help: 'Duration of one reconcile, sampling included.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.reconcileStepDuration = new Histogram({ name: 'memaudit_reconcile_step_duration_seconds', help: 'Duration of one step of a reconcile (restoreEvidence, findTargets, backfill, sample, evaluate, decideAction, writeStatus, emitEvents, persistEvidence), failed or not.', labelNames: ['step'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.samplingTotal = new Counter({ name: 'memaudit_sampling_total', help: 'Fetches from kubelets (kubelet), Go targets (pprof) and the Prometheus history (prometheus: one per audit backfilled) by result.', labelNames: ['source', 'result'], registers });
    this.samplingDuration = new Histogram({ name: 'memaudit_sampling_duration_seconds', help: 'Duration of one fetch.', labelNames: ['source'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.informerRestarts = new Counter({ name: 'memaudit_informer_restarts_total', help: 'Informer restarts after a failed list or watch.', labelNames: ['informer'], registers });
    this.leader = new Gauge({ name: 'memaudit_leader', help: '1 while this replica holds the leader Lease (with --shards: the Lease of at least one shard).', registers });
    this.shardsHeld = new Gauge({ name: 'memaudit_shards_held', help: 'Shards whose Lease this replica holds (with one shard: the same as memaudit_leader).', registers });
    this.shardsActing = new Gauge({ name: 'memaudit_shards_acting', help: 'Shards this replica acts for: held, settled, and no replica of another shard count seen (below memaudit_shards_held while a change of --shards rolls out).', registers });
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

  /** A target's reading, shown from the next scrape on (kept as given: not to be changed after). */
  setTarget(labels: TargetLabels, reading: TargetReading): void {
    const key = `${labels.namespace}/${labels.audit}`;
    let targets = this.#targets.get(key);
    if (!targets) this.#targets.set(key, (targets = new Map()));
    const tk = `${labels.pod}/${labels.container}`;
    const known = targets.get(tk);
    if (known) known.reading = reading;
    else targets.set(tk, { labels: { ...labels }, labelText: Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(','), reading });
  }

  /** What /metrics serves: the registry's metrics, then the per-target families (TargetFamily). */
  async exposition(): Promise<string> {
    const own = this.registry.getMetricsAsArray().filter((m) => !this.#families.includes(m as unknown as TargetFamily<string>));
    const out = await Promise.all(own.map((m) => this.registry.getSingleMetricAsString(m.name)));
    for (const f of this.#families) {
      const lines: string[] = [];
      f.text(lines);
      out.push(lines.join('\n'));
    }
    return `${out.join('\n\n')}\n`;
  }

  /** Drops every series of an audit's targets except those in `keep` ("pod/container"). */
  pruneTargets(namespace: string, audit: string, keep: ReadonlySet<string>): void {
    const key = `${namespace}/${audit}`;
    const targets = this.#targets.get(key);
    if (!targets) return;
    for (const tk of targets.keys()) if (!keep.has(tk)) targets.delete(tk);
    if (targets.size === 0) this.#targets.delete(key);
  }

  *#allTargets(): Iterable<TargetEntry> {
    for (const targets of this.#targets.values()) yield* targets.values();
  }
}
