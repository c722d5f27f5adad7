// The text parser parseCadvisorMetrics was before the byte scanner (src/sources/cadvisor.ts),
// kept as the reference the scanner must agree with: every line through parsePrometheusText, a
// record per metric; the choice of cgroup per container is the scanner's own (bestSamples).
import type { MemorySample } from '../../src/model/sample.ts';
import { bestSamples, cadvisorField, containerKeyFromLabels, containerKeyString, limitBytesFromSpec, parsePrometheusText, type CadvisorScrape, type ContainerKey } from '../../src/sources/cadvisor.ts';

const WANTED = new Set(['container_memory_usage_bytes', 'container_memory_working_set_bytes', 'container_memory_cache', 'container_memory_rss', 'container_memory_mapped_file', 'container_memory_total_active_file_bytes', 'container_memory_total_inactive_file_bytes', 'container_memory_kernel_usage', 'container_spec_memory_limit_bytes', 'container_memory_failcnt', 'container_pressure_memory_waiting_seconds_total', 'container_pressure_memory_stalled_seconds_total', 'container_memory_failures_total', 'container_memory_swap']);

export function referenceParseCadvisor(text: string, scrapeTimeMs: number): CadvisorScrape {
  const perCgroup = new Map<string, { key: ContainerKey; cgroupId: string | undefined; fields: Partial<Record<keyof MemorySample, number>>; usageTs?: number; maxTs?: number }>();
  for (const s of parsePrometheusText(text, 'reference', WANTED)) {
    const key = containerKeyFromLabels(s.labels);
    if (!key) continue;
    // A failure count other than major faults says nothing memaudit reads: the scanner leaves it at its failure_type.
    if (s.name === 'container_memory_failures_total' && s.labels.failure_type !== 'pgmajfault') continue;
    const id = `${containerKeyString(key)}\u0000${s.labels.id ?? ''}`;
    let entry = perCgroup.get(id);
    if (!entry) perCgroup.set(id, (entry = { key, cgroupId: s.labels.id || undefined, fields: {} }));
    if (s.timestampMs !== undefined) entry.maxTs = Math.max(entry.maxTs ?? -Infinity, s.timestampMs);
    const f = cadvisorField(s.name, s.labels);
    if (!f) continue;
    const field = f.field;
    if (f.kind === 'seconds') {
      if (Number.isFinite(s.value) && s.value >= 0) entry.fields[field] = Math.round(s.value * 1e6);
      continue;
    }
    if (field === 'limitBytes') {
      const limit = limitBytesFromSpec(s.value);
      if (limit !== undefined) entry.fields.limitBytes = limit;
      continue;
    }
    if (!Number.isFinite(s.value)) continue;
    entry.fields[field] = s.value;
    if (field === 'usageBytes' && s.timestampMs !== undefined) entry.usageTs = s.timestampMs;
  }
  return bestSamples([...perCgroup.values()], scrapeTimeMs);
}
