import { audit } from '../analysis/audit.ts';
import type { AuditOptions } from '../analysis/audit.ts';
import { UsageError } from '../errors.ts';
import { PER_PROCESS_LIMITS } from '../local/run-local.ts';
import { resolveWatchTarget, watchLocal } from '../local/watch-target.ts';
import type { WatchResult } from '../local/watch-target.ts';
import { formatDuration } from '../model/units.ts';
import { LineRecorder } from '../sampling/record.ts';
import { defineCommand } from './command.ts';
import { LiveSession } from './live-session.ts';
import { writeResults } from './output.ts';
import { SAMPLING_HELP, SAMPLING_OPTIONS, SAMPLING_VALUES, samplingSettings } from './sampling-options.ts';

const HELP = [
  'Usage: memaudit watch (--pid PID | --cgroup PATH) [options]',
  '',
  'Audits a process or cgroup that is already running, read-only, for --duration or until it is gone',
  '(Ctrl-C: analyse what was collected so far). --pid samples the memory cgroup of the process when it',
  'is alone there (with its children), else per-process data from /proc.',
  '',
  'Options:',
  '  --pid PID          the process to audit (with its children)',
  '  --cgroup PATH      a memory cgroup directory (/sys/fs/cgroup/...), or its path as /proc/PID/cgroup prints it',
  '  --per-process      with --pid: per-process data even when the process has a cgroup of its own',
  ...SAMPLING_HELP,
  '',
  'Examples:',
  '  memaudit watch --pid 4242 --duration 5m',
  '  memaudit watch --cgroup /sys/fs/cgroup/system.slice/my.service --pprof http://127.0.0.1:6060 -o json',
].join('\n');

export const watchCommand = defineCommand({
  help: HELP,
  options: { ...SAMPLING_OPTIONS, pid: { type: 'string' }, cgroup: { type: 'string' }, 'per-process': { type: 'boolean', default: false } },
  operands: 'none',
  optionValues: { ...SAMPLING_VALUES, cgroup: 'dir' },
  async run({ values, color }, io) {
    if ((values.pid === undefined) === (values.cgroup === undefined)) throw new UsageError('give exactly one of --pid PID or --cgroup PATH');
    if (values.pid !== undefined && !/^\d+$/.test(values.pid)) throw new UsageError(`--pid expects a process id, got ${JSON.stringify(values.pid)}`);
    if (values['per-process'] && values.pid === undefined) throw new UsageError('--per-process goes with --pid');
    const settings = samplingSettings(values, color);

    const target = await resolveWatchTarget({
      ...(values.pid !== undefined ? { pid: Number(values.pid) } : {}),
      ...(values.cgroup !== undefined ? { cgroup: values.cgroup } : {}),
      perProcess: values['per-process'],
    });
    const auditOptions: AuditOptions = { ...(settings.pprofUrl ? { isGo: true } : {}), recommend: { headroomPercent: settings.headroomPercent } };
    const session = new LiveSession(io, settings, auditOptions);
    for (const n of target.notes) session.notice(`memaudit: ${n}`);
    if (target.mode === 'process') session.notice(`memaudit: ${PER_PROCESS_LIMITS}`);
    if (target.mode === 'process' && settings.recordFile) session.notice('memaudit: --record writes cgroup snapshots; per-process data is not recorded');
    const record = settings.recordFile && target.mode === 'cgroup' ? await LineRecorder.open(settings.recordFile) : null;
    let result: WatchResult;
    try {
      result = await watchLocal({
        target,
        durationMs: settings.durationMs,
        intervalMs: settings.intervalMs,
        pprofUrl: settings.pprofUrl,
        record,
        notice: (line) => session.notice(line),
        onSample: (sample, all) => session.onSample(target.target.name, target.reader.description, sample, all),
      });
    } finally {
      await record?.close();
    }
    const n = result.samples.length;
    const span = n > 1 ? (result.samples[n - 1]!.timestampMs - result.samples[0]!.timestampMs) / 1000 : 0;
    const context = [`${n} samples over ${formatDuration(span)} from ${target.reader.description}`];
    if (result.stopReason === 'gone') context.push(`${result.goneReason ?? 'the target is gone'}: the verdict covers what was collected until then`);
    if (result.stopReason === 'interrupted') context.push(`interrupted by ${result.interruptedBy}: the verdict covers what was collected until then`);
    session.close(context);
    const reported = {
      result: audit(result.samples, result.profiles, auditOptions),
      target: target.target,
      extra: { watch: { mode: target.mode, source: target.reader.description, stopReason: result.stopReason, ...(record ? { record: record.file } : {}) } },
    };
    return writeResults(io, [reported], { format: settings.output, failOn: settings.failOn, interrupted: result.stopReason === 'interrupted' });
  },
});
