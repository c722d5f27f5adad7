import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { SAMPLING_HELP, SAMPLING_OPTIONS, samplingSettings } from '../local/cli-options.ts';
import { SnapshotRecorder } from '../local/recorder.ts';
import { PER_PROCESS_LIMITS } from '../local/run-local.ts';
import { Session } from '../local/session.ts';
import { formatDuration } from '../model/units.ts';
import { resolveWatchTarget, watchLocal } from '../local/watch.ts';
import type { WatchResult } from '../local/watch.ts';
import { heapUrlFromBase } from '../sources/pprof-http.ts';
import type { Command, CommandIo } from './command.ts';
import { ExitCode } from './exit-codes.ts';

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

export const watchCommand: Command = {
  name: 'watch',
  summary: 'audit a running process or cgroup, read-only',
  async run(argv: string[], io: CommandIo): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...SAMPLING_OPTIONS, pid: { type: 'string' }, cgroup: { type: 'string' }, 'per-process': { type: 'boolean', default: false } },
        allowPositionals: false,
        strict: true,
      });
    } catch (e) {
      throw new UsageError(`watch: ${e instanceof Error ? e.message : String(e)}`);
    }
    const { values } = parsed;
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return ExitCode.Ok;
    }
    if ((values.pid === undefined) === (values.cgroup === undefined)) throw new UsageError('watch: give exactly one of --pid PID or --cgroup PATH');
    if (values.pid !== undefined && !/^\d+$/.test(values.pid)) throw new UsageError(`watch: --pid expects a process id, got ${JSON.stringify(values.pid)}`);
    if (values['per-process'] && values.pid === undefined) throw new UsageError('watch: --per-process goes with --pid');
    const settings = samplingSettings(values);
    if (settings.pprofUrl) heapUrlFromBase(settings.pprofUrl);

    const target = await resolveWatchTarget({
      ...(values.pid !== undefined ? { pid: Number(values.pid) } : {}),
      ...(values.cgroup !== undefined ? { cgroup: values.cgroup } : {}),
      perProcess: values['per-process'],
    });
    const session = new Session(io, settings, {
      ...(settings.pprofUrl ? { isGo: true } : {}),
      recommend: { headroomPercent: settings.headroomPercent },
    });
    for (const n of target.notes) session.notice(`memaudit: ${n}`);
    if (target.mode === 'process') session.notice(`memaudit: ${PER_PROCESS_LIMITS}`);
    if (target.mode === 'process' && settings.recordFile) session.notice('memaudit: --record writes cgroup snapshots; per-process data is not recorded');
    const record = settings.recordFile && target.mode === 'cgroup' ? await SnapshotRecorder.open(settings.recordFile) : null;
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
    return session.finish({
      samples: result.samples,
      profiles: result.profiles,
      target: target.target,
      context,
      extra: { watch: { mode: target.mode, source: target.reader.description, stopReason: result.stopReason, ...(record ? { record: record.file } : {}) } },
      interrupted: result.stopReason === 'interrupted',
    });
  },
};
