import { audit } from '../analysis/audit.ts';
import type { AuditOptions } from '../analysis/audit.ts';
import { UsageError } from '../errors.ts';
import { runLocal } from '../local/run-local.ts';
import type { LocalRunResult } from '../local/run-local.ts';
import { formatBytes, formatDuration } from '../model/units.ts';
import { LineRecorder } from '../sampling/record.ts';
import { defineCommand } from './command.ts';
import { LiveSession } from './live-session.ts';
import { dockerSizeOption } from './options.ts';
import { writeResults } from './output.ts';
import { SAMPLING_HELP, SAMPLING_OPTIONS, SAMPLING_VALUES, samplingSettings } from './sampling-options.ts';

const HELP = [
  'Usage: memaudit run [options] -- CMD [ARGS...]',
  '',
  "Starts CMD in a new memory cgroup (a child of memaudit's own), samples it for --duration or until",
  'it exits, shows a live view and prints a verdict: Stable, Plateau, CacheGrowth, Leak or InsufficientData.',
  'The cgroup is removed afterwards, also on Ctrl-C. Without a usable cgroup, falls back to per-process data.',
  'CMD output goes to stderr; stdout carries only the report. CMD starts at -- or at the first argument',
  "that is not one of memaudit's options.",
  '',
  'Options:',
  '  --limit SIZE       run CMD under a memory limit, read as Docker reads sizes (64m, 512m = 512M = 512Mi, 1g):',
  '                     shows the kernel reclaiming cache at the limit',
  ...SAMPLING_HELP,
  '',
  'Examples:',
  '  memaudit run --duration 60s -- node examples/file-writer.js',
  '  memaudit run --duration 90s --limit 64m -- node examples/file-writer.js',
  '  memaudit run --pprof http://127.0.0.1:6060 --fail-on Leak -o json -- ./my-service -pprof 127.0.0.1:6060',
].join('\n');

export const runCommand = defineCommand({
  help: HELP,
  options: { ...SAMPLING_OPTIONS, limit: { type: 'string' } },
  operands: 'command',
  optionValues: SAMPLING_VALUES,
  async run({ values, positionals, color }, io) {
    if (positionals.length === 0) throw new UsageError('no command given: memaudit run [options] -- CMD ARGS');
    const command = positionals;
    const settings = samplingSettings(values, color);
    const limitBytes = dockerSizeOption('limit', values.limit) ?? null;
    const auditOptions: AuditOptions = {
      ...(limitBytes !== null ? { limitBytes } : {}),
      ...(settings.pprofUrl ? { isGo: true } : {}),
      recommend: { headroomPercent: settings.headroomPercent },
    };
    const session = new LiveSession(io, settings, auditOptions);
    const record = settings.recordFile ? await LineRecorder.open(settings.recordFile) : null;
    const title = command.join(' ');
    let source = '';
    let result: LocalRunResult;
    try {
      result = await runLocal({
        command,
        durationMs: settings.durationMs,
        intervalMs: settings.intervalMs,
        limitBytes,
        pprofUrl: settings.pprofUrl,
        record,
        notice: (line) => session.notice(line),
        output: (text) => session.output(text),
        onStart: (info) => {
          source = info.source;
        },
        onSample: (sample, all) => session.onSample(title, source, sample, all),
      });
    } finally {
      await record?.close();
    }

    session.close(runContext(result, limitBytes));
    const reported = {
      result: audit(result.samples, result.profiles, auditOptions),
      target: { kind: 'process', name: title } as const,
      extra: {
        run: {
          command,
          pid: result.pid,
          mode: result.mode,
          cgroup: result.cgroupDir,
          cgroupRemoved: result.cgroupDir !== null,
          limitBytes,
          stopReason: result.stopReason,
          exitCode: result.exit?.code ?? null,
          exitSignal: result.exit?.signal ?? null,
          oomKills: result.oomKills,
          ...(record ? { record: record.file } : {}),
        },
      },
    };
    return writeResults(io, [reported], { format: settings.output, failOn: settings.failOn, interrupted: result.stopReason === 'interrupted' });
  },
});

/** One line each about how the run went, for stderr above the report. */
function runContext(r: LocalRunResult, limitBytes: number | null): string[] {
  const lines: string[] = [];
  const n = r.samples.length;
  const spanSeconds = n > 1 ? (r.samples[n - 1]!.timestampMs - r.samples[0]!.timestampMs) / 1000 : 0;
  lines.push(`${n} samples over ${formatDuration(spanSeconds)} from ${r.source}${limitBytes !== null ? `, limit ${formatBytes(limitBytes)}` : ''}${r.cgroupDir ? '; cgroup removed' : ''}`);
  if (r.stopReason === 'exited' && r.exit) {
    const how = r.exit.signal ? `was killed by ${r.exit.signal}` : `exited with code ${r.exit.code}`;
    lines.push(`the command ${how} after ${formatDuration(spanSeconds)}: the verdict covers only that time`);
  }
  if (r.stopReason === 'interrupted') lines.push(`interrupted by ${r.interruptedBy}: the verdict covers what was collected until then`);
  if (r.stopReason === 'gone') lines.push('the command is gone: the verdict covers what was collected until then');
  if (r.oomKills) lines.push(`the kernel OOM-killed ${r.oomKills} process(es) in the cgroup: anonymous memory, shmem or kernel memory hit the limit`);
  if (r.mode === 'process') lines.push('per-process data only: page cache and tmpfs files that are not mapped are invisible here');
  return lines;
}
