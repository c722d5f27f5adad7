// Options `memaudit run`, `watch` and `docker` share: how long and how often to sample, the Go
// runtime's pprof URL, the output and the `--fail-on` gate.
import { isInputError, UsageError } from '../errors.ts';
import { VERDICTS, type Verdict } from '../model/verdict.ts';
import { heapUrlFromBase } from '../sampling/pprof.ts';
import { durationOption, OUTPUT_FORMATS, outputOption, percentOption, verdictListOption } from './options.ts';
import type { OutputFormat } from './options.ts';

/** As node:util parseArgs declares them. */
export const SAMPLING_OPTIONS = {
  duration: { type: 'string', default: '2m' },
  interval: { type: 'string', default: '1s' },
  pprof: { type: 'string' },
  'fail-on': { type: 'string' },
  output: { type: 'string', short: 'o', default: 'text' },
  record: { type: 'string' },
  headroom: { type: 'string', default: '20' },
  quiet: { type: 'boolean', short: 'q', default: false },
} as const;

/** For shell completion. */
export const SAMPLING_VALUES = { 'fail-on': { commaList: VERDICTS }, output: OUTPUT_FORMATS, record: 'file' } as const;

export const SAMPLING_HELP = [
  '  --duration D       how long to sample (30s, 5m, 1h); default 2m',
  '  --interval D       time between samples; default 1s',
  '  --pprof URL        Go target: its net/http/pprof base URL (http://127.0.0.1:6060) for heap profiles and runtime.MemStats',
  '  --fail-on LIST     exit 1 when the verdict is one of LIST (comma-separated, any case: Leak,CacheGrowth,...)',
  '  -o, --output F     text (default), json or yaml',
  '  --record FILE      write every cgroup snapshot as JSON lines (replay with: memaudit analyze --cgroup FILE)',
  '  --headroom PCT     headroom above the observed peak in the recommended limit; default 20',
  '  -q, --quiet        no live view, only the final report',
];

export interface SamplingSettings {
  durationMs: number;
  intervalMs: number;
  pprofUrl: string | null;
  failOn: Verdict[];
  output: OutputFormat;
  recordFile: string | null;
  headroomPercent: number;
  quiet: boolean;
  /** Colours in the live view (no --no-color); NO_COLOR and a non-terminal are checked where it is drawn. */
  color: boolean;
}

export function samplingSettings(values: {
  duration: string;
  interval: string;
  pprof?: string | undefined;
  'fail-on'?: string | undefined;
  output: string;
  record?: string | undefined;
  headroom: string;
  quiet: boolean;
}, color: boolean): SamplingSettings {
  const durationMs = Math.round(durationOption('duration', values.duration)! * 1000);
  const intervalMs = Math.round(durationOption('interval', values.interval)! * 1000);
  if (durationMs <= 0) throw new UsageError('--duration must be more than 0');
  if (intervalMs < 100) throw new UsageError('--interval must be at least 100ms');
  if (intervalMs > durationMs) throw new UsageError(`--interval (${values.interval}) is longer than --duration (${values.duration})`);
  if (values.pprof !== undefined) {
    // A bad URL is a usage error before anything starts.
    try {
      heapUrlFromBase(values.pprof);
    } catch (e) {
      if (!isInputError(e)) throw e;
      throw new UsageError(`--pprof: ${e.reason}, got ${JSON.stringify(values.pprof)}`, { cause: e });
    }
  }
  return {
    durationMs,
    intervalMs,
    pprofUrl: values.pprof ?? null,
    failOn: verdictListOption('fail-on', values['fail-on']),
    output: outputOption(values.output),
    recordFile: values.record ?? null,
    headroomPercent: percentOption('headroom', values.headroom)!,
    quiet: values.quiet,
    color,
  };
}
