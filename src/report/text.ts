import { counted } from '../analysis/explain.ts';
import type { TargetRef } from '../model/sample.ts';
import { formatBytes, formatDuration, formatRate } from '../model/units.ts';
import type { AuditResult } from '../model/verdict.ts';
import { COMPONENT_LABEL, COMPONENT_ORDER } from './labels.ts';
import { printable } from './escape.ts';
import { analysedRun, growthColumns, growthNote, restartsText, targetTitle, timeToLimit, utcTime, verdictText } from './reading.ts';

/**
 * The terminal report: verdict first, then why, then what to set. Names that come from the input
 * (the target, functions of a profile, cgroup ids in the evidence) are shown with their control
 * characters escaped (escape.ts).
 */
export function renderText(result: AuditResult, target?: TargetRef): string {
  const out: string[] = [];
  out.push(`memaudit: ${targetTitle(target)}: ${verdictText(result)}`);
  out.push('');
  out.push(wrap(printable(result.explanation), 100));
  out.push('');
  const w = result.window;
  const gaps = w.gaps?.length ?? 0;
  out.push(
    `window: ${formatDuration(w.durationSeconds)}${w.samples > 0 ? ` from ${utcTime(w.startMs)}` : ''}, ${counted(w.samples, 'sample')}${gaps > 0 ? `, ${counted(gaps, 'gap')} in sampling` : ''}; limit: ${result.limitBytes !== null ? formatBytes(result.limitBytes) : 'none'}`,
  );
  const run = analysedRun(result);
  const restarts = restartsText(result);
  if (run) out.push(`analysed: the run from ${formatDuration(run.fromSeconds)} to ${formatDuration(run.toSeconds)} (${counted(run.samples, 'sample')})${restarts ? `; ${restarts}` : ''}`);
  else if (restarts) out.push(`restarts: ${restarts}`);
  if (result.reclaimableShare !== null) out.push(`reclaimable page cache: ${Math.round(result.reclaimableShare * 100)} % of usage at the ${run ? "run's " : ''}last sample`);
  const ttl = timeToLimit(result);
  if (ttl) out.push(`time to limit: ${ttl.value} (${ttl.detail})`);

  const rows = COMPONENT_ORDER.filter((c) => result.growth[c]);
  if (rows.length) {
    const cols = growthColumns(result);
    out.push('');
    out.push(`growth per component over ${cols.span}:`);
    out.push(`  ${'component'.padEnd(26)} ${'first'.padStart(11)} ${'last'.padStart(11)} ${'first -> last'.padStart(14)} ${cols.trend.padStart(22)}    R²`);
    for (const c of rows) {
      const t = result.growth[c]!;
      const change = t.lastBytes - t.firstBytes;
      out.push(
        `  ${COMPONENT_LABEL[c].padEnd(26)} ${formatBytes(t.firstBytes).padStart(11)} ${formatBytes(t.lastBytes).padStart(11)} ${`${change > 0 ? '+' : ''}${formatBytes(change)}`.padStart(14)} ${formatRate(t.slopeBytesPerHour).padStart(22)} ${t.r2.toFixed(2).padStart(5)}`,
      );
    }
    out.push(wrap(growthNote(run ? 'run' : 'window'), 98).replace(/^/gm, '  '));
  }
  if (result.topGrowingFunctions.length) {
    out.push('');
    out.push('growing in the Go heap (in-use bytes, first -> last profile):');
    for (const f of result.topGrowingFunctions) out.push(`  +${formatBytes(f.growthBytes).padEnd(10)} ${printable(f.function)}`);
  }
  if (result.evidence.length) {
    out.push('');
    out.push('evidence:');
    for (const e of result.evidence) out.push(`  - ${printable(e)}`);
  }
  const r = result.recommendation;
  out.push('');
  if (r.warning) out.push(`WARNING: ${r.warning}`);
  if (r.memoryLimitBytes !== null) {
    out.push(`recommended limit: ${formatBytes(r.memoryLimitBytes)} (${r.rationale.join(', ')})`);
    if (r.kubernetes) out.push(`  kubernetes: resources.limits.memory: ${r.kubernetes.limits?.memory}, resources.requests.memory: ${r.kubernetes.requests?.memory}`);
    if (r.compose) out.push(`  compose:    mem_limit: ${r.compose.mem_limit}, mem_reservation: ${r.compose.mem_reservation}`);
    if (r.dockerUpdate) out.push(`  docker:     ${printable(r.dockerUpdate)}`);
    if (r.goMemLimit) out.push(`  go:         GOMEMLIMIT=${r.goMemLimit}`);
  } else {
    out.push(`recommended limit: none (${r.rationale.join(', ') || 'no data'})`);
  }
  return out.join('\n') + '\n';
}

function wrap(text: string, width: number): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line.length + w.length + 1 > width && line) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
