// Reconciles one MemoryAudit, level-based: everything is computed from the current objects (the
// audit, the pods in the informer caches, the evidence so far), so running it twice in a row
// changes nothing the second time except taking a sample when one is due. Like the VPA
// recommender's RunOnce it is a short list of named steps, one file each, each timed into
// memaudit_reconcile_step_duration_seconds{step} and logged when it fails. A failed step fails
// this audit's reconcile only: the queue retries it with backoff and goes on with the others.
import type { Logger } from 'pino';
import type { MemoryAudit } from '../api/v1alpha1.ts';
import { DEFAULT_EVIDENCE_LIMITS, bucketsForSamples, type AuditEvidence } from '../evidence.ts';
import { persistDue, persistEvidence, restoreEvidence, type EvidenceStore } from '../evidence-store.ts';
import type { InformerGroup } from '../runtime/informer-group.ts';
import type { LabelSelector } from '../runtime/kube/selector.ts';
import type { Pod } from '../runtime/kube/types.ts';
import type { ControllerMetrics } from '../runtime/metrics.ts';
import type { ReconcileResult } from '../runtime/queue.ts';
import { resolveSpec } from '../spec.ts';
import { backfill, backfillDue, type HistorySource } from './backfill.ts';
import { decideAction } from './decide-action.ts';
import { emitEvents, type EventRecorder } from './emit-events.ts';
import { evaluate, type Engine } from './evaluate.ts';
import { findTargets } from './find-targets.ts';
import type { ApiAccess, Round } from './round.ts';
import { sampleDue, sampleRound, type Readers } from './sample-round.ts';
import { invalidSpecStatus, writeStatus } from './write-status.ts';

export interface ReconcilerDeps extends Readers, Omit<ApiAccess, 'isLeader'> {
  /** True while this replica acts for the audit (`namespace/name`): it holds the Lease of its shard. */
  isLeader: (key: string) => boolean;
  config: { maxSamplesPerTarget: number; maxTargetsPerAudit: number; stateSyncPeriodMs: number; statusSyncPeriodMs: number };
  log: Logger;
  store: EvidenceStore | null;
  events: Pick<EventRecorder, 'record'>;
  audits: Pick<InformerGroup<MemoryAudit>, 'get' | 'list'>;
  /** The pods of a namespace that may match a selector (runtime/label-index.ts); findTargets applies it. */
  pods: { candidates(namespace: string, selector: LabelSelector): readonly Pod[] };
  /** False until the informers listed once: before that "no pods" would be a lie. */
  cachesSynced?: () => boolean;
  engine: Engine;
  /** The Prometheus a new container's evidence starts from (--prometheus-url); null: live samples only. */
  history?: HistorySource | null;
  now?: () => number;
}

type StepName = 'restoreEvidence' | 'findTargets' | 'backfill' | 'sample' | 'evaluate' | 'decideAction' | 'writeStatus' | 'emitEvents' | 'persistEvidence';

