import type { Logger } from 'pino';
import type { AuditOptions } from '../analysis/audit.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import type { AuditResult } from '../model/verdict.ts';
import { ConditionType, EventReason, ReadyReason } from './api/conditions.ts';
import { PLURAL, GROUP, VERSION } from './api/v1alpha1.ts';
import type { MemoryAudit, MemoryAuditStatus, TargetState, TargetStatus } from './api/v1alpha1.ts';
import type { ControllerConfig } from './config.ts';
import type { EventRecorder, AuditEvent } from './events.ts';
import { AuditEvidence } from './evidence.ts';
import { MERGE_PATCH } from './kube/client.ts';
import type { KubeClient } from './kube/client.ts';
import { isNotFound } from './kube/errors.ts';
import { selectorMatches } from './kube/selector.ts';
import type { Pod } from './kube/types.ts';
import type { ControllerMetrics } from './metrics.ts';
import { metricsExpected, oomKilledContainerId, oomKilledInstances, rememberOomKill } from './container-status.ts';
import { applyPatch, decidePatch, findWorkload, readContainerResources } from './patch.ts';
import type { Workload } from './patch.ts';
import type { ReconcileResult } from './queue.ts';
import { message } from './sampler.ts';
import type { Sampler } from './sampler.ts';
import { mergePatch, resolveSpec } from './spec.ts';
import type { ResolvedSpec } from './spec.ts';
import { buildStatus, orderTargets, rfc3339, setCondition, targetStatus } from './status.ts';
import type { StateStore } from './state-store.ts';
import { MAX_STATUS_TARGETS } from './api/v1alpha1.ts';

export type Engine = (samples: MemorySample[], profiles: HeapProfile[], options?: AuditOptions) => AuditResult;

export interface ObjectLister<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

export interface ReconcilerDeps {
  client: KubeClient;
  config: Pick<ControllerConfig, 'maxSamplesPerTarget' | 'maxTargetsPerAudit' | 'stateSyncPeriodMs'>;
  log: Logger;
  metrics: ControllerMetrics;
  sampler: Sampler;
  store: StateStore | null;
  events: EventRecorder;
  audits: ObjectLister<MemoryAudit>;
  pods: ObjectLister<Pod>;
  isLeader: () => boolean;
  /** False until the informers listed once: before that "no pods" would be a lie. */
  cachesSynced?: () => boolean;
  engine: Engine;
  now?: () => number;
}

interface Target {
  pod: Pod;
  container: string;
}

/** Bounded concurrency for per-pod profile fetches. */
const PPROF_CONCURRENCY = 8;

/**
 * Reconciles one MemoryAudit, level-based: everything is computed from the current objects (the
 * audit, the pods in the informer caches, the evidence so far), so running it twice in a row
 * changes nothing the second time except taking a sample when one is due. Steps, each logged
 * when it fails: resolve spec, restore evidence, discover targets, sample (when due), evaluate,
 * patch (action: Patch), write status (only when it changed), record events, persist evidence.
 */
