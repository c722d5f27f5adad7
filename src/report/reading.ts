// What the text and HTML reports say about the numbers, in one place so both read the same: the
// title, the analysed run, the restarts, the time to limit and what each column of the growth
// table is.
import { counted } from '../analysis/explain.ts';
import type { TargetRef } from '../model/sample.ts';
import { formatDuration } from '../model/units.ts';
import type { AuditResult } from '../model/verdict.ts';
import { printable } from './escape.ts';

/** "container web-1", "file r.jsonl": what was audited, safe to print. */
export function targetTitle(target: TargetRef | undefined): string {
  return target ? `${target.kind} ${printable(target.name)}` : 'target';
}

export function verdictText(result: AuditResult): string {
  return result.leakSource ? `${result.verdict} (${result.leakSource})` : result.verdict;
}

/** "2026-11-27 22:19:20 UTC" */
export function utcTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The run the trends come from, when it is not the whole window; seconds from the window start. */
export function analysedRun(result: AuditResult): { fromSeconds: number; toSeconds: number; samples: number } | null {
  const a = result.window.analysed;
  if (!a || (a.startMs === result.window.startMs && a.endMs === result.window.endMs)) return null;
  return { fromSeconds: (a.startMs - result.window.startMs) / 1000, toSeconds: (a.endMs - result.window.startMs) / 1000, samples: a.samples };
}

/** "2 restarts at 86s and 3m (OOM kills at the limit)"; null without restarts. */
export function restartsText(result: AuditResult): string | null {
  const restarts = result.restarts ?? [];
  if (restarts.length === 0) return null;
  const at = restarts.map((r) => formatDuration((r.atMs - result.window.startMs) / 1000));
  const times = at.length <= 2 ? at.join(' and ') : `${at.slice(0, -1).join(', ')} and ${at[at.length - 1]}`;
  const oom = restarts.filter((r) => r.cause === 'atLimit').length;
  const cause =
    oom === restarts.length ? (oom === 1 ? 'an OOM kill at the limit' : 'OOM kills at the limit') : oom === 0 ? 'a new container or process' : `${oom} of them OOM kills at the limit`;
  return `${counted(restarts.length, 'restart')} at ${times} (${cause})`;
}

/**
 * The time to limit as one value and what it rests on, the same words in every report and
 * consistent with the warning: "about 3m" / "reached in this window" / "none on this trend".
 */
export function timeToLimit(result: AuditResult): { value: string; detail: string } | null {
  if (result.verdict === 'InsufficientData') return null;
  const ttl = result.timeToLimitSeconds;
  if (ttl === 0) {
    const oom = (result.restarts ?? []).filter((r) => r.cause === 'atLimit').length;
    return { value: 'reached in this window', detail: oom > 0 ? `${counted(oom, 'OOM kill')} at the limit` : 'memory that cannot be reclaimed is at the limit' };
  }
  if (ttl !== null) return { value: `about ${formatDuration(ttl)}`, detail: 'at the current rate of growth, then an OOM kill' };
  if (result.verdict === 'Leak') {
    return result.limitBytes === null
      ? { value: 'no limit set', detail: 'it grows until the node runs short of memory' }
      : { value: 'unknown', detail: 'no steady growth toward the limit to project' };
  }
  const why: Record<Exclude<AuditResult['verdict'], 'Leak' | 'InsufficientData'>, string> = {
    CacheGrowth: 'the kernel reclaims page cache at the limit instead of killing',
    Plateau: 'the growth has stopped',
    Stable: 'nothing grows',
  };
  return { value: 'none on this trend', detail: why[result.verdict] };
}

/** The growth table's columns, named for what they are. */
export function growthColumns(result: AuditResult): { span: string; trend: string } {
  const run = analysedRun(result);
  return run
    ? { span: `the analysed run, ${formatDuration(run.fromSeconds)} to ${formatDuration(run.toSeconds)} of the window`, trend: 'trend over the run' }
    : { span: 'the window', trend: 'trend over the window' };
}

/** What the growth table's columns are, said under it. */
export function growthNote(span: 'window' | 'run'): string {
  return (
    `first, last: the ${span}'s first and last sample; first -> last: the change between them; trend: the robust slope ` +
    '(Theil-Sen on the lower envelope, which GC saw and cache reclaim do not move); R²: how well that line fits.'
  );
}
