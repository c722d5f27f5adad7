import type { TargetRef } from '../model/sample.ts';
import { formatBytes, formatDuration, formatRate } from '../model/units.ts';
import type { AuditResult } from '../model/verdict.ts';
import { COMPONENT_LABEL, COMPONENT_ORDER } from './labels.ts';
import { printable } from './terminal.ts';

/**
 * The terminal report: verdict first, then why, then what to set. Names that come from the input
 * (the target, functions of a profile, cgroup ids in the evidence) are shown with their control
 * characters escaped (terminal.ts).
 */
export function renderText(result: AuditResult, target?: TargetRef): string {
  const out: string[] = [];
  const what = target ? `${target.kind} ${printable(target.name)}` : 'target';
  const verdict = result.leakSource ? `${result.verdict} (${result.leakSource})` : result.verdict;
  out.push(`memaudit: ${what}: ${verdict}`);
  out.push('');
  out.push(wrap(printable(result.explanation), 100));
  out.push('');
  out.push(`window: ${formatDuration(result.window.durationSeconds)}, ${result.window.samples} samples; limit: ${result.limitBytes !== null ? formatBytes(result.limitBytes) : 'none'}`);
  if (result.reclaimableShare !== null) out.push(`reclaimable page cache: ${Math.round(result.reclaimableShare * 100)} % of usage`);
  if (result.timeToLimitSeconds !== null) out.push(`time to limit: ${formatDuration(result.timeToLimitSeconds)}`);

  const rows = COMPONENT_ORDER.filter((c) => result.growth[c]);
  if (rows.length) {
    out.push('');
    out.push(`  ${'component'.padEnd(26)} ${'first'.padStart(11)} ${'last'.padStart(11)} ${'growth'.padStart(16)}   R²`);
    for (const c of rows) {
      const t = result.growth[c]!;
      out.push(`  ${COMPONENT_LABEL[c].padEnd(26)} ${formatBytes(t.firstBytes).padStart(11)} ${formatBytes(t.lastBytes).padStart(11)} ${formatRate(t.slopeBytesPerHour).padStart(16)} ${t.r2.toFixed(2).padStart(5)}`);
    }
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
    if (r.dockerUpdate) out.push(`  docker:     ${r.dockerUpdate}`);
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
