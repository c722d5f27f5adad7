// The memory history of a batch of containers from Prometheus: the queries of
// src/sources/promql.ts through the client, each result laid on the grid as it arrives (so a
// response is freed before the next is parsed), then one downsampled sample series per container
// (src/sources/prometheus-history.ts). Used by `memaudit scan` and the controller's backfill.
//
// Without container_memory_usage_bytes there is no sample: a failed usage query fails the batch
// (retry, with the reason). Any other failed query leaves its field out and is named, so each
// container's report says what it lacks; the server's warnings (a partial answer) are kept too.
import { HistoryAssembler, type ContainerHistory } from '../sources/prometheus-history.ts';
import { batchQueries, HISTORY_METRICS, type Batch, type HistoryMetric, type HistoryRange, type LabelMatcher } from '../sources/promql.ts';
import type { PrometheusClient } from './prometheus.ts';
import { data, retry, type Read } from './reader.ts';

export interface BatchHistory {
  containers: ContainerHistory[];
  /** Queries that failed, by metric: their fields are missing from every container of the batch. */
  failed: { metric: string; reason: string }[];
  /** What the server warned of (partial data). */
  warnings: string[];
  /** Metrics with no series at all in the batch (an exporter not installed, a label dropped). */
  absent: string[];
}

export interface HistoryRequest {
  batch: Pick<Batch, 'namespaces' | 'pods'>;
  range: HistoryRange;
  selector?: readonly LabelMatcher[];
  /** Buckets of each container's downsampled series (two samples each, at most). */
  maxBuckets?: number;
  metrics?: readonly HistoryMetric[];
}

export async function fetchBatchHistory(client: PrometheusClient, req: HistoryRequest): Promise<Read<BatchHistory>> {
  const assembler = new HistoryAssembler(req.range, req.maxBuckets !== undefined ? { maxBuckets: req.maxBuckets } : {});
  const metrics = req.metrics ?? HISTORY_METRICS;
  const queries = batchQueries(req.batch, req.range, req.selector ?? [], metrics);
  const failed = new Map<string, string>();
  const warnings = new Set<string>();
  await Promise.all(
    queries.map(async (q) => {
      const read = await client.queryRange(q.expr, q.range.startMs, q.range.endMs, q.range.stepMs);
      if (read.kind !== 'data') {
        if (!failed.has(q.metric.metric)) failed.set(q.metric.metric, read.reason);
        return;
      }
      for (const w of read.value.warnings) warnings.add(w);
      if (!failed.has(q.metric.metric)) assembler.add(q.metric, read.value.series);
    }),
  );
  // A metric that failed in one time chunk is left out entirely: half a series misleads.
  for (const m of metrics) if (failed.has(m.metric)) assembler.forget(m.field);
  const usage = metrics[0]!.metric;
  if (failed.has(usage)) return retry(failed.get(usage)!);
  const containers = assembler.containers();
  const absent = metrics.filter((m) => !assembler.seen.has(m.field) && !failed.has(m.metric)).map((m) => m.metric);
  return data({ containers, failed: [...failed].map(([metric, reason]) => ({ metric, reason })), warnings: [...warnings], absent });
}