export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly evidence = new Map<string, AuditEvidence>();
  /** The nodes each audit samples: the kubelet reader forgets a node no audit samples any more. */
  private readonly nodesByAudit = new Map<string, ReadonlySet<string>>();
  /** When each audit's status was last written: progress alone waits --status-sync-period. */
  private readonly statusWrittenMs = new Map<string, number>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const audit = this.deps.audits.get(name, ns);
    if (!audit || audit.metadata.deletionTimestamp) return this.forget(key, ns, name, audit === undefined);
    if (!this.deps.isLeader(key)) return {};
    if (this.deps.cachesSynced && !this.deps.cachesSynced()) return { requeueAfterMs: 1000 };
    // The steps that write ask about this audit's shard only.
    const deps = { ...this.deps, isLeader: () => this.deps.isLeader(key) };
    const log = deps.log.child({ audit: key });
    const step = timedStep(deps.metrics, log);
    const spec = resolveSpec(audit.spec);
    if ('error' in spec) {
      this.sampledNodes(key, undefined);
      await step('writeStatus', () => writeStatus(deps, { audit, log }, invalidSpecStatus(audit, spec.error, this.now())));
      return {};
    }
    let evidence = this.evidence.get(key);
    if (!evidence || evidence.uid !== audit.metadata.uid) this.evidence.set(key, (evidence = await step('restoreEvidence', () => restoreEvidence(deps.store, audit, log))));
    const round: Round = { audit, spec, evidence, nowMs: this.now(), log, events: [] };

    const { targets, noTargetsMessage } = await step('findTargets', () => findTargets(round, deps.pods.candidates(ns, spec.selector), deps.config.maxTargetsPerAudit));
    this.sampledNodes(key, new Set(targets.map((t) => t.pod.spec!.nodeName!)));
    const limits = { ...DEFAULT_EVIDENCE_LIMITS, maxBuckets: bucketsForSamples(deps.config.maxSamplesPerTarget) };
    const history = deps.history ?? null;
    if (history && backfillDue(round, targets, history)) await step('backfill', () => backfill(history, deps.metrics, limits, round, targets));
    if (sampleDue(round, targets)) await step('sample', () => sampleRound(deps, limits, round, targets));
    let status = await step('evaluate', () => evaluate(deps.engine, deps.metrics, round, noTargetsMessage));
    if (spec.action === 'Patch') status = await step('decideAction', () => decideAction(deps, round, status, targets));
    const sync = { lastWriteMs: this.statusWrittenMs.get(key), periodMs: deps.config.statusSyncPeriodMs, nowMs: round.nowMs };
    const written = await step('writeStatus', () => writeStatus(deps, round, status, sync));
    if (written === true) this.statusWrittenMs.set(key, round.nowMs);
    // A deferred status differs in progress only: none of the events it could tell.
    if (written !== false) await step('emitEvents', () => emitEvents(deps.events, round, status));
    if (deps.store && persistDue(round, deps.config.stateSyncPeriodMs)) await step('persistEvidence', () => persistEvidence(deps.store!, deps.isLeader, round));

    if (targets.length === 0 && round.evidence.targets.size === 0) return { requeueAfterMs: spec.intervalMs };
    return { requeueAfterMs: Math.max(50, round.evidence.lastRoundMs + spec.intervalMs - this.now()) };
  }

  /** Drops in-memory evidence (after losing leadership: the next leader owns it). */
  reset(): void {
    this.evidence.clear();
    this.statusWrittenMs.clear();
    this.nodesByAudit.clear();
    this.deps.kubelet.retainNodes(new Set());
  }

  /**
   * Drops the in-memory evidence and the target metrics of the audits `lost` selects (a shard
   * another replica now owns: it restores them from their ConfigMaps, and its metrics replace ours).
   */
  release(lost: (key: string) => boolean): void {
    for (const key of [...this.evidence.keys()]) {
      if (!lost(key)) continue;
      const [ns, name] = splitKey(key);
      this.evidence.delete(key);
      this.statusWrittenMs.delete(key);
      this.sampledNodes(key, undefined);
      this.deps.metrics.pruneTargets(ns, name, new Set());
    }
  }

  /**
   * Persists the unsaved evidence of every audit `select` picks (all: on shutdown, while still
   * holding their shards; one shard's: when handing it over, which `mayWrite` allows).
   */
  async flushAll(select: (key: string) => boolean = () => true, mayWrite: (key: string) => boolean = this.deps.isLeader): Promise<void> {
    for (const [key, evidence] of this.evidence) {
      const [ns, name] = splitKey(key);
      const audit = this.deps.audits.get(name, ns);
      if (audit && select(key) && evidence.dirty && this.deps.store) await persistEvidence(this.deps.store, () => mayWrite(key), { audit, evidence, nowMs: this.now(), log: this.deps.log.child({ audit: key }) });
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private sampledNodes(key: string, nodes: ReadonlySet<string> | undefined): void {
    if (nodes) this.nodesByAudit.set(key, nodes);
    else this.nodesByAudit.delete(key);
    this.deps.kubelet.retainNodes(new Set([...this.nodesByAudit.values()].flatMap((n) => [...n])));
  }

  private async forget(key: string, ns: string, name: string, deleted: boolean): Promise<ReconcileResult> {
    this.evidence.delete(key);
    this.statusWrittenMs.delete(key);
    this.sampledNodes(key, undefined);
    this.deps.metrics.pruneTargets(ns, name, new Set());
    // The ConfigMap is owned by the audit (garbage-collected); delete it now as well.
    if (deleted && this.deps.store && this.deps.isLeader(key)) {
      await this.deps.store.delete(ns, name).catch((e: unknown) => this.deps.log.warn({ audit: key, err: e instanceof Error ? e.message : String(e) }, 'Evidence ConfigMap not deleted'));
    }
    return {};
  }
}

/** Runs one step: timed whether it succeeds or throws; a failure is logged with the step's name and rethrown. */
function timedStep(metrics: ControllerMetrics, log: Logger) {
  return async <T>(step: StepName, run: () => T | Promise<T>): Promise<T> => {
    const done = metrics.reconcileStepDuration.startTimer({ step });
    try {
      return await run();
    } catch (e) {
      log.warn({ step, err: e instanceof Error ? e.message : String(e) }, 'Reconcile step failed');
      throw e;
    } finally {
      done();
    }
  };
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
