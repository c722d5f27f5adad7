// Step "backfill": a container the audit has no evidence of yet starts from its history in
// Prometheus (the controller's --prometheus-url; an audit opts out with spec.backfill: false).
// One batch per audit and round: the audit's namespace and the pods of the containers still
// unchecked, the window back from now at the sampling interval, downsampled into the evidence's
// bound (src/sampling/prometheus-history.ts). So a workload with history has a verdict on the
// audit's first reconcile, and the live samples of the step "sample" continue from there.
//
// A container is asked about once: found or not (a new pod has no history), it is not asked
// again; restored evidence has samples and is not asked at all. A failed read (Prometheus down)
// is logged and tried again a minute later at the earliest; sampling goes on meanwhile.
import { fetchBatchHistory } from '../../sampling/prometheus-history.ts';
import type { PrometheusClient } from '../../sampling/prometheus.ts';
import { alignedRange, type LabelMatcher } from '../../sources/promql.ts';
import { formatDuration } from '../../model/units.ts';
import { EventReason } from '../api/conditions.ts';
import type { AuditEvidence, EvidenceLimits } from '../evidence.ts';
import type { ControllerMetrics } from '../runtime/metrics.ts';
import type { Target } from './find-targets.ts';
import type { Round } from './round.ts';

export interface HistorySource {
  client: PrometheusClient;
  selector: readonly LabelMatcher[];
}

/** After a failed read, the next attempt waits this long at least. */
const RETRY_AFTER_MS = 60_000;

export const backfillDue = ({ spec, evidence, nowMs }: Round, targets: readonly Target[], history: HistorySource | null): boolean =>
  history !== null && spec.backfill && nowMs >= evidence.backfillNotBeforeMs && unchecked(evidence, targets).length > 0;

function unchecked(evidence: AuditEvidence, targets: readonly Target[]): Target[] {
  return targets.filter((t) => {
    const te = evidence.targets.get(`${t.pod.metadata.name}/${t.container}`);
    return !te || (te.series.length === 0 && !te.historyChecked);
  });
}

export async function backfill(history: HistorySource, metrics: Pick<ControllerMetrics, 'observeFetch'>, limits: EvidenceLimits, round: Round, targets: readonly Target[]): Promise<void> {
  const { evidence: ev, spec, nowMs, log } = round;
  const todo = unchecked(ev, targets);
  if (todo.length === 0) return;
  const ns = round.audit.metadata.namespace!;
  const stepMs = Math.max(1000, Math.round(spec.intervalMs / 1000) * 1000);
  const range = alignedRange(nowMs, spec.windowMs, stepMs);
  const pods = [...new Set(todo.map((t) => t.pod.metadata.name))].sort();
  const t0 = performance.now();
  const read = await fetchBatchHistory(history.client, { batch: { namespaces: [ns], pods }, range, selector: history.selector, maxBuckets: limits.maxBuckets });
  metrics.observeFetch('prometheus', read.kind === 'data', (performance.now() - t0) / 1000);
  if (read.kind !== 'data') {
    ev.backfillNotBeforeMs = nowMs + Math.max(RETRY_AFTER_MS, spec.intervalMs);
    log.warn({ err: read.reason, containers: todo.length }, 'Backfill from Prometheus failed');
    return;
  }
  const found = new Map(read.value.containers.map((h) => [`${h.key.pod}/${h.key.container}`, h]));
  let loaded = 0;
  let samples = 0;
  let spanSeconds = 0;
  for (const t of todo) {
    const te = ev.target(t.pod.metadata.name, t.container, limits.maxBuckets);
    te.historyChecked = true;
    te.node = t.pod.spec?.nodeName;
    te.podUid = t.pod.metadata.uid;
    const h = found.get(te.key);
    if (!h || h.samples.length === 0) continue;
    for (const s of h.samples) if (te.addSample(s)) samples++;
    loaded++;
    spanSeconds = Math.max(spanSeconds, (h.samples.at(-1)!.timestampMs - h.samples[0]!.timestampMs) / 1000);
  }
  if (read.value.failed.length) log.warn({ failed: read.value.failed }, 'Backfill read some metrics only');
  if (loaded === 0) return;
  ev.dirty = true;
  log.info({ containers: loaded, samples, from: history.client.url }, 'Backfilled evidence from Prometheus');
  round.events.push({ type: 'Normal', reason: EventReason.Backfilled, message: `Loaded ${samples} samples over ${formatDuration(spanSeconds)} of history from Prometheus for ${loaded} container${loaded === 1 ? '' : 's'}.` });
}
