// Where every command ends: the results written in the chosen format, then the `--fail-on` gate.
// One target (`analyze`, `run`, `watch`, `docker CONTAINER`) or several (the replicas of a
// Compose service) go through the same function, so the gate and its message are the same.
import { stringify as yamlStringify } from 'yaml';
import type { MemorySample, TargetRef } from '../model/sample.ts';
import type { AuditResult, Verdict } from '../model/verdict.ts';
import { renderHtml } from '../report/html.ts';
import { toJsonObject } from '../report/json.ts';
import { printable } from '../report/escape.ts';
import { renderText } from '../report/text.ts';
import type { CommandIo } from './command.ts';
import { ExitCode } from './exit-codes.ts';
import type { AnalyzeOutputFormat } from './options.ts';
import { memauditVersion } from './version.ts';

export interface Reported {
  result: AuditResult;
  target: TargetRef;
  /** Fields added next to the result in JSON/YAML (how the run went, the Docker container). */
  extra?: Record<string, unknown>;
}

export interface ReportOptions {
  format: AnalyzeOutputFormat;
  failOn: readonly Verdict[];
  /** Sampling was cut short by Ctrl-C: exit 130 whatever the verdict. */
  interrupted?: boolean;
  /** JSON/YAML of several results: the document that holds them (Compose: compose, replicas, writeLimit). */
  document?: (results: Record<string, unknown>[]) => Record<string, unknown>;
  /** Text printed after the reports (the Compose file's diff). */
  textAfter?: string;
  /** HTML: the samples behind the one result, for the chart. */
  samples?: readonly MemorySample[];
  /** HTML: the command line as given (without the program name), for the footer. */
  argv?: readonly string[];
}

/** Writes the report(s) to stdout and returns the exit code. */
export function writeResults(io: CommandIo, reported: readonly Reported[], options: ReportOptions): number {
  const objects = () => reported.map((r) => ({ ...toJsonObject(r.result, r.target), ...r.extra }));
  switch (options.format) {
    case 'text':
      io.stdout.write(reported.map((r) => renderText(r.result, r.target)).join('\n') + (options.textAfter ? '\n' + options.textAfter : ''));
      break;
    case 'html':
      io.stdout.write(renderHtml(reported[0]!.result, options.samples ?? [], reported[0]!.target, { version: memauditVersion(), argv: options.argv ?? [], generatedAtMs: Date.now() }));
      break;
    default: {
      const doc = options.document ? options.document(objects()) : objects()[0]!;
      io.stdout.write(options.format === 'json' ? JSON.stringify(doc, null, 2) + '\n' : yamlStringify(doc));
    }
  }
  if (options.interrupted) return ExitCode.Interrupted;
  const gated = reported.filter((r) => options.failOn.includes(r.result.verdict));
  if (gated.length === 0) return ExitCode.Ok;
  const named = (r: Reported) => `${r.result.verdict}${r.result.leakSource ? `/${r.result.leakSource}` : ''}`;
  const which = reported.length === 1 && !options.document ? named(gated[0]!) : gated.map((r) => `${r.target.name}: ${named(r)}`).join(', ');
  io.stderr.write(`memaudit: verdict ${printable(which)} is in --fail-on (${options.failOn.join(',')}): exit code ${ExitCode.VerdictGate}\n`);
  return ExitCode.VerdictGate;
}