export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly evidence = new Map<string, AuditEvidence>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Drops in-memory evidence (after losing leadership: the next leader owns it). */
  reset(): void {
    this.evidence.clear();
  }

  /** Persists every audit's unsaved evidence (on shutdown, while still leader). */
  async flushAll(): Promise<void> {
    if (!this.deps.store) return;
    for (const [key, ev] of this.evidence) {
      const [ns, name] = splitKey(key);
      const audit = this.deps.audits.get(name, ns);
      if (!audit || !ev.dirty || !this.deps.isLeader()) continue;
      try {
        await this.deps.store.save(audit, ev, this.now());
        ev.dirty = false;
      } catch (e) {
        this.deps.log.warn({ audit: key, err: message(e) }, 'Evidence not saved on shutdown');
      }
    }
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const log = this.deps.log.child({ audit: key });
    const audit = this.deps.audits.get(name, ns);
    if (!audit || audit.metadata.deletionTimestamp) {
      await this.forget(key, ns, name, audit === undefined);
      return {};
    }
    if (!this.deps.isLeader()) return {};
    if (this.deps.cachesSynced && !this.deps.cachesSynced()) return { requeueAfterMs: 1000 };

    const spec = resolveSpec(audit.spec);
    if ('error' in spec) {
      await this.writeStatus(audit, invalidSpecStatus(audit, spec.error, this.now()), log);
      return {};
    }

    let ev = this.evidence.get(key);
    if (!ev || ev.uid !== audit.metadata.uid) {
      ev = this.deps.store ? await this.deps.store.load(audit) : new AuditEvidence(audit.metadata.uid ?? '');
      if (ev.restoredFrom) log.info({ from: ev.restoredFrom, samples: ev.sampleCount(), targets: ev.targets.size }, 'Restored evidence');
      this.evidence.set(key, ev);
    }

    const now = this.now();
    const { targets, skipped } = this.discover(audit, spec);
    const events: AuditEvent[] = [];
    this.markGone(ev, targets, now, events);

    if (targets.length > 0 && now - ev.lastRoundMs >= spec.intervalMs * 0.9) {
      await this.sampleRound(ev, spec, targets, now);
      ev.lastRoundMs = now;
      ev.dirty = true;
    }

    // Evaluate every target that still has evidence in the window.
    const results = new Map<string, AuditResult>();
    const statuses: TargetStatus[] = [];
    for (const [tk, t] of ev.targets) {
      t.prune(now, spec.windowMs);
      if (t.expired(now, spec.windowMs)) {
        ev.targets.delete(tk);
        continue;
      }
      let result: AuditResult;
      try {
        result = this.deps.engine(t.samples, t.profiles, {
          minDurationSeconds: spec.minDurationMs / 1000,
          isGo: spec.pprof !== null,
          recommend: { headroomPercent: spec.headroomPercent, goMemLimit: spec.goMemLimit },
          containerName: t.container,
          oomKilledInstances: oomKilledInstances(t.samples, t.oomKilledContainers),
        });
      } catch (e) {
        log.error({ target: tk, err: message(e) }, 'Analysis failed');
        continue;
      }
      results.set(tk, result);
      const state: TargetState = t.goneSinceMs !== undefined ? 'Gone' : t.lastError ? 'Failing' : 'Sampling';
      const msg = t.goneSinceMs !== undefined ? `Pod ${t.pod} is gone since ${rfc3339(t.goneSinceMs)}; its evidence is kept until the window passes.` : (t.lastError ?? t.pprofError);
      const st = targetStatus({ pod: t.pod, container: t.container, node: t.node, state, message: msg, result, lastSampleMs: t.samples[t.samples.length - 1]?.timestampMs });
      statuses.push(st);
      this.deps.metrics.setTarget({ namespace: ns, audit: name, pod: t.pod, container: t.container }, result.verdict, Object.fromEntries(Object.entries(result.growth).map(([c, tr]) => [c, tr.slopeBytesPerHour])), result.timeToLimitSeconds, result.window.samples);
    }
    this.deps.metrics.pruneTargets(ns, name, new Set(results.keys()));

    const summary = orderTargets(statuses)[0];
    let status = buildStatus({
      generation: audit.metadata.generation ?? 0,
      action: spec.action,
      previous: audit.status,
      targets: statuses,
      targetCount: statuses.length,
      noTargetsMessage: noTargetsMessage(audit, spec, skipped),
      goMemLimit: spec.goMemLimit,
      summaryResult: summary ? results.get(`${summary.pod}/${summary.container}`) : undefined,
      lastRoundMs: ev.lastRoundMs || undefined,
      maxTargets: MAX_STATUS_TARGETS,
      nowMs: now,
    });

    if (spec.action === 'Patch') status = await this.patchStep(audit, spec, status, targets, events, log, now);

    for (const st of status.targets ?? []) {
      const prev = audit.status?.targets?.find((p) => p.pod === st.pod && p.container === st.container);
      if (prev && prev.verdict !== st.verdict && st.state !== 'Gone') {
        events.push({
          type: st.verdict === 'Leak' ? 'Warning' : 'Normal',
          reason: EventReason.VerdictChanged,
          message: `${st.pod}/${st.container}: ${prev.verdict} -> ${st.verdict}${st.leakSource ? ` (${st.leakSource})` : ''}: ${st.explanation ?? ''}`,
        });
      }
      if (st.state === 'Failing' && prev?.state !== 'Failing') events.push({ type: 'Warning', reason: EventReason.SamplingFailed, message: `${st.pod}/${st.container}: ${st.message ?? 'sampling failed'}` });
    }

    const written = await this.writeStatus(audit, status, log);
    if (written !== false) for (const e of events) await this.deps.events.record(audit, e, now);

    if (this.deps.store && this.deps.config.stateSyncPeriodMs > 0 && ev.dirty && now - ev.lastPersistMs >= this.deps.config.stateSyncPeriodMs && this.deps.isLeader()) {
      try {
        const bytes = await this.deps.store.save(audit, ev, now);
        ev.lastPersistMs = now;
        ev.dirty = false;
        log.debug({ bytes }, 'Saved evidence');
      } catch (e) {
        log.warn({ err: message(e) }, 'Evidence not saved; retrying next round');
      }
    }

    if (targets.length === 0 && ev.targets.size === 0) return { requeueAfterMs: spec.intervalMs };
    return { requeueAfterMs: Math.max(50, ev.lastRoundMs + spec.intervalMs - this.now()) };
  }

  private async forget(key: string, ns: string, name: string, deleted: boolean): Promise<void> {
    this.evidence.delete(key);
    this.deps.metrics.pruneTargets(ns, name, new Set());
    // The ConfigMap is owned by the audit (garbage-collected); delete it now as well.
    if (deleted && this.deps.store && this.deps.isLeader()) {
      await this.deps.store.delete(ns, name).catch((e: unknown) => this.deps.log.warn({ audit: key, err: message(e) }, 'Evidence ConfigMap not deleted'));
    }
  }

  private discover(audit: MemoryAudit, spec: ResolvedSpec): { targets: Target[]; skipped: number } {
    const ns = audit.metadata.namespace!;
    const targets: Target[] = [];
    let skipped = 0;
    const pods = this.deps.pods.list(ns).filter((p) => selectorMatches(spec.selector, p.metadata.labels));
    for (const pod of pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      if (pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running' || !pod.spec?.nodeName) {
        skipped++;
        continue;
      }
      for (const c of pod.spec.containers) {
        if (spec.containers && !spec.containers.includes(c.name)) continue;
        if (targets.length >= this.deps.config.maxTargetsPerAudit) {
          skipped++;
          continue;
        }
        targets.push({ pod, container: c.name });
      }
    }
    return { targets, skipped };
  }

  private markGone(ev: AuditEvidence, targets: Target[], now: number, events: AuditEvent[]): void {
    const live = new Map(targets.map((t) => [`${t.pod.metadata.name}/${t.container}`, t]));
    for (const [tk, t] of ev.targets) {
      const cur = live.get(tk);
      if (cur && t.podUid && cur.pod.metadata.uid && cur.pod.metadata.uid !== t.podUid) {
        // Same name, new pod (a StatefulSet replica): its memory starts over.
        ev.targets.delete(tk);
        continue;
      }
      if (!cur && t.goneSinceMs === undefined) {
        t.goneSinceMs = now;
        ev.dirty = true;
        events.push({ type: 'Normal', reason: EventReason.TargetGone, message: `Pod ${t.pod} (container ${t.container}) is gone; its ${t.samples.length} samples are kept until the window passes.` });
      } else if (cur && t.goneSinceMs !== undefined) {
        t.goneSinceMs = undefined;
      }
    }
  }

  private async sampleRound(ev: AuditEvidence, spec: ResolvedSpec, targets: Target[], now: number): Promise<void> {
    const ns = targets[0]!.pod.metadata.namespace!;
    const nodes = [...new Set(targets.map((t) => t.pod.spec!.nodeName!))];
    const wantProfile = spec.pprof !== null && now - ev.lastProfileMs >= Math.max(spec.intervalMs, spec.minDurationMs / 5);
    const pods = [...new Map(targets.map((t) => [t.pod.metadata.name, t.pod])).values()];
    const [scrapes, goData] = await Promise.all([
      Promise.all(nodes.map(async (n) => [n, await this.deps.sampler.scrapeNode(n, spec.intervalMs / 2)] as const)),
      spec.pprof ? mapLimit(pods, PPROF_CONCURRENCY, (pod) => this.sampleGo(pod, spec.pprof!, wantProfile)) : Promise.resolve([]),
    ]);
    if (wantProfile) ev.lastProfileMs = now;
    const byNode = new Map(scrapes);
    const goByPod = new Map(goData.map((g) => [g.pod, g]));
    const limits = { maxSamples: this.deps.config.maxSamplesPerTarget, maxProfiles: 6, maxProfileFunctions: 100 };
    for (const t of targets) {
      const podName = t.pod.metadata.name;
      const te = ev.target(podName, t.container);
      te.node = t.pod.spec!.nodeName;
      te.podUid = t.pod.metadata.uid;
      const oomKilled = oomKilledContainerId(t.pod, t.container);
      if (oomKilled) rememberOomKill(te.oomKilledContainers, oomKilled);
      const scrape = byNode.get(te.node!)!;
      if (!scrape.ok) {
        te.lastError = scrape.error;
        te.consecutiveFailures++;
        continue;
      }
      const found = scrape.containers.find((c) => c.key.namespace === ns && c.key.pod === podName && c.key.container === t.container);
      if (!found) {
        // No series while the container waits to restart or has just started (container-status.ts);
        // and a dead container's series are gone a moment before the pod status says it died, so
        // one round without them is not a failure yet.
        if (!metricsExpected(t.pod, t.container, now)) {
          te.consecutiveFailures = 0;
          continue;
        }
        if (++te.consecutiveFailures < 2) continue;
        te.lastError = `kubelet on node ${te.node} has no memory metrics for container ${t.container} of pod ${podName} (not started yet?)`;
        continue;
      }
      te.lastError = undefined;
      te.consecutiveFailures = 0;
      const sample: MemorySample = { ...found.sample };
      const go = goByPod.get(podName);
      if (go && go.container === t.container) {
        te.pprofError = go.error;
        if (go.runtime) sample.go = go.runtime;
        // Fetched in the round of this scrape, from the same incarnation: heap diffs stay within one
        // process (heap-diff.ts, profilesToDiff).
        if (go.profile) te.addProfile(found.sample.instance !== undefined ? { ...go.profile, instance: found.sample.instance } : go.profile, limits);
      }
      te.addSample(sample, limits);
    }
  }

  /** Go runtime stats (every round) and a heap profile (when due) of the container serving pprof. */
  private async sampleGo(pod: Pod, pprof: NonNullable<ResolvedSpec['pprof']>, wantProfile: boolean): Promise<{ pod: string; container: string; runtime?: MemorySample['go']; profile?: HeapProfile; error?: string }> {
    const containers = pod.spec?.containers ?? [];
    const serving = containers.find((c) => c.ports?.some((p) => p.containerPort === pprof.port)) ?? containers[0];
    const out: { pod: string; container: string; runtime?: MemorySample['go']; profile?: HeapProfile; error?: string } = { pod: pod.metadata.name, container: serving?.name ?? '' };
    try {
      out.runtime = await this.deps.sampler.goRuntime(pod, pprof.port, pprof.path);
      if (wantProfile) out.profile = await this.deps.sampler.heapProfile(pod, pprof.port, pprof.path);
    } catch (e) {
      out.error = `heap profile at port ${pprof.port}: ${message(e)}`;
    }
    return out;
  }

  private async patchStep(audit: MemoryAudit, spec: ResolvedSpec, status: MemoryAuditStatus, targets: Target[], events: AuditEvent[], log: Logger, now: number): Promise<MemoryAuditStatus> {
    const gen = audit.metadata.generation ?? 0;
    // Group the live targets by (workload, container).
    const groups = new Map<string, { workload: Workload | null; container: string; statuses: TargetStatus[] }>();
    const workloadOf = new Map<string, Workload | null>();
    for (const t of targets) {
      const podName = t.pod.metadata.name;
      if (!workloadOf.has(podName)) workloadOf.set(podName, await findWorkload(this.deps.client, t.pod));
      const w = workloadOf.get(podName)!;
      const gk = `${w ? `${w.kind}/${w.name}` : `pod/${podName}`}/${t.container}`;
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = { workload: w, container: t.container, statuses: [] }));
      const st = status.targets?.find((s) => s.pod === podName && s.container === t.container);
      if (st) g.statuses.push(st);
    }
    let next = status;
    for (const g of groups.values()) {
      const current = g.workload ? await readContainerResources(this.deps.client, g.workload, g.container) : null;
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
        nowMs: now,
      };
      let plan = decidePatch(input);
      if (plan.write) {
        // The informer's copy of the audit can lag behind our own status write of the last round,
        // which holds lastPatch: decide again on the API server's copy, so a workload is never
        // patched twice in one window because the cache was late.
        plan = decidePatch({ ...input, audit: await this.deps.client.get<MemoryAudit>(auditPath(audit)) });
      }
      let condition = plan.condition;
      let lastPatch = plan.lastPatch;
      if (plan.event) events.push(plan.event);
      if (plan.write && current) {
        if (!this.deps.isLeader()) return next;
        const r = await applyPatch(this.deps.client, log, plan.write, current, now);
        lastPatch = r.lastPatch;
        this.deps.metrics.patches.inc({ result: r.lastPatch.result });
        condition = r.ok ? { type: 'Patched', status: 'True', reason: 'Patched', message: r.lastPatch.message } : { type: 'Patched', status: 'False', reason: 'PatchFailed', message: r.lastPatch.message };
        events.push({ type: r.ok ? 'Normal' : 'Warning', reason: r.ok ? EventReason.Patched : EventReason.PatchFailed, message: r.lastPatch.message });
      } else if (plan.event) {
        this.deps.metrics.patches.inc({ result: 'Refused' });
      }
      next = { ...next, conditions: setCondition(next.conditions ?? [], { ...condition, type: ConditionType.Patched, observedGeneration: gen }, now) };
      if (lastPatch) next.lastPatch = lastPatch;
    }
    return next;
  }

  /** Writes status through the status subresource when it differs; false when the write failed (logged). */
  private async writeStatus(audit: MemoryAudit, status: MemoryAuditStatus, log: Logger): Promise<boolean | 'unchanged'> {
    const patch = mergePatch(audit.status ?? {}, status);
    if (!patch) return 'unchanged';
    if (!this.deps.isLeader()) return false;
    const path = `${auditPath(audit)}/status`;
    try {
      await this.deps.client.json('PATCH', path, { body: { status: patch }, contentType: MERGE_PATCH });
      this.deps.metrics.statusWrites.inc({ result: 'ok' });
      return true;
    } catch (e) {
      this.deps.metrics.statusWrites.inc({ result: 'error' });
      if (isNotFound(e)) return false;
      // Sampling keeps its cadence while the API server is away: the evidence is in memory and
      // the next round writes the status again (it is computed from scratch every time).
      log.warn({ err: message(e) }, 'Status not written; next round retries');
      return false;
    }
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}


function noTargetsMessage(audit: MemoryAudit, spec: ResolvedSpec, skipped: number): string {
  const sel = [...Object.entries(spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`), ...(spec.selector.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(',')}`)].join(', ') || '(everything)';
  const containers = spec.containers ? ` with container ${spec.containers.join(' or ')}` : '';
  return `No running pod in namespace ${audit.metadata.namespace} matches ${sel}${containers}${skipped ? ` (${skipped} matching pods are not running or not scheduled)` : ''}.`;
}

function invalidSpecStatus(audit: MemoryAudit, error: string, now: number): MemoryAuditStatus {
  const gen = audit.metadata.generation ?? 0;
  return {
    ...audit.status,
    observedGeneration: gen,
    conditions: setCondition(audit.status?.conditions ?? [], { type: ConditionType.Ready, status: 'False', reason: ReadyReason.InvalidSpec, message: error, observedGeneration: gen }, now),
  };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** The audit's path on the API server. */
function auditPath(audit: MemoryAudit): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(audit.metadata.namespace!)}/${PLURAL}/${encodeURIComponent(audit.metadata.name)}`;
}
